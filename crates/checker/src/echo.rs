//! Echo (Maelstrom's first workload): every ok `echo` must return exactly the
//! payload it sent. Nothing else is owed: a failed or unanswered echo says
//! nothing about correctness.

use crate::anomalies::Capped;
use crate::error::{InputError, InputErrorKind};
use crate::history::{History, OpId, Outcome, F};
use crate::report::{Anomaly, AnomalyKind, CheckName, CheckResult, KeyResult, Method, OpRef};
use crate::value::Value;

/// Checks each key (Maelstrom's echo has none). Ops other than `echo` are
/// input errors naming their line.
pub fn check(h: &History, file: &str) -> Result<CheckResult, InputError> {
    let echo = F::parse("echo");
    if let Some(op) = h.ops.iter().find(|o| o.f != echo) {
        let kind = InputErrorKind::UnsupportedOp { model: "echo", f: op.f.to_string(), supported: "echo" };
        return Err(InputError::new(file, op.invoke_line, kind));
    }
    let keys = h.by_key().into_iter().map(|(k, ids)| check_key(h, k.cloned(), &ids)).collect();
    Ok(crate::anomalies::result(CheckName::Echo, "echo", keys))
}

fn check_key(h: &History, key: Option<Value>, ids: &[OpId]) -> KeyResult {
    let mut found = Capped::default();
    let mut ok = 0u64;
    for op in ids.iter().map(|&id| h.op(id)) {
        if op.outcome != Outcome::Ok {
            continue;
        }
        ok += 1;
        if op.output != op.input {
            found.push(Anomaly {
                kind: AnomalyKind::EchoMismatch,
                ops: vec![OpRef::new(op)],
                explanation: format!("{} sent {} but was answered {}", OpRef::new(op), op.input, op.output),
                detail: crate::anomalies::detail(serde_json::Value::Null),
            });
        }
    }
    found.key_result(
        key,
        Method::Workload(CheckName::Echo),
        ids.len() as u64,
        ok,
        "no echo was answered",
        serde_json::json!({ "ok": ok }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventType, Process};
    use crate::report::Verdict;

    fn history(pairs: &[(Value, EventType, Value)]) -> History {
        let mut events = Vec::new();
        for (i, (sent, kind, got)) in pairs.iter().enumerate() {
            let p = Process::Client(i as u64);
            events.push(Event::new(
                events.len() as u64 + 1,
                EventType::Invoke,
                p.clone(),
                F::parse("echo"),
                sent.clone(),
            ));
            events.push(Event::new(events.len() as u64 + 1, *kind, p, F::parse("echo"), got.clone()));
        }
        History::from_events("t", events).unwrap()
    }

    #[test]
    fn same_payload_valid_other_payload_invalid() {
        let h =
            history(&[(Value::str("a"), EventType::Ok, Value::str("a")), (Value::Int(1), EventType::Info, Value::Nil)]);
        assert_eq!(check(&h, "t").unwrap().verdict, Verdict::Valid);
        let h = history(&[(Value::str("a"), EventType::Ok, Value::str("b"))]);
        let r = check(&h, "t").unwrap();
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.keys[0].anomalies[0].kind.as_str(), "echo-mismatch");
        assert_eq!(r.keys[0].anomalies[0].ops[0].invoke_line, 1);
    }

    #[test]
    fn nothing_answered_is_unknown() {
        let h = history(&[(Value::str("a"), EventType::Fail, Value::Nil)]);
        assert_eq!(check(&h, "t").unwrap().verdict, Verdict::Unknown);
    }

    #[test]
    fn other_ops_are_input_errors() {
        let h =
            History::from_events("t", vec![Event::new(1, EventType::Invoke, Process::Client(0), F::Read, Value::Nil)])
                .unwrap();
        assert_eq!(check(&h, "h.jsonl").unwrap_err().line, 1);
    }
}
