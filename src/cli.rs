//! Command-line definitions.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
                  cat h.jsonl | conch check -")]
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
        after_help = "Example:\n  conch compare --protocols raft,abd,quorum --nemesis partition --seeds 0..10 --out conch-out/compare"
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
    /// Run your own Maelstrom-protocol node binary as a cluster under conch's network,
    /// faults and checkers (Maelstrom's workloads and flag names).
    #[command(after_help = "Examples:\n  conch maelstrom -w echo --bin ./echo --node-count 1 --time-limit 10\n  \
                  conch maelstrom -w broadcast --bin ./broadcast --node-count 5 --time-limit 20 --rate 10 --nemesis partition\n  \
                  conch maelstrom -w lin-kv --bin ./raft --concurrency 2n --latency 10 --latency-dist exponential --nemesis kill,pause")]
    Maelstrom(crate::maelstrom::MaelstromArgs),
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// History files (`-` for standard input).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Sequential model for linearizability (see `conch list`); inferred when unambiguous.
    #[arg(long)]
    pub model: Option<String>,
    /// Comma-separated checks: linearizable, read-your-writes, monotonic-reads,
    /// monotonic-writes, writes-follow-reads, convergence, bank, or all; and the workload
    /// checks set-full, counter-bounds, unique-ids, echo, kafka (only by name).
    /// Default: linearizable.
    #[arg(long, value_delimiter = ',')]
    pub checks: Vec<String>,
    /// Input format: jsonl, edn, jepsen-log, porcupine-kv; detected when absent.
    #[arg(long)]
    pub format: Option<String>,
    /// How an ok read of nil is judged: `unknown` (always legal, as Knossos/Jepsen)
    /// or `absent` (the key was never written, as Porcupine). Default per format.
    #[arg(long)]
    pub nil_read: Option<String>,
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
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Memory budget for the search, in MiB.
    #[arg(long, default_value_t = 4096)]
    pub memory_mb: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Use only the general search (disable the polynomial-time unique-value paths).
    #[arg(long)]
    pub no_fast_paths: bool,
    /// Check in shards by key, spilling ops to disk, so that memory is bounded by the
    /// largest shard rather than the file: `auto` (files of 256 MiB or more), `off`, or a
    /// number of shards (1-256). Not with --html, which needs the whole history.
    #[arg(long, default_value = "auto")]
    pub shards: String,
    /// Directory for shard files (default: the system's temporary directory).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Jepsen EDN and log histories: split `[k v]` values into key and value (`yes`), keep
    /// them (`no`), or `auto`: split when every keyless client value is such a tuple, which
    /// holds the events in memory until the end of the file (`yes` streams).
    #[arg(long, default_value = "auto")]
    pub independent: String,
    /// Bank histories: balances may go negative (conch's own bank workload); Jepsen's bank forbids it.
    #[arg(long)]
    pub bank_negative_ok: bool,
    /// Bank histories: initial balances, `zero` (every account starts at 0, as in conch's
    /// simulator) or `first-read` (inferred from the first read).
    #[arg(long, default_value = "first-read")]
    pub bank_initial: String,
    /// Print every key, not only the ones that are not valid.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Protocol (see `conch list`).
    #[arg(long)]
    pub protocol: String,
    /// Workload: register, kv, list-append, set, counter, bank (default: the protocol's own).
    #[arg(long)]
    pub workload: Option<String>,
    /// Comma-separated faults: partition, crash, pause, loss, duplicate, clock-skew, all, or none.
    #[arg(long, default_value = "none")]
    pub nemesis: String,
    /// How often faults come (1.0 = default rate).
    #[arg(long, default_value_t = 1.0)]
    pub intensity: f64,
    /// One seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// A range of seeds `A..B` (B exclusive), run in parallel.
    #[arg(long)]
    pub seeds: Option<String>,
    /// Protocol setting NAME=VALUE (repeatable), e.g. consistency=one, bug=stale-reads.
    #[arg(long)]
    pub param: Vec<String>,
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Client operations per run.
    #[arg(long, default_value_t = 500)]
    pub ops: usize,
    /// Number of keys (default: the workload's own).
    #[arg(long)]
    pub keys: Option<usize>,
    /// Client routing: sticky (client i talks to node i mod n) or random.
    #[arg(long, default_value = "sticky")]
    pub routing: String,
    /// Output directory (one sub-directory per seed when several).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Check each run (all checks that fit the workload unless --checks narrows them).
    #[arg(long)]
    pub check: bool,
    #[arg(long, value_delimiter = ',')]
    pub checks: Vec<String>,
    /// With --seeds: stop at the first seed whose run violates a check.
    #[arg(long)]
    pub until_violation: bool,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Comma-separated protocols (default: all bundled ones for the workload).
    #[arg(long, value_delimiter = ',')]
    pub protocols: Vec<String>,
    /// Workload for every protocol (default: each protocol's own).
    #[arg(long)]
    pub workload: Option<String>,
    #[arg(long, default_value = "partition,crash")]
    pub nemesis: String,
    #[arg(long, default_value_t = 1.0)]
    pub intensity: f64,
    #[arg(long, default_value = "0..5")]
    pub seeds: String,
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    #[arg(long, default_value_t = 5)]
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
    /// register, cas-register, list-append, set or counter.
    #[arg(long, default_value = "register")]
    pub workload: String,
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
    /// Directory for the demo's reports.
    #[arg(long, default_value = "conch-out/demo")]
    pub out: PathBuf,
    /// Directory of example histories to check.
    #[arg(long, default_value = "histories")]
    pub histories: PathBuf,
    /// Seeds per protocol.
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Client operations per run.
    #[arg(long, default_value_t = 1000)]
    pub ops: usize,
}

/// `conch list`: every name a script may rely on, a line of description each.
pub fn print_list() {
    let sections: &[(&str, &[(&str, &str)])] = &[
        (
            "models (--model)",
            &[
                ("register", "read/write register"),
                ("cas-register", "read/write/compare-and-set register; a never-written key reads nil"),
                ("kv", "get/put/append on strings per key (Porcupine kv); a missing key reads \"\""),
                ("multi-register", "Jepsen :txn of [:r k v]/[:w k v] micro-ops over several registers"),
                ("mutex", "acquire/release lock"),
                ("set", "add elements, read the whole set"),
                ("counter", "incr by an amount, read the total"),
                ("queue", "FIFO enqueue/dequeue; dequeue of empty returns nil"),
                ("list-append", "append unique elements, read the whole list"),
            ],
        ),
        (
            "checks (--checks)",
            &[
                ("linearizable", "a total order of ops, legal for the model, consistent with real time"),
                ("read-your-writes", "a session's reads reflect its own earlier writes"),
                ("monotonic-reads", "a session never reads an older state than it already saw"),
                ("monotonic-writes", "a session's writes take effect in session order"),
                ("writes-follow-reads", "a write is ordered after the writes its session had read"),
                ("convergence", "final reads of all nodes agree and keep every acknowledged write"),
                ("bank", "bank histories: every read sums to the total, no negative balances"),
                ("all", "every check that fits the history (not the workload checks below)"),
                ("set-full", "grow-only sets read whole (add or broadcast, read): no element lost, per node"),
                ("counter-bounds", "counters (add, read): final reads within the bounds of the adds"),
                ("unique-ids", "generate: every id distinct"),
                ("echo", "echo: every answer is the payload sent"),
                ("kafka", "send/poll/commit_offsets logs: no lost, skipped or reordered offsets"),
            ],
        ),
        (
            "formats (--format)",
            &[
                ("jsonl", "conch's native JSON Lines, one event per line"),
                ("edn", "Jepsen history.edn: a vector of op maps or one map per line"),
                ("jepsen-log", "Jepsen text log lines (INFO jepsen.util - PROCESS :TYPE :F VALUE)"),
                ("porcupine-kv", "Porcupine kv test data: EDN maps with :key"),
            ],
        ),
    ];
    for (title, items) in sections {
        println!("{title}:");
        for (name, what) in *items {
            println!("  {name:<22} {what}");
        }
        println!();
    }
    println!("protocols (--protocol; settings with --param NAME=VALUE, see docs/protocols/):");
    for p in workloads::registry::PROTOCOLS {
        println!("  {:<22} {} (default workload: {})", p.name, p.description, p.default_workload.name());
    }
    println!("\nworkloads (--workload):");
    let workloads: [(&str, &str); 6] = [
        ("register", "read/write/cas on a few registers"),
        ("kv", "read/write over many keys, uniform or zipfian"),
        ("list-append", "append unique ints to lists; reads return whole lists"),
        ("set", "add unique ints to grow-only sets; reads return the set"),
        ("counter", "increment counters; reads return totals"),
        ("bank", "transfers between accounts and whole-bank reads"),
    ];
    for (name, what) in workloads {
        println!("  {name:<22} {what}");
    }
    println!("\nmaelstrom workloads (conch maelstrom -w):");
    for w in maelstrom::WorkloadKind::ALL {
        println!("  {:<22} {}", w.name(), w.description());
    }
    println!("\nnemeses (--nemesis, comma-separated):");
    let nemeses: [(&str, &str); 8] = [
        ("partition", "network partitions: halves, random halves, isolate one node, majority ring, bridge"),
        ("crash", "crash and restart one node, several, or the leader; volatile state is lost"),
        ("pause", "pause a node (it processes nothing) and resume it"),
        ("loss", "bursts of message loss"),
        ("duplicate", "bursts of message duplication"),
        ("clock-skew", "skew and drift of nodes' local clocks"),
        ("all", "every kind above"),
        ("none", "no faults"),
    ];
    for (name, what) in nemeses {
        println!("  {name:<22} {what}");
    }
}
