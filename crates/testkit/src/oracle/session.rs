//! A brute-force oracle for the register session guarantees, written from
//! the definitions (Terry et al. 1994) as the session module states them:
//! every "version a precedes version b" constraint each guarantee imposes
//! (all earlier/later pairs, not the checker's reduced edges), and a search
//! over every order of the key's versions for one that satisfies them all.
//! Exponential in the number of versions: meant for a handful. Versions are
//! values, so it needs unique written values and no written nil; the full
//! oracle (repeated values, written nil) is the differential tests' in
//! `crates/checker/tests/oracles`.

use checker::history::{History, Outcome, F};
use checker::report::CheckName;
use checker::value::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Whether one order of the versions of `h` (one register key) satisfies
/// every constraint of the `wanted` checks together.
pub fn satisfiable_together(h: &History, wanted: &[CheckName]) -> bool {
    let c = constraints(h);
    satisfiable(&c.versions, &required(&c, wanted))
}

/// What one op on the key did, as the oracle sees it: the value it read (ok
/// reads, ok cas, and an info cas whose write some op read: it happened),
/// the value it wrote (non-failed writes and cas), whether
/// the write is acknowledged, and the cas fact (old, new) if any.
struct Step {
    read: Option<Value>,
    wrote: Option<Value>,
    ok: bool,
    cas: Option<(Value, Value)>,
}

fn steps(h: &History) -> Vec<Vec<Step>> {
    // Values some op read: an info cas happened (and read its old value)
    // iff its new value is among them.
    let mut returned: BTreeSet<Value> = BTreeSet::new();
    loop {
        let before = returned.len();
        for op in h.ops.iter().filter(|o| o.outcome != Outcome::Fail) {
            match (&op.f, op.outcome) {
                (F::Read, Outcome::Ok) => {
                    returned.insert(op.output.clone());
                }
                (F::Cas, o) => {
                    let p = op.input.as_seq().unwrap();
                    if o == Outcome::Ok || returned.contains(&p[1]) {
                        returned.insert(p[0].clone());
                    }
                }
                _ => {}
            }
        }
        if returned.len() == before {
            break;
        }
    }
    let mut by: BTreeMap<u64, Vec<Step>> = BTreeMap::new();
    for op in &h.ops {
        if op.outcome == Outcome::Fail {
            continue;
        }
        let ok = op.outcome == Outcome::Ok;
        let s = match op.f {
            F::Read => Step { read: ok.then(|| op.output.clone()), wrote: None, ok, cas: None },
            F::Write => Step { read: None, wrote: Some(op.input.clone()), ok, cas: None },
            F::Cas => {
                let p = op.input.as_seq().unwrap();
                Step {
                    read: (ok || returned.contains(&p[1])).then(|| p[0].clone()),
                    wrote: Some(p[1].clone()),
                    ok,
                    cas: Some((p[0].clone(), p[1].clone())),
                }
            }
            _ => unreachable!(),
        };
        by.entry(op.process).or_default().push(s);
    }
    by.into_values().collect()
}

/// Every constraint "a precedes b" each guarantee imposes, written from the
/// definitions (all earlier/later pairs, not the checker's reduced edges).
pub struct Constraints {
    pub facts: Vec<(Value, Value)>,
    /// Successive reads of a session (monotonic reads' own constraints).
    pub observed: Vec<(Value, Value)>,
    pub ryw: Vec<(Value, Value)>,
    pub mw: Vec<(Value, Value)>,
    pub wfr: Vec<(Value, Value)>,
    pub versions: Vec<Value>,
}

pub fn constraints(h: &History) -> Constraints {
    let mut c = Constraints { facts: vec![], observed: vec![], ryw: vec![], mw: vec![], wfr: vec![], versions: vec![] };
    let mut versions: BTreeSet<Value> = BTreeSet::new();
    let mut nil_seen = false;
    for sess in steps(h) {
        let mut last_read: Option<&Value> = None;
        for (i, s) in sess.iter().enumerate() {
            for x in s.read.iter().chain(&s.wrote) {
                versions.insert(x.clone());
            }
            if let Some((old, new)) = &s.cas {
                versions.insert(old.clone());
                nil_seen |= old.is_nil();
                c.facts.push((old.clone(), new.clone()));
            }
            if let Some(r) = &s.read {
                nil_seen |= r.is_nil();
                if let Some(p) = last_read {
                    c.observed.push((p.clone(), r.clone()));
                }
                last_read = Some(r);
                for e in &sess[..i] {
                    if let (Some(w), true) = (&e.wrote, e.ok) {
                        c.ryw.push((w.clone(), r.clone()));
                    }
                }
            }
            if let Some(w) = &s.wrote {
                // Earlier ops' reads (a cas's own read is its fact).
                for e in &sess[..i] {
                    if let Some(r) = &e.read {
                        c.wfr.push((r.clone(), w.clone()));
                    }
                }
                for e in &sess[..i] {
                    if let (Some(u), true) = (&e.wrote, e.ok) {
                        c.mw.push((u.clone(), w.clone()));
                    }
                }
            }
        }
    }
    if nil_seen {
        for v in &versions {
            c.facts.push((Value::Nil, v.clone()));
        }
    }
    c.versions = versions.into_iter().collect();
    c
}

/// The constraints the `wanted` checks impose on one version order, as the
/// session module defines them: facts and each wanted check's own
/// constraints (monotonic reads' are the sessions' successive reads). A
/// non-strict constraint of a version on itself holds; a strict one
/// (writes-follow-reads: a session read the value it only later wrote)
/// cannot, and stays in to make the set unsatisfiable.
pub fn required(c: &Constraints, wanted: &[CheckName]) -> Vec<(Value, Value)> {
    // The initial value precedes every other version (not itself).
    let mut req: Vec<(Value, Value)> = c.facts.iter().filter(|(a, b)| a != b).cloned().collect();
    for (check, own, strict) in [
        (CheckName::MonotonicReads, &c.observed, false),
        (CheckName::ReadYourWrites, &c.ryw, false),
        (CheckName::MonotonicWrites, &c.mw, true),
        (CheckName::WritesFollowReads, &c.wfr, true),
    ] {
        if wanted.contains(&check) {
            req.extend(own.iter().filter(|(a, b)| strict || a != b).cloned());
        }
    }
    req
}

/// Some single order of the versions satisfies every constraint: tries every
/// permutation (Heap's algorithm).
pub fn satisfiable(versions: &[Value], req: &[(Value, Value)]) -> bool {
    let idx = |x: &Value| versions.iter().position(|v| v == x).unwrap();
    let req: Vec<(usize, usize)> = req.iter().map(|(a, b)| (idx(a), idx(b))).collect();
    let n = versions.len();
    let mut perm: Vec<usize> = (0..n).collect();
    let ok = |perm: &[usize]| {
        let mut pos = vec![0; n];
        for (i, &v) in perm.iter().enumerate() {
            pos[v] = i;
        }
        req.iter().all(|&(a, b)| pos[a] < pos[b])
    };
    if ok(&perm) {
        return true;
    }
    let mut stack = vec![0usize; n];
    let mut i = 1;
    while i < n {
        if stack[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(stack[i], i);
            }
            if ok(&perm) {
                return true;
            }
            stack[i] += 1;
            i = 1;
        } else {
            stack[i] = 0;
            i += 1;
        }
    }
    false
}
