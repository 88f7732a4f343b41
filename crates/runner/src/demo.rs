//! The demo: every bundled protocol under a standard fault schedule, and the
//! bundled example histories, which are compiled in so that the demo works
//! from any directory.

use crate::check::{self, Checked};
use crate::compare::{self, Common};
use crate::{Error, Plan};
use rayon::prelude::*;
use std::borrow::Cow;
use std::path::Path;
use workloads::sim::FaultKind;

include!(concat!(env!("OUT_DIR"), "/example_histories.rs"));

/// The demo's faults: partitions, crashes, clock skew and loss, so that each
/// protocol's textbook failure has a chance to show.
pub const NEMESIS: [FaultKind; 4] = [FaultKind::Partition, FaultKind::Crash, FaultKind::ClockSkew, FaultKind::Loss];

/// Settings under which each protocol shows its textbook behaviour.
pub const PARAMS: [&str; 1] = ["quorum:consistency=one"];

/// The demo's plans: the comparison's default protocols, 5 nodes, 5
/// clients; then lww with writes only ([`LWW_WRITES`]).
pub fn plans(ops: usize) -> Result<Vec<Plan>, Error> {
    let common = Common { workload: None, nemesis: NEMESIS.to_vec(), intensity: 1.0, nodes: 5, clients: 5, ops };
    let mut plans = compare::plans(&compare::default_protocols(None), &common, &PARAMS)?;
    let lww = plans.iter().find(|p| p.protocol == "lww").cloned();
    if let Some(lww) = lww {
        let writes = Plan { op_mix: Some(LWW_WRITES), ..lww };
        writes.validate()?;
        plans.push(writes);
    }
    Ok(plans)
}

/// lww's own failure, lost writes under clock skew, is hidden behind its
/// stale reads when clients read (every seed fails linearizability on
/// those first); with writes only, the final reads alone are judged, and a
/// seed fails only when an acknowledged write was overwritten by one that
/// finished before it began (docs/protocols/lww.md).
pub const LWW_WRITES: workloads::workload::OpMix = workloads::workload::OpMix { read: 0, update: 1, cas: 0 };

/// One example history.
pub struct Example {
    /// Its path under the examples' directory, `/`-separated.
    pub rel: String,
    /// The name reports give it.
    pub name: String,
    pub bytes: Cow<'static, [u8]>,
}

/// The example histories under `dir`, or the bundled ones when `None`, in
/// path order. A directory without any is an error.
pub fn examples(dir: Option<&Path>) -> Result<Vec<Example>, Error> {
    let Some(dir) = dir else {
        return Ok(EXAMPLE_HISTORIES
            .iter()
            .map(|(rel, bytes)| Example {
                rel: rel.to_string(),
                name: format!("histories/{rel}"),
                bytes: Cow::Borrowed(bytes),
            })
            .collect());
    };
    let files = crate::walk::histories(dir);
    if files.is_empty() {
        return Err(Error::Plan(format!("demo: no histories found under {}", dir.display())));
    }
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| Error::Plan(format!("{}: cannot read: {e}", p.display())))?;
            let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string().replace('\\', "/");
            Ok(Example { rel, name: p.display().to_string(), bytes: Cow::Owned(bytes) })
        })
        .collect()
}

/// Checks every example with every check that fits, in parallel.
pub fn check_examples(examples: &[Example]) -> Vec<Checked> {
    examples.par_iter().map(|e| check::check_bytes(&e.name, &e.bytes)).collect()
}

/// The report page's file name for an example: its path, flattened.
pub fn page_name(e: &Example) -> String {
    e.rel.replace('/', "_") + ".html"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_are_bundled_and_all_read() {
        let bundled = examples(None).unwrap();
        assert!(bundled.len() >= 20, "{} bundled", bundled.len());
        assert!(bundled.iter().any(|e| e.name == "histories/linear/register-stale-read.jsonl"));
        for c in check_examples(&bundled) {
            assert!(c.result.is_ok(), "{}: {:?}", c.file, c.result.err());
        }
    }

    #[test]
    fn a_directory_without_histories_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(examples(Some(dir.path())), Err(Error::Plan(m)) if m.contains("no histories")));
    }
}
