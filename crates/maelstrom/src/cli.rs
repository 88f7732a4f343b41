//! The `conch maelstrom` flags, parsed here so that the binary stays glue:
//! Maelstrom's `test` flag names (`-w`, `--bin`, `--node-count`,
//! `--time-limit`, `--rate`, `--concurrency`, `--nemesis`,
//! `--nemesis-interval`, `--latency`, `--latency-dist`, `--topology`, ...),
//! `--flag value` or `--flag=value`; arguments after `--` go to the binary.

use crate::config::{self, Config, LatencyDist, NemesisKind, Topology, WorkloadKind};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `conch maelstrom --help`.
pub const HELP: &str = "\
Run your own Maelstrom-protocol node binary as a cluster under conch's network,
faults and checkers. See docs/maelstrom.md.

Usage: conch maelstrom -w WORKLOAD --bin PATH [FLAGS] [-- ARGS FOR THE BINARY]

  -w, --workload NAME       echo, unique-ids, broadcast, g-set, g-counter, pn-counter,
                            lin-kv, txn-list-append, txn-rw-register, kafka
      --bin PATH            the node binary (JSON lines on stdin/stdout)
      --arg A               an argument for the binary (repeatable)
      --node-count N        nodes n0..n(N-1) [5]
      --node-id-base B      0: nodes n0..n(N-1), as Maelstrom runs them; 1: n1..nN [0]
      --time-limit SECS     how long clients issue ops and faults happen [10]
      --rate OPS            client ops per second, over all clients [5]
      --concurrency N|Kn    client threads, or K per node [one per node]
      --nemesis LIST        partition, pause, kill, loss, duplicate, delay, all, none [none]
      --nemesis-interval S  mean seconds between nemesis actions [10]
      --latency MS          mean message latency [0]
      --latency-dist D      constant, uniform or exponential [constant]
      --topology T          broadcast: grid, line, tree (tree2..tree4), total [grid]
      --seed S              seed of the faults, the client ops, the network [0]
      --key-count N         keys for lin-kv, txn-* and kafka
      --max-txn-length N    micro-ops per transaction at most [4]
      --max-writes-per-key N  txn writes per key before moving to fresh keys [16]
      --request-timeout S   an unanswered request becomes info [5]
      --init-timeout S      each node must answer init within this [10]
      --recovery-time S     wait between healing and the final reads [5]
      --availability A      `total` or a fraction: client ops that must succeed [none]
      --consistency-models M  txn workloads: the models to check, comma-separated
                            (Elle's names: serializable, snapshot-isolation, ...)
                            [strict-serializable]
      --out DIR             run directory [conch-out/maelstrom/WORKLOAD/N, the next free N]
      --force               reuse a run directory that is not empty
      --json                print one JSON document instead of text
      --junit FILE          write JUnit XML
  -v, --verbose             print every key, not only those that are not valid

Exit: 0 every check held, 1 an anomaly or a node broke the protocol,
2 bad usage or a node that cannot start, 3 undecided, cut short or interrupted.
";

/// The `conch list` section: maelstrom workloads and nemeses.
pub fn list() -> String {
    let mut s = String::from("maelstrom workloads (conch maelstrom -w; see docs/maelstrom.md):\n");
    for w in WorkloadKind::ALL {
        s.push_str(&format!("  {:<22} {}\n", w.name(), w.description()));
    }
    s.push_str("\nmaelstrom nemeses (conch maelstrom --nemesis, comma-separated):\n");
    for k in NemesisKind::ALL {
        s.push_str(&format!("  {:<22} {}\n", k.name(), k.description()));
    }
    s
}

/// A parsed command line.
#[derive(Debug)]
pub enum Parsed {
    Help,
    Run(Box<Invocation>),
}

/// What to run and how to show it.
#[derive(Debug)]
pub struct Invocation {
    pub config: Config,
    pub json: bool,
    pub junit: Option<PathBuf>,
    pub verbose: bool,
    pub force: bool,
}

fn secs(flag: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=config::MAX_SECONDS).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{flag}: expected seconds in 0..={}, found `{v}`", config::MAX_SECONDS)),
    }
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{flag}: expected a number, found `{v}`"))
}

/// Parses the words after `conch maelstrom`.
pub fn parse(words: &[String]) -> Result<Parsed, String> {
    let mut flags: Vec<(String, String)> = Vec::new();
    let (mut json, mut force, mut verbose) = (false, false, false);
    let mut binary_args: Vec<String> = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => json = true,
            "--force" => force = true,
            "-v" | "--verbose" => verbose = true,
            "--" => {
                binary_args.extend(it.by_ref().cloned());
                break;
            }
            _ => {
                let (flag, inline) = match w.split_once('=') {
                    Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                    _ => (w.clone(), None),
                };
                if !flag.starts_with('-') {
                    return Err(format!("unexpected `{w}`: arguments for the binary go after --arg or --"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => it.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?,
                };
                flags.push((flag, value));
            }
        }
    }
    let get = |name: &str| flags.iter().rev().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
    let known = [
        "-w",
        "--workload",
        "--bin",
        "--arg",
        "--node-count",
        "--node-id-base",
        "--time-limit",
        "--rate",
        "--concurrency",
        "--nemesis",
        "--nemesis-interval",
        "--latency",
        "--latency-dist",
        "--topology",
        "--seed",
        "--key-count",
        "--max-txn-length",
        "--max-writes-per-key",
        "--request-timeout",
        "--init-timeout",
        "--recovery-time",
        "--out",
        "--junit",
        "--availability",
        "--consistency-models",
    ];
    if let Some((f, _)) = flags.iter().find(|(f, _)| !known.contains(&f.as_str())) {
        return Err(format!("unknown flag `{f}` (see conch maelstrom --help)"));
    }
    let w = get("-w").or(get("--workload")).ok_or("missing -w WORKLOAD (see conch maelstrom --help)")?;
    let workload = WorkloadKind::parse(w).ok_or_else(|| {
        let names: Vec<&str> = WorkloadKind::ALL.iter().map(|w| w.name()).collect();
        format!("unknown workload `{w}`: expected one of {}", names.join(", "))
    })?;
    let bin = PathBuf::from(get("--bin").ok_or("missing --bin PATH (the node binary)")?);
    let out = match get("--out") {
        Some(d) => {
            let d = PathBuf::from(d);
            if !force && d.read_dir().is_ok_and(|mut e| e.next().is_some()) {
                return Err(format!("{}: not empty; pass --force to reuse it", d.display()));
            }
            d
        }
        None => next_free(&Path::new("conch-out").join("maelstrom").join(workload.name())),
    };
    let mut c = Config::new(workload, bin, out);
    c.args = flags.iter().filter(|(f, _)| f == "--arg").map(|(_, v)| v.clone()).chain(binary_args).collect();
    if let Some(v) = get("--node-count") {
        c.node_count = num("--node-count", v)?;
    }
    if let Some(v) = get("--node-id-base") {
        c.node_id_base = num("--node-id-base", v)?;
    }
    c.concurrency = match get("--concurrency") {
        Some(v) => config::parse_concurrency(v, c.node_count)?,
        None => c.node_count,
    };
    for (flag, slot) in [
        ("--time-limit", &mut c.time_limit),
        ("--nemesis-interval", &mut c.nemesis_interval),
        ("--request-timeout", &mut c.request_timeout),
        ("--init-timeout", &mut c.init_timeout),
        ("--recovery-time", &mut c.recovery_time),
    ] {
        if let Some(v) = get(flag) {
            *slot = secs(flag, v)?;
        }
    }
    if let Some(v) = get("--rate") {
        c.rate = num("--rate", v)?;
    }
    if let Some(v) = get("--nemesis") {
        c.nemesis = NemesisKind::parse_list(v).map_err(|e| format!("--nemesis: {e}"))?;
    }
    if let Some(v) = get("--latency") {
        c.latency_ms = num("--latency", v)?;
    }
    if let Some(v) = get("--latency-dist") {
        c.latency_dist = LatencyDist::parse(v)
            .filter(|d| config::MAELSTROM_LATENCY_DISTS.contains(d))
            .ok_or_else(|| format!("--latency-dist: expected constant, uniform or exponential, found `{v}`"))?;
    }
    if let Some(v) = get("--topology") {
        c.topology = Topology::parse(v).ok_or_else(|| {
            format!("--topology: expected grid, line, tree, tree2, tree3, tree4 or total, found `{v}`")
        })?;
    }
    if let Some(v) = get("--seed") {
        c.seed = num("--seed", v)?;
    }
    if let Some(v) = get("--key-count") {
        c.key_count = num("--key-count", v)?;
    }
    if let Some(v) = get("--max-txn-length") {
        c.max_txn_length = num("--max-txn-length", v)?;
    }
    if let Some(v) = get("--max-writes-per-key") {
        c.max_writes_per_key = num("--max-writes-per-key", v)?;
    }
    if let Some(v) = get("--availability") {
        c.availability = Some(match v {
            "total" => 1.0,
            _ => v.parse().map_err(|_| format!("--availability: expected `total` or a fraction, found `{v}`"))?,
        });
    }
    if let Some(v) = get("--consistency-models") {
        let names = v.split(',').map(str::trim).filter(|m| !m.is_empty());
        c.consistency_models = names.map(config::parse_consistency_model).collect::<Result<_, _>>()?;
    }
    c.validate()?;
    Ok(Parsed::Run(Box::new(Invocation { config: c, json, junit: get("--junit").map(PathBuf::from), verbose, force })))
}

/// `base/N` for the smallest N above every numbered directory there.
fn next_free(base: &Path) -> PathBuf {
    let used = std::fs::read_dir(base)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok()).max().unwrap_or(0))
        .unwrap_or(0);
    base.join((used + 1).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn run(s: &str) -> Invocation {
        match parse(&words(s)) {
            Ok(Parsed::Run(i)) => *i,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn maelstrom_flags_as_gossip_glomers_write_them() {
        let i = run("-w broadcast --bin ./b --node-count 25 --time-limit 20 --rate 100 --latency 100 --nemesis partition --out /tmp/x --force");
        let c = &i.config;
        assert_eq!((c.workload, c.node_count, c.rate, c.latency_ms), (WorkloadKind::Broadcast, 25, 100.0, 100.0));
        assert_eq!(c.time_limit, Duration::from_secs(20));
        assert_eq!(c.nemesis, vec![NemesisKind::Partition]);
        assert_eq!(c.concurrency, 25, "one client per node by default");
        let i = run("-w lin-kv --bin ./r --node-count 3 --concurrency 2n --latency-dist=exponential --arg -x -- a b --out /tmp/x --force");
        assert_eq!(i.config.concurrency, 6);
        assert_eq!(i.config.latency_dist, LatencyDist::Exponential);
        assert_eq!(i.config.args, words("-x a b --out /tmp/x --force"), "everything after -- is the binary's");
        assert!(matches!(parse(&words("-w echo --help")), Ok(Parsed::Help)));
        // Gossip Glomers' challenge 6b, word for word after `conch maelstrom`.
        let i = run("-w txn-rw-register --bin ./t --node-count 2 --concurrency 2n --time-limit 20 --rate 1000 \
                     --consistency-models read-uncommitted --availability total --nemesis partition --out /tmp/x --force");
        assert_eq!(i.config.consistency_models, vec![checker::CheckName::ReadUncommitted]);
        assert_eq!(i.config.availability, Some(1.0));
        assert!(i.config.command().contains("--consistency-models read-uncommitted --availability total"));
        assert_eq!(run("-w echo --bin x --availability 0.9 --out /tmp/x --force").config.availability, Some(0.9));
    }

    #[test]
    fn usage_errors_say_what_was_expected() {
        for (args, says) in [
            ("--bin x", "missing -w"),
            ("-w echo", "missing --bin"),
            ("-w meteor --bin x", "unknown workload"),
            ("-w echo --bin x --frob 1", "unknown flag `--frob`"),
            ("-w echo --bin x --rate", "--rate needs a value"),
            ("-w echo --bin x --rate fast", "--rate: expected a number"),
            ("-w echo --bin x --time-limit -1", "--time-limit"),
            ("-w echo --bin x --nemesis meteor", "unknown nemesis"),
            ("-w echo --bin x --latency-dist pareto", "--latency-dist: expected constant, uniform or exponential"),
            ("-w echo --bin x --node-count 0", "--node-count"),
            ("-w echo --bin x --node-id-base 2", "--node-id-base must be 0 or 1"),
            ("-w echo --bin x --availability most", "--availability: expected `total`"),
            ("-w echo --bin x --availability 2", "--availability must be"),
            ("-w txn-rw-register --bin x --consistency-models sequential-ish", "unknown model `sequential-ish`"),
            ("-w txn-rw-register --bin x --consistency-models monotonic-atomic-view", "cannot check"),
            ("-w echo --bin x stray", "unexpected `stray`"),
        ] {
            let e = parse(&words(args)).unwrap_err();
            assert!(e.contains(says), "{args}: {e}");
        }
    }
}
