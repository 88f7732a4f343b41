//! Cerone et al.'s abstract executions, by brute force: a depth-first search
//! over arbitration orders (AR) of the ok transactions and any of the info
//! ones, placing one transaction at a time. A transaction can follow a
//! prefix under a model iff some visibility its model allows makes its reads
//! come out (see the module doc of [`super`]); everything it needs is in the
//! prefix, so a branch is cut as soon as no transaction can follow it. One
//! search decides all requested models, each branch carrying the set of
//! models still possible along it.

use super::history::{TxnOutcome, Val};
use super::prep::{bits, install, Mask, Prep};
use super::{Decision, Method, Model, OracleError, MAX_SEARCH_NODES, MAX_TXNS};

/// The models this search decides, as bit positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Am {
    Ser,
    Strict,
    SessionSer,
    Si,
    StrongSi,
    SessionSi,
    Ra,
    Causal,
}

const AMS: [Am; 8] = [Am::Ser, Am::Strict, Am::SessionSer, Am::Si, Am::StrongSi, Am::SessionSi, Am::Ra, Am::Causal];

impl Am {
    fn of(m: Model) -> Option<Am> {
        Some(match m {
            Model::Serializable => Am::Ser,
            Model::StrictSerializable => Am::Strict,
            Model::StrongSessionSerializable => Am::SessionSer,
            Model::SnapshotIsolation => Am::Si,
            Model::StrongSnapshotIsolation => Am::StrongSi,
            Model::StrongSessionSnapshotIsolation => Am::SessionSi,
            Model::ReadAtomic => Am::Ra,
            Model::Causal => Am::Causal,
            _ => return None,
        })
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// Why a transaction cannot come next (or ever).
#[derive(Clone, Debug)]
enum Why {
    /// Its reads contradict its own earlier micro-ops (INT).
    Internal {
        mop: usize,
        expected: Option<Vec<Val>>,
    },
    /// It reads a value of `key` that no transaction wrote.
    Garbage {
        key: usize,
        value: Val,
    },
    /// It reads a value that a failed transaction wrote (G1a).
    Aborted {
        key: usize,
        writer: usize,
    },
    /// It reads a value its writer overwrote (G1b).
    Intermediate {
        key: usize,
        writer: usize,
    },
    /// It reads its own write before making it.
    Future {
        key: usize,
    },
    /// It reads a list holding a value twice.
    Duplicate {
        key: usize,
    },
    /// The version of `key` it would see is `have`, not what it read.
    Mismatch {
        key: usize,
        have: Vec<Val>,
    },
    /// The writer of what it read of `key` is not in the prefix.
    NotYet {
        key: usize,
        writer: usize,
    },
    RealTime {
        pred: usize,
    },
    Process {
        pred: usize,
    },
    /// No snapshot at or after position `lo` gives its reads.
    NoSnapshot {
        lo: usize,
    },
    /// Its version of `key` must precede `after`'s (nil: `None`), which is
    /// already placed, because of a key assumption (`why`).
    KeyOrder {
        why: String,
        key: usize,
        after: Option<usize>,
    },
    /// It must see `hidden` (directly or transitively) yet missed its write.
    Fractured {
        hidden: usize,
    },
}

/// What a model chose for a placed transaction: a snapshot length (SI) or a
/// visible set (read-atomic, causal).
type Choice = u32;

struct Stuck {
    prefix: Vec<usize>,
    blocked: Vec<(usize, Why)>,
}

struct Search<'a, 'h> {
    p: &'a Prep<'h>,
    wanted: u16,
    found: [Option<(Vec<usize>, Vec<Choice>)>; 8],
    stuck: [Option<Stuck>; 8],
    nodes: u64,
    order: Vec<usize>,
    pos: [usize; MAX_TXNS],
    placed: Mask,
    /// Per dense key: (writer, the version it installed), in AR order.
    chains: Vec<Vec<(usize, Vec<Val>)>>,
    /// Per model, per transaction: what it chose when placed.
    choice: [[Choice; MAX_TXNS]; 8],
    /// Candidates in invoke order: ok and info transactions.
    candidates: Vec<usize>,
}

/// A reason no order can ever place `t`, from its reads alone.
fn never(p: &Prep, t: usize) -> Option<Why> {
    let ext = match &p.ext[t] {
        Err(v) => return Some(Why::Internal { mop: v.mop, expected: v.expected.clone() }),
        Ok(ext) => ext,
    };
    for (k, e) in ext {
        let k = *k;
        for (i, v) in e.iter().enumerate() {
            if e[..i].contains(v) {
                return Some(Why::Duplicate { key: k });
            }
            match p.writer.get(&(k, *v)) {
                None => return Some(Why::Garbage { key: k, value: *v }),
                Some(w) if w.txn == t => return Some(Why::Future { key: k }),
                Some(w) if p.outcome[w.txn] == TxnOutcome::Fail => return Some(Why::Aborted { key: k, writer: w.txn }),
                Some(_) => {}
            }
        }
        if let Some(last) = e.last() {
            let w = p.writer[&(k, *last)];
            if !w.last {
                return Some(Why::Intermediate { key: k, writer: w.txn });
            }
        }
    }
    None
}

impl<'a, 'h> Search<'a, 'h> {
    fn new(p: &'a Prep<'h>, wanted: u16) -> Self {
        let mut candidates: Vec<usize> = (0..p.n).filter(|&t| p.outcome[t] != TxnOutcome::Fail).collect();
        candidates.sort_by_key(|&t| p.h.txns[t].invoke_at);
        Search {
            p,
            wanted,
            found: Default::default(),
            stuck: Default::default(),
            nodes: 0,
            order: Vec::new(),
            pos: [usize::MAX; MAX_TXNS],
            placed: 0,
            chains: vec![Vec::new(); p.keys.len()],
            choice: [[0; MAX_TXNS]; 8],
            candidates,
        }
    }

    fn placed_has(&self, m: Mask) -> Result<(), usize> {
        match m & !self.placed {
            0 => Ok(()),
            missing => Err(missing.trailing_zeros() as usize),
        }
    }

    /// The version of `k` seen by a snapshot of the first `s` placed transactions.
    fn version_at(&self, k: usize, s: usize) -> &[Val] {
        self.chains[k].iter().rev().find(|(w, _)| self.pos[*w] < s).map_or(&[], |(_, v)| v)
    }

    fn check(&self, t: usize, m: Am) -> Result<Choice, Why> {
        let p = self.p;
        // AR restricted to a key's writers is its version order.
        if let Some(c) = super::keys::breaks(&p.key_order, t, self.placed) {
            return Err(Why::KeyOrder { why: c.why.clone(), key: c.key, after: c.after });
        }
        let ext = p.ext[t].as_ref().map_err(|v| Why::Internal { mop: v.mop, expected: v.expected.clone() })?;
        let here = self.order.len();
        match m {
            Am::Ser | Am::Strict | Am::SessionSer => {
                if m == Am::Strict {
                    self.placed_has(p.rt_pred[t]).map_err(|pred| Why::RealTime { pred })?;
                }
                if m == Am::SessionSer {
                    self.placed_has(p.po_pred[t]).map_err(|pred| Why::Process { pred })?;
                }
                for (k, e) in ext {
                    let have = self.version_at(*k, here);
                    if have != &e[..] {
                        return Err(Why::Mismatch { key: *k, have: have.to_vec() });
                    }
                }
                Ok(here as Choice)
            }
            Am::Si | Am::StrongSi | Am::SessionSi => {
                // First committer wins: every earlier writer of a key `t`
                // writes must have committed before `t` started.
                let mut lo = 0;
                for w in bits(self.placed) {
                    if p.write_keys[w] & p.write_keys[t] != 0 {
                        lo = lo.max(self.pos[w] + 1);
                    }
                }
                let (preds, why): (Mask, fn(usize) -> Why) = match m {
                    Am::StrongSi => (p.rt_pred[t], |pred| Why::RealTime { pred }),
                    Am::SessionSi => (p.po_pred[t], |pred| Why::Process { pred }),
                    _ => (0, |pred| Why::RealTime { pred }),
                };
                self.placed_has(preds).map_err(why)?;
                for w in bits(preds) {
                    lo = lo.max(self.pos[w] + 1);
                }
                for s in (lo..=here).rev() {
                    if ext.iter().all(|(k, e)| self.version_at(*k, s) == &e[..]) {
                        return Ok(s as Choice);
                    }
                }
                Err(Why::NoSnapshot { lo })
            }
            Am::Ra | Am::Causal => {
                // The least visibility: the writers its reads name.
                let mut required: Mask = 0;
                let mut forbidden: Mask = 0;
                for (k, e) in ext {
                    let chain = &self.chains[*k];
                    let Some(last) = e.last() else {
                        for (w, _) in chain {
                            forbidden |= 1 << w;
                        }
                        continue;
                    };
                    let w = p.writer[&(*k, *last)].txn;
                    let Some(i) = chain.iter().position(|(x, _)| *x == w) else {
                        return Err(Why::NotYet { key: *k, writer: w });
                    };
                    if chain[i].1 != *e {
                        return Err(Why::Mismatch { key: *k, have: chain[i].1.clone() });
                    }
                    required |= 1 << w;
                    for (x, _) in &chain[i + 1..] {
                        forbidden |= 1 << x;
                    }
                }
                let mut vis = required;
                if m == Am::Causal {
                    for w in bits(required) {
                        vis |= self.choice[Am::Causal as usize][w];
                    }
                }
                match vis & forbidden {
                    0 => Ok(vis),
                    clash => Err(Why::Fractured { hidden: clash.trailing_zeros() as usize }),
                }
            }
        }
    }

    fn place(&mut self, t: usize, choices: &[Choice; 8]) {
        self.pos[t] = self.order.len();
        self.order.push(t);
        self.placed |= 1 << t;
        for (m, &c) in choices.iter().enumerate() {
            self.choice[m][t] = c;
        }
        for (k, ws) in &self.p.writes[t] {
            let prev = self.chains[*k].last().map_or(&[][..], |(_, v)| v);
            let v = install(self.p.workload, prev, ws);
            self.chains[*k].push((t, v));
        }
    }

    fn unplace(&mut self, t: usize) {
        for (k, _) in &self.p.writes[t] {
            self.chains[*k].pop();
        }
        self.placed &= !(1 << t);
        self.order.pop();
        self.pos[t] = usize::MAX;
    }

    fn dfs(&mut self, alive: u16) -> Result<(), OracleError> {
        self.nodes += 1;
        if self.nodes > MAX_SEARCH_NODES {
            return Err(OracleError::TooLarge {
                what: "search nodes",
                found: self.nodes as usize,
                limit: MAX_SEARCH_NODES as usize,
            });
        }
        if self.placed & self.p.ok == self.p.ok {
            for m in AMS {
                if alive & self.wanted & m.bit() != 0 {
                    let choices = self.order.iter().map(|&t| self.choice[m as usize][t]).collect();
                    self.found[m as usize] = Some((self.order.clone(), choices));
                }
            }
            self.wanted &= !alive;
            // Placing more info transactions cannot help a model already met.
            return Ok(());
        }
        let mut reached: u16 = 0;
        for ci in 0..self.candidates.len() {
            let t = self.candidates[ci];
            if alive & self.wanted == 0 {
                return Ok(());
            }
            if self.placed & (1 << t) != 0 {
                continue;
            }
            let mut child = 0u16;
            let mut choices = [0 as Choice; 8];
            for m in AMS {
                if alive & self.wanted & m.bit() != 0 {
                    if let Ok(c) = self.check(t, m) {
                        child |= m.bit();
                        choices[m as usize] = c;
                    }
                }
            }
            if child != 0 {
                reached |= child;
                self.place(t, &choices);
                let r = self.dfs(child);
                self.unplace(t);
                r?;
            }
        }
        for m in AMS {
            let dead_end = alive & self.wanted & !reached & m.bit() != 0;
            let deeper = self.stuck[m as usize].as_ref().is_none_or(|s| s.prefix.len() < self.order.len());
            if dead_end && deeper {
                let blocked = self
                    .candidates
                    .iter()
                    .filter(|&&t| self.placed & (1 << t) == 0 && self.p.outcome[t] == TxnOutcome::Ok)
                    .filter_map(|&t| self.check(t, m).err().map(|w| (t, w)))
                    .collect();
                self.stuck[m as usize] = Some(Stuck { prefix: self.order.clone(), blocked });
            }
        }
        Ok(())
    }
}

fn names(ts: impl IntoIterator<Item = usize>) -> String {
    let v: Vec<String> = ts.into_iter().map(|t| format!("T{t}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(" ")
    }
}

fn show_why(p: &Prep, t: usize, why: &Why) -> String {
    let k = |k: &usize| p.key_name(*k);
    match why {
        Why::Internal { mop, expected } => {
            let want = match expected {
                Some(x) => format!("should return {}", p.show(x)),
                None => "should end with its own appends".into(),
            };
            format!("T{t}'s {} {want} given its earlier micro-ops (internal)", p.h.txns[t].mops[*mop])
        }
        Why::Garbage { key, value } => format!("T{t} reads {value} in key {}, which no transaction wrote", k(key)),
        Why::Aborted { key, writer } => {
            format!("T{t} reads key {}'s value written by T{writer}, which failed (G1a)", k(key))
        }
        Why::Intermediate { key, writer } => {
            format!("T{t} reads a version of key {} that T{writer} overwrote (G1b)", k(key))
        }
        Why::Future { key } => format!("T{t} reads its own write to key {} before making it", k(key)),
        Why::Duplicate { key } => format!("T{t} reads key {} holding a value twice", k(key)),
        Why::Mismatch { key, have } => {
            format!("T{t} would see key {} = {}, not what it read", k(key), p.show(have))
        }
        Why::NotYet { key, writer } => format!("T{t} reads key {} from T{writer}, which is not yet committed", k(key)),
        Why::RealTime { pred } => format!("T{t} must follow T{pred}, which completed before T{t} began"),
        Why::Process { pred } => format!("T{t} must follow T{pred}, earlier in its process"),
        Why::NoSnapshot { lo } => format!(
            "no snapshot of T{t} from position {lo} on (the earliest that first-committer-wins and the \
             transactions it must see allow) gives its reads"
        ),
        Why::KeyOrder { why, key, after } => {
            let after = after.map_or("the initial nil".to_string(), |a| format!("T{a}'s, placed earlier"));
            format!("T{t}'s version of key {} must precede {after} ({why})", k(key))
        }
        Why::Fractured { hidden } => format!(
            "T{t} must see T{hidden} (directly or through what it saw) but misses T{hidden}'s write to a key it read"
        ),
    }
}

/// Decides `models` (those this search knows; others are ignored).
pub(crate) fn decide(p: &Prep, models: &[Model]) -> Result<Vec<Decision>, OracleError> {
    let wanted: u16 = models.iter().filter_map(|&m| Am::of(m)).fold(0, |w, m| w | m.bit());
    let mut out = Vec::new();
    let decision = |model, allowed, explanation| Decision { model, method: Method::Arbitration, allowed, explanation };
    // A transaction no order can place rules out every model at once.
    if let Some((t, why)) =
        (0..p.n).filter(|&t| p.outcome[t] == TxnOutcome::Ok).find_map(|t| never(p, t).map(|w| (t, w)))
    {
        let reason = format!("no order can include T{t}: {}", show_why(p, t, &why));
        for &m in models {
            if Am::of(m).is_some() {
                out.push(decision(m, false, reason.clone()));
            }
        }
        return Ok(out);
    }
    let mut s = Search::new(p, wanted);
    s.dfs(wanted)?;
    let info = |order: &[usize]| {
        let (inn, out): (Vec<usize>, Vec<usize>) = bits(p.info).partition(|t| order.contains(t));
        match (inn.is_empty(), out.is_empty()) {
            (true, true) => String::new(),
            _ => format!("; info committed: {}; info not committed: {}", names(inn), names(out)),
        }
    };
    for &model in models {
        let Some(m) = Am::of(model) else { continue };
        let explanation = match &s.found[m as usize] {
            Some((order, choices)) => {
                let body = match m {
                    Am::Ser | Am::Strict | Am::SessionSer => format!("serial order {}", names(order.iter().copied())),
                    Am::Si | Am::StrongSi | Am::SessionSi => {
                        let snaps: Vec<String> = order
                            .iter()
                            .zip(choices)
                            .map(|(t, &c)| format!("T{t} sees {}", names(order[..c as usize].iter().copied())))
                            .collect();
                        format!("commit order {}; snapshots: {}", names(order.iter().copied()), snaps.join(", "))
                    }
                    Am::Ra | Am::Causal => {
                        let vis: Vec<String> =
                            order.iter().zip(choices).map(|(t, &c)| format!("T{t} sees {}", names(bits(c)))).collect();
                        format!("arbitration {}; visibility: {}", names(order.iter().copied()), vis.join(", "))
                    }
                };
                out.push(decision(model, true, format!("{body}{}", info(order))));
                continue;
            }
            None => match &s.stuck[m as usize] {
                Some(st) => {
                    let blocked: Vec<String> = st.blocked.iter().map(|(t, w)| show_why(p, *t, w)).collect();
                    format!(
                        "no order of the committed transactions works; the longest prefix, {}, cannot be extended: {}",
                        names(st.prefix.iter().copied()),
                        blocked.join("; ")
                    )
                }
                None => "no order of the committed transactions works".into(),
            },
        };
        out.push(decision(model, false, explanation));
    }
    Ok(out)
}
