//! Command-line definitions: every flag, and a clap value enum for every
//! flag that takes one of a fixed set of names (its variants' doc comments
//! are the help, and `conch list`). Each converts to the library type.

use checker::model::ModelKind;
use checker::read::{Format, Independent, NilRead};
use checker::{CheckName, Value};
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use runner::check::ShardMode;
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
    /// The main job: every bundled protocol under a standard fault schedule, checked,
    /// compared, with an HTML report index; plus the bundled example histories.
    Demo(DemoArgs),
    /// List models, checks, formats, protocols, workloads and nemeses.
    List,
    /// Write a random history that is linearizable by construction (for benchmarks and experiments).
    #[command(
        after_help = "Example:\n  conch gen --workload register --ops 1000000 --clients 32 --keys 100 > reg-1m.jsonl"
    )]
    Gen(GenArgs),
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// History files (`-` for standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Sequential model for linearizability; inferred when unambiguous.
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Comma-separated checks. Default: linearizable.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub checks: Vec<Check>,
    /// Input format; detected when absent.
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// How an ok read of nil is judged. Default per format.
    #[arg(long, value_enum)]
    pub nil_read: Option<NilReadArg>,
    /// Every key's state before the history, as JSON or EDN: a register's
    /// value, a kv string, a counter's total, a list or set, a multi-register
    /// map (`{"x": 0, "y": 0}`). Default: empty (nil, "", 0, []).
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
    #[arg(long, value_parser = positive_seconds)]
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
    /// Check in shards by key, spilling ops to disk, so that memory is bounded by the
    /// largest shard rather than the file: `auto` (files of 256 MiB or more), `off`, or a
    /// number of shards (1-256). Not with --html, which needs the whole history.
    #[arg(long, default_value = "auto", value_parser = shard_mode)]
    pub shards: ShardMode,
    /// Directory for shard files (default: the system's temporary directory).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Jepsen EDN and log histories: whether to split `[k v]` values into key and value.
    #[arg(long, value_enum, default_value_t = IndependentArg::Auto)]
    pub independent: IndependentArg,
    /// Longest line accepted, in MiB (for EDN: longest single op, whatever its lines).
    /// A guard against unbounded memory on a broken file.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_mb: u64,
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
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
    pub intensity: f64,
    /// Mean virtual seconds between faults of each kind (default: 4 faults of each kind spread over the run).
    #[arg(long, value_parser = positive_seconds)]
    pub nemesis_interval: Option<f64>,
    /// The clients stop after this many virtual seconds (also before --ops, if given, are done).
    #[arg(long, value_parser = positive_seconds)]
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
    /// Client routing.
    #[arg(long, value_enum, default_value_t = Routing::Failover)]
    pub routing: Routing,
    /// Livelock bound: a run stops after processing this many events, and none of its checks is valid.
    #[arg(long)]
    pub max_events: Option<u64>,
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
    #[arg(long, default_value_t = 1.0, value_parser = positive)]
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
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    #[arg(long, default_value_t = 100)]
    pub keys: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Per-mille of ops that end `info`.
    #[arg(long, default_value_t = 5)]
    pub info_permille: u32,
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

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("expected a number > 0, found `{s}`")),
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    positive(s).map_err(|_| format!("expected seconds > 0, found `{s}`"))
}

fn shard_mode(s: &str) -> Result<ShardMode, String> {
    match s {
        "auto" => Ok(ShardMode::Auto),
        "off" => Ok(ShardMode::Off),
        n => n
            .parse()
            .map(ShardMode::Fixed)
            .map_err(|_| format!("expected auto, off or a number of shards, found `{n}`")),
    }
}

/// `--checks`: `all` anywhere gives the empty list, every check that fits the history.
pub fn checks(list: &[Check]) -> Vec<CheckName> {
    if list.contains(&Check::All) {
        return Vec::new();
    }
    list.iter().filter_map(|&c| c.into()).collect()
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

/// Declares a flag's value enum, whose doc comments are its values' help,
/// and its conversion to the library's type: one line per value.
macro_rules! value_enum {
    ($name:ident => $lib:ty { $($(#[doc = $doc:literal])+ $v:ident => $to:expr,)+ }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
        pub enum $name { $($(#[doc = $doc])+ $v,)+ }
        impl From<$name> for $lib {
            fn from(x: $name) -> $lib {
                match x { $($name::$v => $to,)+ }
            }
        }
    };
}

value_enum!(Model => ModelKind {
    /// read/write register
    Register => ModelKind::Register,
    /// read/write/compare-and-set register; a never-written key reads nil
    CasRegister => ModelKind::CasRegister,
    /// get/put/append on strings per key (Porcupine kv); a missing key reads ""
    Kv => ModelKind::Kv,
    /// Jepsen :txn of [:r k v]/[:w k v] micro-ops over several registers
    MultiRegister => ModelKind::MultiRegister,
    /// acquire/release lock
    Mutex => ModelKind::Mutex,
    /// add elements, read the whole set
    Set => ModelKind::Set,
    /// incr by an amount, read the total
    Counter => ModelKind::Counter,
    /// FIFO enqueue/dequeue; dequeue of empty returns nil
    Queue => ModelKind::Queue,
    /// append unique elements, read the whole list
    ListAppend => ModelKind::ListAppend,
});

value_enum!(Check => Option<CheckName> {
    /// a total order of ops, legal for the model, consistent with real time
    Linearizable => Some(CheckName::Linearizable),
    /// a session's reads reflect its own earlier writes
    ReadYourWrites => Some(CheckName::ReadYourWrites),
    /// a session never reads an older state than it already saw
    MonotonicReads => Some(CheckName::MonotonicReads),
    /// a session's writes take effect in session order
    MonotonicWrites => Some(CheckName::MonotonicWrites),
    /// a write is ordered after the writes its session had read
    WritesFollowReads => Some(CheckName::WritesFollowReads),
    /// final reads of all nodes agree and keep every acknowledged write
    Convergence => Some(CheckName::Convergence),
    /// bank histories: every read sums to the total, no negative balances
    Bank => Some(CheckName::Bank),
    /// every check that fits the history
    All => None,
});

value_enum!(InputFormat => Format {
    /// conch's native JSON Lines, one event per line
    Jsonl => Format::Jsonl,
    /// Jepsen history.edn: a vector of op maps or one map per line
    Edn => Format::Edn,
    /// Jepsen text log lines (INFO jepsen.util - PROCESS :TYPE :F VALUE)
    JepsenLog => Format::JepsenLog,
    /// Porcupine kv test data: EDN maps with :key
    PorcupineKv => Format::PorcupineKv,
});

value_enum!(NilReadArg => NilRead {
    /// always legal, as Knossos and Jepsen judge it
    Unknown => NilRead::Unknown,
    /// the key was never written, as Porcupine judges it
    Absent => NilRead::Absent,
});

value_enum!(IndependentArg => Independent {
    /// split when every keyless client value is such a tuple (holds the events until the end of the file)
    Auto => Independent::Auto,
    /// always split (streams)
    Yes => Independent::Yes,
    /// keep the tuples as values
    No => Independent::No,
});

value_enum!(BankInitial => Option<BTreeMap<Value, i64>> {
    /// every account starts at 0, as in conch's simulator
    Zero => Some(BTreeMap::new()),
    /// the total is inferred from the first read
    FirstRead => None,
});

value_enum!(Workload => WorkloadKind {
    /// read/write/cas on a few registers
    Register => WorkloadKind::Register,
    /// read/write over many keys, uniform or zipfian
    Kv => WorkloadKind::Kv,
    /// append unique ints to lists; reads return whole lists
    ListAppend => WorkloadKind::ListAppend,
    /// add unique ints to grow-only sets; reads return the set
    Set => WorkloadKind::Set,
    /// increment counters; reads return totals
    Counter => WorkloadKind::Counter,
    /// transfers between accounts and whole-bank reads
    Bank => WorkloadKind::Bank,
    /// transactions of appends and reads over lists (Elle's list-append)
    TxnListAppend => WorkloadKind::TxnListAppend,
    /// transactions of writes and reads over registers (Elle's rw-register)
    TxnRwRegister => WorkloadKind::TxnRwRegister,
});

value_enum!(Nemesis => Option<FaultKind> {
    /// network partitions: halves, random halves, isolate one node, majority ring, bridge
    Partition => Some(FaultKind::Partition),
    /// crash and restart one node, several, or the leader; volatile state is lost
    Crash => Some(FaultKind::Crash),
    /// pause a node (it processes nothing) and resume it
    Pause => Some(FaultKind::Pause),
    /// bursts of message loss
    Loss => Some(FaultKind::Loss),
    /// bursts of message duplication
    Duplicate => Some(FaultKind::Duplicate),
    /// skew and drift of nodes' local clocks
    ClockSkew => Some(FaultKind::ClockSkew),
    /// every kind above
    All => None,
    /// no faults
    None => None,
});

value_enum!(Routing => ClientRouting {
    /// client i talks to node i mod n
    Sticky => ClientRouting::Sticky,
    /// a node chosen at random for every request
    Random => ClientRouting::Random,
    /// sticky, moving to another node when its node is down or unreachable
    Failover => ClientRouting::Failover,
});

value_enum!(GenWorkload => testkit::gen::GenWorkload {
    /// registers with read and write
    Register => testkit::gen::GenWorkload::Register { cas: false },
    /// registers with read, write and compare-and-set
    CasRegister => testkit::gen::GenWorkload::Register { cas: true },
    /// append to lists, read whole lists
    ListAppend => testkit::gen::GenWorkload::ListAppend,
    /// add to sets, read whole sets
    Set => testkit::gen::GenWorkload::Set,
    /// increment counters, read totals
    Counter => testkit::gen::GenWorkload::Counter,
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
        for c in CheckName::ALL {
            assert_eq!(Option::<CheckName>::from(parse::<Check>(c.as_str())), Some(c));
        }
        for f in Format::ALL {
            assert_eq!(Format::from(parse::<InputFormat>(f.name())), f);
        }
        for w in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::from(parse::<Workload>(w.name())), w);
        }
        for k in FaultKind::ALL {
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
