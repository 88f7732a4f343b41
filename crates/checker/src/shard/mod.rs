//! Checking histories larger than memory, shard by shard.
//!
//! Pass 1 streams the file once: events are paired ([`Pairing`] holds only
//! the open ops) and each finished op is spilled, compactly encoded, to one
//! of N shard files chosen by a hash of its key. In pass 2 each thread loads
//! a shard, checks it with facts decided from the whole history (model,
//! workload, final reads) and takes the next; the findings are pooled in
//! shard order. Memory is bounded by one shard per thread (a few keys'
//! whole histories each), not by the file.
//!
//! Why this is exact: every check decides keys independently —
//! linearizability is compositional per key, and session guarantees,
//! convergence and staleness are per key — and a key's ops all land in one
//! shard. Ops keep their ids and lines, so reports are the same as when the
//! whole history is checked at once. Histories whose ops have no key (a
//! single register, bank transfers, multi-register txns) land in one shard:
//! no saving, but the same answer.

pub(crate) mod codec;

use crate::check::{check_part, CheckConfig, Counts, Facts, Part, Seen};
use crate::error::{CheckError, InputError, InputErrorKind};
use crate::history::pairing::{Slab, Step};
use crate::history::{EventTarget, Fault, History, ListShare, Op, Pairing, F};
use crate::model::ModelKind;
use crate::read::{self, NilRead, ReadOptions};
use crate::report::{CheckName, Report};
use crate::value::Value;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Most shards per file: each is an open file with a write buffer.
pub const MAX_SHARDS: usize = 256;
/// Input bytes per shard aimed at when choosing the count: a shard's ops
/// take roughly 1.5-2× their JSON size in memory, and one shard per thread
/// is in memory at once. Small enough that two (~30 MB) stay mostly in a
/// 32 MiB L3 cache while a key's ops are visited in turn (32 MiB shards
/// took more CPU time and memory: docs/performance.md).
pub const TARGET_SHARD_INPUT_BYTES: u64 = 8 << 20;
/// Write buffer per shard file.
const SHARD_BUFFER_BYTES: usize = 64 << 10;

/// How many shards suit an input of this size (at least 2).
pub fn shards_for(input_bytes: u64) -> usize {
    (input_bytes / TARGET_SHARD_INPUT_BYTES).clamp(2, MAX_SHARDS as u64) as usize
}

/// Where and how finely to shard.
#[derive(Clone, Debug)]
pub struct ShardOptions {
    /// Number of shard files, 1..=[`MAX_SHARDS`].
    pub shards: usize,
    /// Directory for the shard files (a fresh subdirectory is made in it and
    /// removed afterwards).
    pub dir: PathBuf,
}

/// Pass 1: pairs events and spills finished ops to shard files.
struct Spill {
    pairing: Pairing,
    /// The open ops: a finished one is encoded where it lies.
    slab: Slab,
    out: Out,
}

/// Where pass 1 writes finished ops, and what it keeps of them.
struct Out {
    files: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    ops_per_shard: Vec<u64>,
    faults: Vec<Fault>,
    /// The first op (lowest id) of each function: all that model and
    /// workload inference look at.
    first_of_f: BTreeMap<F, Op>,
    seen: Seen,
    scratch: Vec<u8>,
}

/// What pass 1 leaves: the shard files and the whole history's summary.
struct Spilled {
    paths: Vec<PathBuf>,
    ops_per_shard: Vec<u64>,
    faults: Vec<Fault>,
    facts: Facts,
    events: u64,
    ops: u64,
}

fn shard_of(key: &Option<Value>, shards: usize) -> usize {
    // FxHash: the same shard for the same key on every run, at a fraction
    // of SipHash's cost (this runs once per op on the reading thread).
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    // Mixed again (MurmurHash3's finaliser) so that runs of small integer
    // keys spread evenly over the shards.
    let mut x = h.finish();
    x = (x ^ (x >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % shards as u64) as usize
}

fn io_error(path: &Path, e: std::io::Error) -> InputError {
    InputError::new(&path.to_string_lossy(), 0, InputErrorKind::Io(format!("shard file: {e}")))
}

impl Spill {
    fn new(file: &str, dir: &Path, shards: usize) -> std::io::Result<Spill> {
        let mut files = Vec::with_capacity(shards);
        let mut paths = Vec::with_capacity(shards);
        for i in 0..shards {
            let p = dir.join(format!("shard-{i:03}"));
            files.push(BufWriter::with_capacity(SHARD_BUFFER_BYTES, File::create(&p)?));
            paths.push(p);
        }
        let out = Out {
            files,
            paths,
            ops_per_shard: vec![0; shards],
            faults: Vec::new(),
            first_of_f: BTreeMap::new(),
            seen: Seen::default(),
            scratch: Vec::new(),
        };
        Ok(Spill { pairing: Pairing::new(file), slab: Slab::default(), out })
    }
}

impl Out {
    fn spill(&mut self, op: &Op) -> Result<(), InputError> {
        let s = shard_of(&op.key, self.files.len());
        self.scratch.clear();
        codec::put_op(&mut self.scratch, op);
        self.files[s].write_all(&self.scratch).map_err(|e| io_error(&self.paths[s], e))?;
        self.ops_per_shard[s] += 1;
        self.seen.add(op);
        match self.first_of_f.get(&op.f) {
            Some(first) if first.id < op.id => {}
            _ => {
                self.first_of_f.insert(op.f.clone(), op.clone());
            }
        }
        Ok(())
    }
}

impl EventTarget for Spill {
    type Output = Spilled;

    fn push(&mut self, e: crate::history::Event) -> Result<(), InputError> {
        match self.pairing.push_to(e, &mut self.slab)? {
            Step::Opened => Ok(()),
            Step::Fault(f) => {
                self.out.faults.push(f);
                Ok(())
            }
            Step::Finished(slot) => self.out.spill(self.slab.release(slot)),
        }
    }

    fn finish(mut self) -> Result<Spilled, InputError> {
        self.pairing.finish_slots()?;
        let mut out = self.out;
        for op in &self.slab.into_open() {
            out.spill(op)?;
        }
        let events = self.pairing.events();
        for (f, p) in out.files.iter_mut().zip(&out.paths) {
            f.flush().map_err(|e| io_error(p, e))?;
        }
        let mut firsts: Vec<Op> = out.first_of_f.into_values().collect();
        firsts.sort_by_key(|o| o.id);
        let signature = History::shard_of(firsts, Vec::new(), events);
        let ops_total = out.ops_per_shard.iter().sum();
        Ok(Spilled {
            paths: out.paths,
            ops_per_shard: out.ops_per_shard,
            faults: out.faults,
            facts: Facts::of_summary(&signature, out.seen),
            events,
            ops: ops_total,
        })
    }
}

/// Pass 2, one load: the ops of these shards as a history (ids and lines as
/// in the file; list reads shared as when the whole file is read).
fn load(spilled: &Spilled, shards: &[usize]) -> Result<History, CheckError> {
    let n: u64 = shards.iter().map(|&s| spilled.ops_per_shard[s]).sum();
    let mut ops = Vec::with_capacity(n as usize);
    let mut lists = ListShare::default();
    for &s in shards {
        let path = &spilled.paths[s];
        let spill_err = |reason: String| CheckError::Spill { path: path.clone(), reason };
        let mut bytes = Vec::new();
        File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| spill_err(e.to_string()))?;
        let mut d = codec::Decoder::new(&bytes);
        while !d.at_end() {
            let op = d.op().map_err(spill_err)?;
            let index = ops.len();
            ops.push(lists.take(op, index));
        }
    }
    lists.finish(&mut ops);
    // Ops were spilled as they finished, nearly in id order. Sorting the ids
    // and then moving each op once into place costs far less than a sort
    // that moves the 200-byte ops themselves at every step.
    ops.sort_by_cached_key(|o| o.id);
    Ok(History::shard_of(ops, spilled.faults.clone(), spilled.events))
}

/// Which shards must be checked together: each alone, unless the model
/// judges the whole history as one object (then all at once).
fn groups(spilled: &Spilled, cfg: &CheckConfig) -> Vec<Vec<usize>> {
    let model = cfg.model.or(spilled.facts.model.as_ref().ok().copied());
    let wants_lin = cfg.checks.is_empty() || cfg.checks.contains(&CheckName::Linearizable);
    let nonempty = (0..spilled.paths.len()).filter(|&s| spilled.ops_per_shard[s] > 0);
    if wants_lin && model.is_some_and(|m: ModelKind| !m.splits_by_key()) {
        vec![nonempty.collect()]
    } else {
        nonempty.map(|s| vec![s]).collect()
    }
}

/// Checks a history file shard by shard; the report is the one
/// [`crate::check_path`] gives for the whole history (apart from
/// `elapsed_ms`).
pub(crate) fn check_path(
    path: &Path,
    read_opts: &ReadOptions,
    cfg: &CheckConfig,
    opts: &ShardOptions,
) -> Result<Report, CheckError> {
    let started = Instant::now();
    let name = path.to_string_lossy().to_string();
    let shards = opts.shards.clamp(1, MAX_SHARDS);
    let spill_error = |path: &Path, what: &str, e: std::io::Error| CheckError::Spill {
        path: path.to_path_buf(),
        reason: format!("cannot {what}: {e}"),
    };
    let dir = tempfile::Builder::new()
        .prefix("conch-shards-")
        .tempdir_in(&opts.dir)
        .map_err(|e| spill_error(&opts.dir, "make a shard directory", e))?;
    let spill = Spill::new(&name, dir.path(), shards).map_err(|e| spill_error(dir.path(), "create shard files", e))?;
    let (spilled, format) = read::read_path_into(path, read_opts, spill)?;
    let nil_read = cfg.nil_read.unwrap_or(format.default_nil_read());
    let part = check_spilled(&spilled, cfg, nil_read)?;
    let counts = Counts { events: spilled.events, ops: spilled.ops, faults: spilled.faults.len() as u64 };
    Ok(part.report(counts, started).with_source(&name, format))
}

fn check_spilled(spilled: &Spilled, cfg: &CheckConfig, nil_read: NilRead) -> Result<Part, CheckError> {
    let groups = groups(spilled, cfg);
    let mut whole = Part::default();
    if groups.is_empty() {
        // No ops at all (only faults): check the empty history as usual.
        let h = History::shard_of(Vec::new(), spilled.faults.clone(), spilled.events);
        return check_part(&h, cfg, &spilled.facts, nil_read);
    }
    // Each thread loads a shard and checks it, then takes the next: no
    // thread waits for another's load or check (a load-ahead on one core and
    // the check on the other left both a quarter idle), and at most one
    // shard per thread is in memory. Parts are merged in shard order, so
    // the report is the same whatever finished first.
    let parts: Vec<Result<Part, CheckError>> = groups
        .par_iter()
        .with_max_len(1)
        .map(|g| load(spilled, g).and_then(|h| check_part(&h, cfg, &spilled.facts, nil_read)))
        .collect();
    for part in parts {
        whole.merge(part?);
    }
    whole.seal();
    Ok(whole)
}
