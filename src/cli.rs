//! Command-line definitions: every flag, and a clap value enum for every
//! flag that takes one of a fixed set of names (its variants' doc comments
//! are the help, and `conch list`). Each converts to the library type.

use checker::model::ModelKind;
use checker::read::{Format, Independent, NilRead};
use checker::{CheckName, Value};
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use runner::check::ShardMode;
use runner::plan::{parse_positive, parse_seconds};
use std::collections::BTreeMap;
use std::path::PathBuf;
use workloads::sim::{ClientRouting, FaultKind};
use workloads::workload::WorkloadKind;

#[derive(Parser, Debug)]
#[command(
    name = "conch",
    version,
    about = "Jepsen-style consistency checker with a deterministic, fault-injecting simulator",
    after_help = "Exit codes: 0 every check holds, 1 anomaly found, 2 bad input or usage, 3 undecided.\n\
                  Examples:\n  conch check history.jsonl\n  conch check --checks all --json h.edn\n  conch demo"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check history files for linearizability, session guarantees and convergence.
    #[command(after_help = "Examples:\n  conch check history.jsonl\n  conch check --model cas-register etcd.log\n  \
                  conch check --checks monotonic-reads,read-your-writes --json h.jsonl\n  \
                  cat h.jsonl | conch check -\n\
                  With several files: exit 1 if any is invalid, else 2 if any could not be read, else 3 if any is undecided.")]
    Check(CheckArgs),
    /// Run a bundled protocol in the simulator under faults; write and optionally check the history.
    #[command(
        after_help = "Examples:\n  conch run --protocol raft --workload kv --nemesis partition,crash --seed 7 --check\n  \
                  conch run --protocol quorum --param consistency=one --nemesis partition --seeds 0..200 --check --until-violation\n  \
                  conch run --protocol raft --param bug=stale-reads --seeds 0..50 --check"
    )]
    Run(RunArgs),
    /// Run several protocols under the same workload, faults and seeds, and tabulate them.
    #[command(
        after_help = "Example:\n  conch compare --protocols raft,abd,quorum --nemesis partition --seeds 0..10 --out conch-out/compare\n\
                      Exit 1 if any run violates a check, else 3 if any is undecided."
    )]
    Compare(CompareArgs),
    /// The main job: every bundled protocol under faults, checked, compared, reported; plus the example histories.
    Demo(DemoArgs),
    /// List models, checks, formats, protocols, workloads and nemeses.
    List,
    /// Write a random history that is linearizable by construction (for benchmarks and experiments).
    #[command(
        after_help = "Example:\n  conch gen --workload register --ops 1000000 --clients 32 --keys 100 > reg-1m.jsonl"
    )]
    Gen(GenArgs),
    /// Run your Maelstrom-protocol node binary under conch's network, faults and checkers
    #[command(disable_help_flag = true, after_help = "Its flags: conch maelstrom --help")]
    Maelstrom {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        words: Vec<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// History files (`-` for standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Sequential model for linearizability; inferred when unambiguous.
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Comma-separated checks. Default: linearizable (on txn histories: strict-serializable, as `all`).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub checks: Vec<Check>,
    /// Input format; detected when absent.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// How an ok read of nil is judged. Default per format.
    #[arg(long, value_enum)]
    pub nil_read: Option<NilReadArg>,
    /// Every key's state before the history, JSON or EDN (docs/history-format.md). Default: empty (nil, "", 0, []).
    #[arg(long, value_parser = checker::read::parse_value)]
    pub initial: Option<checker::Value>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML report here (one file; with several inputs, one per input next to it).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write JUnit XML here (each file and check a test case).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
    /// Wall-clock budget in seconds for the whole run; undecided keys are `unknown`.
    #[arg(long, value_parser = parse_seconds)]
    pub timeout: Option<f64>,
    /// Memory budget for the search, in MiB.
    #[arg(long, default_value_t = 4096)]
    pub memory_mb: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub threads: Option<u64>,
    /// Use only the general search (disable the polynomial-time unique-value paths).
    #[arg(long)]
    pub no_fast_paths: bool,
    /// Check in shards by key, spilling ops to disk, so that memory is bounded by the largest shard rather than
    /// the file: `auto` (files of 256 MiB or more), `off`, or a number (1-256). Not with --html (needs the history).
    #[arg(long, default_value = "auto")]
    pub shards: ShardMode,
    /// Directory for shard files (default: the system's temporary directory).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Jepsen EDN and log histories: whether to split `[k v]` values into key and value.
    #[arg(long, value_enum, default_value_t = IndependentArg::Auto)]
    pub independent: IndependentArg,
    /// Longest line accepted, in MiB (EDN: longest op, whatever its lines): bounds memory on a broken file.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_mb: u64,
    /// rw-register txn histories: assume each key is linearizable, so real time orders its versions (what a
    /// transaction left on a key precedes what every later-invoked one sees; Elle's :linearizable-keys?).
    #[arg(long)]
    pub linearizable_keys: bool,
    /// rw-register txn histories: assume each key is sequentially consistent, so each process's order orders its
    /// versions (Elle's :sequential-keys?). Anomalies resting on either assumption say so.
    #[arg(long)]
    pub sequential_keys: bool,
    /// Bank histories: balances may go negative (conch's own bank workload); Jepsen's bank forbids it.
    #[arg(long)]
    pub bank_negative_ok: bool,
    /// Bank histories: initial balances.
    #[arg(long, value_enum, default_value_t = BankInitial::FirstRead)]
    pub bank_initial: BankInitial,
    /// Print every key, not only the ones that are not valid.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Protocol (see `conch list`).
    #[arg(long, value_parser = protocols())]
    pub protocol: String,
    /// Workload (default: the protocol's own).
    #[arg(long, value_enum)]
    pub workload: Option<Workload>,
    /// Comma-separated faults.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "none")]
    pub nemesis: Vec<Nemesis>,
    /// How often faults come (1.0 = default rate).
    #[arg(long, default_value_t = 1.0, value_parser = parse_positive)]
    pub intensity: f64,
    /// Mean virtual seconds between faults of each kind (default: 4 faults of each kind spread over the run).
    #[arg(long, value_parser = parse_seconds)]
    pub nemesis_interval: Option<f64>,
    /// Shape of node-to-node delays, same floor (0.1 ms) and mean (0.5 ms) for each [default: exponential].
    #[arg(long, value_parser = PossibleValuesParser::new(workloads::sim::LatencyDist::NAMES))]
    pub latency_dist: Option<String>,
    /// The clients stop after this many virtual seconds (also before --ops, if given, are done).
    #[arg(long, value_parser = parse_seconds)]
    pub time_limit: Option<f64>,
    /// One seed.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// A range of seeds `A..B` (B exclusive), run in parallel.
    #[arg(long)]
    pub seeds: Option<String>,
    /// Protocol setting NAME=VALUE (repeatable), e.g. consistency=one, bug=stale-reads.
    #[arg(long)]
    pub param: Vec<String>,
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Client processes (default two per node, so that nodes coordinate concurrent requests).
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    /// Client operations per run (default 500; unbounded with --time-limit).
    #[arg(long)]
    pub ops: Option<usize>,
    /// Number of keys (default: the workload's own).
    #[arg(long)]
    pub keys: Option<usize>,
    /// How keys are chosen: uniform, zipfian, or hot (key 0 takes 90% of ops) [default: the workload's own].
    #[arg(long, value_parser = PossibleValuesParser::new(workloads::workload::KeyDist::NAMES))]
    pub key_dist: Option<String>,
    /// Client routing.
    #[arg(long, value_enum, default_value_t = Routing::Failover)]
    pub routing: Routing,
    /// Livelock bound: a run stops after processing this many events, and none of its checks is valid.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Op weights, e.g. read=0,update=1 (writes only; default: the workload's own).
    #[arg(long)]
    pub op_mix: Option<String>,
    /// Output directory (one sub-directory per seed when several).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Check each run (all checks that fit the workload unless --checks narrows them).
    #[arg(long)]
    pub check: bool,
    /// Comma-separated checks for --check.
    #[arg(long, value_enum, value_delimiter = ',', requires = "check")]
    pub checks: Vec<Check>,
    /// With --seeds and --check: stop at the first seed whose run violates a check.
    #[arg(long, requires = "check")]
    pub until_violation: bool,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Comma-separated protocols (default: all bundled ones but the baselines single and lagging).
    #[arg(long, value_delimiter = ',', value_parser = protocols())]
    pub protocols: Vec<String>,
    /// Workload for every protocol (default: each protocol's own).
    #[arg(long, value_enum)]
    pub workload: Option<Workload>,
    /// Comma-separated faults.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "partition,crash")]
    pub nemesis: Vec<Nemesis>,
    #[arg(long, default_value_t = 1.0, value_parser = parse_positive)]
    pub intensity: f64,
    #[arg(long, default_value = "0..5")]
    pub seeds: String,
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    #[arg(long, default_value_t = 10)]
    pub clients: usize,
    #[arg(long, default_value_t = 500)]
    pub ops: usize,
    /// Protocol settings PROTOCOL:NAME=VALUE (repeatable), e.g. quorum:consistency=one.
    #[arg(long)]
    pub param: Vec<String>,
    #[arg(long, default_value = "conch-out/compare")]
    pub out: PathBuf,
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct GenArgs {
    #[arg(long, value_enum, default_value_t = GenWorkload::Register)]
    pub workload: GenWorkload,
    #[arg(long, default_value_t = 10_000)]
    pub ops: usize,
    /// Concurrent clients. Default: 16 (txn workloads: 10).
    #[arg(long)]
    pub clients: Option<usize>,
    /// Keys (txn workloads: keys active at once, each retired after --max-writes-per-key). Default: 100 (txn: 10).
    #[arg(long)]
    pub keys: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Per-mille of ops that end `info`. Default: 5 (txn workloads: 50, Elle's 5%).
    #[arg(long)]
    pub info_permille: Option<u32>,
    /// Txn workloads: most micro-ops per transaction (Elle's max-txn-length).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub max_txn_length: u64,
    /// Txn workloads: writes to a key before it retires (Elle's max-writes-per-key).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_writes_per_key: u64,
    /// Txn workloads: anomalies to plant, comma-separated, each once on fresh keys, spread evenly.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub plant: Vec<PlantArg>,
    /// Write here instead of standard output (refuses to overwrite without --force).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Directory for the demo's reports (refused if it holds anything, unless --force).
    #[arg(long, default_value = "conch-out/demo")]
    pub out: PathBuf,
    /// Directory of example histories to check (default: the bundled ones).
    #[arg(long)]
    pub histories: Option<PathBuf>,
    /// Seeds per protocol.
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Client operations per run.
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
    /// Overwrite an earlier demo's reports in --out.
    #[arg(long)]
    pub force: bool,
}

/// Protocol names from the registry, with their descriptions.
fn protocols() -> PossibleValuesParser {
    PossibleValuesParser::new(
        workloads::registry::PROTOCOLS.iter().map(|p| PossibleValue::new(p.name).help(p.description)),
    )
}

/// `--checks`: `all` anywhere gives the empty list, every check that fits the history.
pub fn checks(list: &[Check]) -> Vec<CheckName> {
    list.iter().map(|&c| Option::<CheckName>::from(c)).collect::<Option<_>>().unwrap_or_default()
}

/// `--nemesis`: `all` is every kind, `none` nothing; each kind once, in the order given.
pub fn faults(list: &[Nemesis]) -> Vec<FaultKind> {
    let all = list.contains(&Nemesis::All).then_some(FaultKind::ALL).into_iter().flatten();
    let mut out: Vec<FaultKind> = Vec::new();
    for k in list.iter().filter_map(|&n| Option::<FaultKind>::from(n)).chain(all) {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// Declares a flag's value enum, its values' help (`VALUE => LIBRARY; "help"`)
/// and its conversion to the library's type: one line per value.
macro_rules! value_enum {
    ($name:ident => $lib:ty { $($v:ident => $to:expr; $doc:literal,)+ }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
        pub enum $name { $(#[doc = $doc] $v,)+ }
        impl From<$name> for $lib {
            fn from(x: $name) -> $lib {
                match x { $($name::$v => $to,)+ }
            }
        }
    };
}

value_enum!(Model => ModelKind {
    Register => ModelKind::Register; "read/write register",
    CasRegister => ModelKind::CasRegister; "read/write/compare-and-set register; a never-written key reads nil",
    Kv => ModelKind::Kv; "get/put/append on strings per key (Porcupine kv); a missing key reads \"\"",
    MultiRegister => ModelKind::MultiRegister; "Jepsen :txn of [:r k v]/[:w k v] micro-ops over several registers",
    Mutex => ModelKind::Mutex; "acquire/release lock",
    Set => ModelKind::Set; "add elements, read the whole set",
    Counter => ModelKind::Counter; "incr by an amount, read the total",
    Queue => ModelKind::Queue; "FIFO enqueue/dequeue; dequeue of empty returns nil",
    ListAppend => ModelKind::ListAppend; "append unique elements, read the whole list",
});

value_enum!(Check => Option<CheckName> {
    Linearizable => Some(CheckName::Linearizable); "a total order of ops, legal for the model, consistent with real time",
    ReadYourWrites => Some(CheckName::ReadYourWrites); "a session's reads reflect its own earlier writes",
    MonotonicReads => Some(CheckName::MonotonicReads); "a session never reads an older state than it already saw",
    MonotonicWrites => Some(CheckName::MonotonicWrites); "a session's writes take effect in session order",
    WritesFollowReads => Some(CheckName::WritesFollowReads); "a write is ordered after the writes its session had read",
    Convergence => Some(CheckName::Convergence); "final reads of all nodes agree and keep every acknowledged write",
    Bank => Some(CheckName::Bank); "bank histories: every read sums to the total, no negative balances",
    ReadUncommitted => Some(CheckName::ReadUncommitted); "txn histories: no G0 (write cycles)",
    ReadCommitted => Some(CheckName::ReadCommitted); "txn: no G0, G1a, G1b, G1c (dirty or intermediate reads, cycles without rw)",
    ReadAtomic => Some(CheckName::ReadAtomic); "txn: no fractured, internal or future reads, G1a (Cerone et al.)",
    Causal => Some(CheckName::Causal); "txn: read atomic, and visibility is transitive (Cerone et al.)",
    ConsistentView => Some(CheckName::ConsistentView); "txn: read committed without G-single (Adya PL-2+)",
    SnapshotIsolation => Some(CheckName::SnapshotIsolation); "txn: no G1, G-single, G-nonadjacent, lost-update, internal",
    RepeatableRead => Some(CheckName::RepeatableRead); "txn: no G1, G2-item (Adya PL-2.99)",
    Serializable => Some(CheckName::Serializable); "txn: no G1, G2: some serial order explains every read",
    StrictSerializable => Some(CheckName::StrictSerializable); "txn: serializable in real-time order (txn default; `linearizable` too)",
    StrongSessionSerializable => Some(CheckName::StrongSessionSerializable); "txn: serializable in each process's order",
    StrongSessionSnapshotIsolation => Some(CheckName::StrongSessionSnapshotIsolation); "txn: SI in each process's order",
    StrongSnapshotIsolation => Some(CheckName::StrongSnapshotIsolation); "txn: snapshot isolation in real-time order",
    All => None; "every check that fits the history (txn histories: strict-serializable)",
    SetFull => Some(CheckName::SetFull); "grow-only sets read whole (add or broadcast, read): no element lost, per node",
    CounterBounds => Some(CheckName::CounterBounds); "counters (add, read): final reads within the bounds of the adds",
    UniqueIds => Some(CheckName::UniqueIds); "generate: every id distinct",
    Echo => Some(CheckName::Echo); "echo: every answer is the payload sent",
    Kafka => Some(CheckName::Kafka); "kafka-style logs (send, poll, commit_offsets): no lost, skipped or reordered offsets",
    Cart => Some(CheckName::Cart); "carts (add, remove, read): final reads keep every acknowledged add and remove",
});

value_enum!(InputFormat => Format {
    Jsonl => Format::Jsonl; "conch's native JSON Lines, one event per line",
    Edn => Format::Edn; "Jepsen history.edn: a vector of op maps or one map per line",
    JepsenLog => Format::JepsenLog; "Jepsen text log lines (INFO jepsen.util - PROCESS :TYPE :F VALUE)",
    PorcupineKv => Format::PorcupineKv; "Porcupine kv test data: EDN maps with :key",
});

value_enum!(NilReadArg => NilRead {
    Unknown => NilRead::Unknown; "always legal, as Knossos and Jepsen judge it",
    Absent => NilRead::Absent; "the key was never written, as Porcupine judges it",
});

value_enum!(IndependentArg => Independent {
    Auto => Independent::Auto; "split when every keyless client value is such a tuple (holds the events until the end of the file)",
    Yes => Independent::Yes; "always split (streams)",
    No => Independent::No; "keep the tuples as values",
});

value_enum!(BankInitial => Option<BTreeMap<Value, i64>> {
    Zero => Some(BTreeMap::new()); "every account starts at 0, as in conch's simulator",
    FirstRead => None; "the total is inferred from the first read",
});

value_enum!(Workload => WorkloadKind {
    Register => WorkloadKind::Register; "read/write/cas on a few registers",
    Kv => WorkloadKind::Kv; "read/write over many keys, uniform or zipfian",
    ListAppend => WorkloadKind::ListAppend; "append unique ints to lists; reads return whole lists",
    Set => WorkloadKind::Set; "add unique ints to grow-only sets; reads return the set",
    Counter => WorkloadKind::Counter; "increment counters; reads return totals",
    Bank => WorkloadKind::Bank; "transfers between accounts and whole-bank reads",
    Cart => WorkloadKind::Cart; "shopping carts: add unique ints, remove added ones, read the cart",
    TxnListAppend => WorkloadKind::TxnListAppend; "transactions of appends and reads over lists (Elle's list-append)",
    TxnRwRegister => WorkloadKind::TxnRwRegister; "transactions of writes and reads over registers (Elle's rw-register)",
});

value_enum!(Nemesis => Option<FaultKind> {
    Partition => Some(FaultKind::Partition); "network partitions: halves, random halves, isolate one node, majority ring, bridge",
    Crash => Some(FaultKind::Crash); "crash and restart one node, several, or the leader; volatile state is lost",
    Pause => Some(FaultKind::Pause); "pause a node (it processes nothing) and resume it",
    Loss => Some(FaultKind::Loss); "bursts of message loss",
    Duplicate => Some(FaultKind::Duplicate); "bursts of message duplication",
    ClockSkew => Some(FaultKind::ClockSkew); "skew and drift of nodes' local clocks",
    All => None; "every kind above",
    Leader => Some(FaultKind::Leader); "crash, pause or isolate the current leader, and crash it at its leader fault points (not in all)",
    DcPartition => Some(FaultKind::DcPartition); "cut every link between datacenters, keep those inside each (protocols with datacenters: quorum dcs=2; not in all)",
    LinkLoss => Some(FaultKind::LinkLoss); "moderate loss link by link: each directed link drops at its own rate, up to 5-20% (not in all)",
    Swizzle => Some(FaultKind::Swizzle); "FoundationDB swizzle-clog: clog 2..n random nodes one by one (their messages held, not lost), unclog them in another random order (not in all)",
    None => None; "no faults",
});

value_enum!(Routing => ClientRouting {
    Sticky => ClientRouting::Sticky; "client i talks to node i mod n",
    Random => ClientRouting::Random; "a node chosen at random for every request",
    Failover => ClientRouting::Failover; "sticky, moving to another node when its node is down or unreachable",
});

value_enum!(GenWorkload => testkit::gen_txn::GenKind {
    Register => testkit::gen_txn::GenKind::Ops(testkit::gen::GenWorkload::Register { cas: false }); "registers with read and write",
    CasRegister => testkit::gen_txn::GenKind::Ops(testkit::gen::GenWorkload::Register { cas: true }); "registers with read, write and compare-and-set",
    ListAppend => testkit::gen_txn::GenKind::Ops(testkit::gen::GenWorkload::ListAppend); "append to lists, read whole lists",
    Set => testkit::gen_txn::GenKind::Ops(testkit::gen::GenWorkload::Set); "add to sets, read whole sets",
    Counter => testkit::gen_txn::GenKind::Ops(testkit::gen::GenWorkload::Counter); "increment counters, read totals",
    TxnListAppend => testkit::gen_txn::GenKind::Txn(testkit::gen_txn::TxnWorkload::ListAppend); "Elle's list-append transactions, strict serializable",
    TxnRwRegister => testkit::gen_txn::GenKind::Txn(testkit::gen_txn::TxnWorkload::RwRegister); "Elle's rw-register transactions, strict serializable",
});

value_enum!(PlantArg => testkit::gen_txn::Plant {
    GSingle => testkit::gen_txn::Plant::GSingle; "read skew: a reader sees one of a writer's two writes (G-single)",
    G2Item => testkit::gen_txn::Plant::G2Item; "write skew: two readers of two keys each write one (G2-item)",
    LostUpdate => testkit::gen_txn::Plant::LostUpdate; "two transactions read a key and both write it (lost-update)",
    G1a => testkit::gen_txn::Plant::G1a; "a read of a failed transaction's write (G1a)",
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name a library type has is a value of its flag, and maps back
    /// to the same variant: the value enums cannot fall behind.
    #[test]
    fn every_library_name_is_a_flag_value() {
        fn parse<T: ValueEnum>(name: &str) -> T {
            T::from_str(name, false).unwrap_or_else(|e| panic!("`{name}` is not a flag value: {e}"))
        }
        for m in ModelKind::ALL {
            assert_eq!(ModelKind::from(parse::<Model>(m.as_str())), m);
        }
        for c in CheckName::ALL.into_iter().chain(CheckName::TXN).chain(CheckName::WORKLOAD) {
            assert_eq!(Option::<CheckName>::from(parse::<Check>(c.as_str())), Some(c));
        }
        for f in Format::ALL {
            assert_eq!(Format::from(parse::<InputFormat>(f.name())), f);
        }
        for w in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::from(parse::<Workload>(w.name())), w);
        }
        for k in FaultKind::ALL.into_iter().chain(FaultKind::NAMED) {
            assert_eq!(Option::<FaultKind>::from(parse::<Nemesis>(k.name())), Some(k));
        }
    }

    #[test]
    fn all_and_none_expand() {
        assert!(checks(&[Check::Bank, Check::All]).is_empty());
        assert_eq!(faults(&[Nemesis::None]), vec![]);
        assert_eq!(faults(&[Nemesis::Crash, Nemesis::All]).len(), FaultKind::ALL.len());
        assert_eq!(faults(&[Nemesis::Loss, Nemesis::Crash, Nemesis::Loss]), vec![FaultKind::Loss, FaultKind::Crash]);
    }
}
