//! Unique ids (Maelstrom's unique-ids workload): every ok `generate` returns
//! an id, and no two ok generates return the same one. Ids may be any value;
//! they compare as values (so `1` and `"1"` differ).

use crate::anomalies::Capped;
use crate::error::{InputError, InputErrorKind};
use crate::history::{History, OpId, Outcome, F};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, Method, OpRef};
use crate::value::Value;
use std::collections::HashMap;

/// Ops named in one duplicate-id anomaly.
const OPS_NAMED: usize = 5;

/// Checks each key (Maelstrom's ids have none: distinct over the whole
/// history). Ops other than `generate`, and an ok generate without an id,
/// are input errors naming their line.
pub fn check(h: &History, file: &str) -> Result<CheckResult, InputError> {
    let generate = F::parse("generate");
    for op in &h.ops {
        if op.f != generate {
            let kind =
                InputErrorKind::UnsupportedOp { model: "unique-ids", f: op.f.to_string(), supported: "generate" };
            return Err(InputError::new(file, op.invoke_line, kind));
        }
        if op.outcome != Outcome::Ok {
            continue;
        }
        if op.output.is_nil() {
            let kind = InputErrorKind::BadValue {
                model: "unique-ids",
                f: "generate".into(),
                expected: "the id generated (not null)",
                found: "null".into(),
            };
            return Err(InputError::new(file, op.complete_line.unwrap_or(op.invoke_line), kind));
        }
    }
    let keys = h.by_key().into_iter().map(|(k, ids)| check_key(h, k.cloned(), &ids)).collect();
    Ok(crate::anomalies::result(CheckName::UniqueIds, "unique-ids", keys))
}

fn check_key(h: &History, key: Option<Value>, ids: &[OpId]) -> KeyResult {
    let mut by_id: HashMap<&Value, Vec<OpId>> = HashMap::new();
    let mut ok = 0u64;
    for op in ids.iter().map(|&id| h.op(id)).filter(|o| o.outcome == Outcome::Ok) {
        ok += 1;
        by_id.entry(&op.output).or_default().push(op.id);
    }
    // In the order of each duplicate's first op, so reports are stable.
    let mut dups: Vec<(&Value, Vec<OpId>)> = by_id.into_iter().filter(|(_, ids)| ids.len() > 1).collect();
    dups.sort_by_key(|(_, ids)| ids[0]);
    let mut found = Capped::default();
    let duplicated_ids = dups.len();
    for (id, ops) in dups {
        let refs: Vec<OpRef> = ops.iter().take(OPS_NAMED).map(|&o| OpRef::of(h, o)).collect();
        let explanation = format!(
            "id {id} was generated {} times: {}",
            ops.len(),
            refs.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; ")
        );
        found.push(Anomaly {
            kind: AnomalyKind::DuplicateId,
            ops: refs,
            explanation,
            detail: crate::anomalies::detail(serde_json::json!({ "id": id, "times": ops.len() })),
        });
    }
    let stats = serde_json::json!({ "ok": ok, "duplicated_ids": duplicated_ids });
    found.key_result(key, Method::Workload(CheckName::UniqueIds), ids.len() as u64, ok, "no id was generated", stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventType, Process};
    use crate::report::Verdict;
    use proptest::prelude::*;

    fn history(ids: &[Option<i64>]) -> History {
        let mut events = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let p = Process::Client(i as u64);
            let g = F::parse("generate");
            events.push(Event::new(events.len() as u64 + 1, EventType::Invoke, p.clone(), g.clone(), Value::Nil));
            let (kind, v) = match id {
                Some(x) => (EventType::Ok, Value::Int(*x)),
                None => (EventType::Info, Value::Nil),
            };
            events.push(Event::new(events.len() as u64 + 1, kind, p, g, v));
        }
        History::from_events("t", events).unwrap()
    }

    #[test]
    fn distinct_valid_repeated_invalid() {
        assert_eq!(check(&history(&[Some(1), Some(2), None]), "t").unwrap().verdict, Verdict::Valid);
        let r = check(&history(&[Some(1), Some(2), Some(1)]), "t").unwrap();
        assert_eq!(r.verdict, Verdict::Invalid);
        let a = &r.keys[0].anomalies[0];
        assert_eq!(a.kind.as_str(), "duplicate-id");
        assert_eq!(a.ops.iter().map(|o| o.invoke_line).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(check(&history(&[None]), "t").unwrap().verdict, Verdict::Unknown);
    }

    proptest! {
        /// Against pairwise comparison.
        #[test]
        fn duplicates_found_exactly(ids in prop::collection::vec(prop::option::of(0i64..8), 1..20)) {
            let r = check(&history(&ids), "t").unwrap();
            let oks: Vec<i64> = ids.iter().flatten().copied().collect();
            let dup = (0..oks.len()).any(|i| (0..i).any(|j| oks[i] == oks[j]));
            let expect = if dup { Verdict::Invalid } else if oks.is_empty() { Verdict::Unknown } else { Verdict::Valid };
            prop_assert_eq!(r.verdict, expect);
            let mut distinct_dups: Vec<i64> = oks.iter().copied().filter(|x| oks.iter().filter(|y| *y == x).count() > 1).collect();
            distinct_dups.sort();
            distinct_dups.dedup();
            prop_assert_eq!(r.keys[0].stats.figure("duplicated_ids").as_u64().unwrap() as usize, distinct_dups.len());
        }
    }
}
