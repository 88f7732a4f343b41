//! A compact notation for hand-written histories, one string per history:
//! events separated by `|`, each either
//!
//! - `P F V`: an op of process `P` invoked and completed ok at once (two
//!   events; a read's, get's or dequeue's `V` is its result and it is
//!   invoked with nil; anything else's `V` is its argument, on both), or
//! - `P TYPE F V`: one event, `TYPE` being `invoke`, `ok`, `fail` or `info`,
//!
//! optionally followed by `@K`, the op's key. `V` and `K` are JSON (`null`
//! for nil, `[1, 2]`), else a bare string. Event `n` (from 1) is line `n`.
//!
//! ```
//! let h = testkit::notation::hist("0 write 1 | 1 invoke write 2 | 2 read 1 | 1 info write 2");
//! assert_eq!(h.ops.len(), 3);
//! ```

use checker::history::{Event, EventType, History, Process, F};
use checker::value::Value;

/// The history `text` describes (see the module doc); panics on a typo,
/// naming the event.
pub fn hist(text: &str) -> History {
    History::from_events("hand", events(text)).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The events `text` describes.
pub fn events(text: &str) -> Vec<Event> {
    let mut evs = Vec::new();
    for event in text.split('|') {
        let mut words: Vec<&str> = event.split_whitespace().collect();
        let key = words.last().and_then(|w| w.strip_prefix('@')).map(value);
        if key.is_some() {
            words.pop();
        }
        let p = match words.first().map(|w| w.parse()) {
            Some(Ok(p)) => Process::Client(p),
            _ => panic!("{event:?}: expected a process number first"),
        };
        let mut push = |t: EventType, f: &str, v: Value| {
            let mut e = Event::new(evs.len() as u64 + 1, t, p.clone(), F::parse(f), v);
            e.key = key.clone();
            evs.push(e);
        };
        let explicit = words.get(1).and_then(|w| EventType::parse(w)).filter(|_| words.len() >= 4);
        match (explicit, &words[1..]) {
            (Some(t), [_, f, v @ ..]) => push(t, f, value(&v.join(" "))),
            (None, [f, v @ ..]) if !v.is_empty() => {
                let v = value(&v.join(" "));
                let reads = matches!(*f, "read" | "get" | "dequeue");
                push(EventType::Invoke, f, if reads { Value::Nil } else { v.clone() });
                push(EventType::Ok, f, v);
            }
            _ => panic!("{event:?}: expected `P F V` or `P TYPE F V`"),
        }
    }
    evs
}

/// JSON, else a bare string.
fn value(text: &str) -> Value {
    checker::read::parse_value(text).unwrap_or_else(|_| Value::str(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use checker::history::Outcome;

    #[test]
    fn atomic_ops_explicit_events_and_keys() {
        let h = hist(r#"0 write 1 | 1 invoke cas [1, 2] | 2 read 1 @"k" | 1 info cas [1,2] | 3 get "" | 4 put ab"#);
        assert_eq!(h.ops.len(), 5);
        let (w, cas, r, get, put) = (&h.ops[0], &h.ops[1], &h.ops[2], &h.ops[3], &h.ops[4]);
        assert_eq!((w.input.clone(), w.output.clone(), w.outcome), (Value::Int(1), Value::Int(1), Outcome::Ok));
        assert_eq!((cas.outcome, cas.invoke_line), (Outcome::Info, 3));
        assert_eq!(cas.input, Value::List(vec![1.into(), 2.into()]));
        assert_eq!(
            (r.input.clone(), r.output.clone(), r.key.clone()),
            (Value::Nil, Value::Int(1), Some(Value::str("k")))
        );
        assert_eq!(get.output, Value::str(""));
        assert_eq!(put.input, Value::str("ab"));
    }
}
