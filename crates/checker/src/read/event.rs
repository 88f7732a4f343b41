//! Shared by all readers: turning EDN op maps into [`Event`]s, and the
//! [`Sink`] that feeds events to the [`HistoryBuilder`], applying the
//! jepsen.independent `[key value]` split when asked to (or when detected).

use super::packed::Packed;
use super::Independent;
use crate::error::{InputError, InputErrorKind};
use crate::history::{Event, EventTarget, EventType, Process, RawTxn, F};
use crate::value::Value;

pub(crate) use crate::value::quote;

/// The op fields the JSON readers know; one list for both (the
/// hand-written one in json.rs and the serde one in jsonl_serde.rs), so a
/// new field cannot reach one reader and not the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Type,
    Process,
    F,
    Key,
    Value,
    Time,
    Node,
    Final,
    Index,
}

impl Field {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Type => "type",
            Field::Process => "process",
            Field::F => "f",
            Field::Key => "key",
            Field::Value => "value",
            Field::Time => "time",
            Field::Node => "node",
            Field::Final => "final",
            Field::Index => "index",
        }
    }

    /// The field a JSON key names; `None` for any other (ignored) key.
    pub(crate) fn of_name(name: &[u8]) -> Option<Field> {
        Some(match name {
            b"type" => Field::Type,
            b"process" => Field::Process,
            b"f" => Field::F,
            b"key" => Field::Key,
            b"value" => Field::Value,
            b"time" => Field::Time,
            b"node" => Field::Node,
            b"final" => Field::Final,
            b"index" => Field::Index,
            _ => return None,
        })
    }
}

pub(crate) const TYPE_EXPECTED: &str = "invoke, ok, fail or info";
pub(crate) const PROCESS_EXPECTED: &str = "a non-negative integer below 2^63, :nemesis, or nil";

pub(crate) fn event_type(s: &str) -> Result<EventType, InputErrorKind> {
    EventType::parse(s).ok_or_else(|| InputErrorKind::UnknownType(s.to_string()))
}

pub(crate) fn op_name(s: &str) -> Result<F, InputErrorKind> {
    if s.is_empty() {
        return Err(InputErrorKind::BadField {
            field: "f",
            expected: "a non-empty operation name",
            found: "\"\"".into(),
        });
    }
    Ok(F::parse(s))
}

/// Which EDN flavour a map comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EdnFlavour {
    Jepsen,
    /// Porcupine kv: `:key` is required and `:f` is get, put or append.
    PorcupineKv,
}

/// Converts one EDN op map (keys already keyword-stripped) into an event.
/// A missing `:value` is nil, as it is for a Clojure map lookup; a missing
/// or nil `:process` is the anonymous process.
pub(crate) fn event_from_edn(
    map: Vec<(Value, Value)>,
    line: u64,
    flavour: EdnFlavour,
) -> Result<Event, InputErrorKind> {
    let mut kind = None;
    let mut process = None;
    let mut f = None;
    let mut key = None;
    let mut value = None;
    let mut time = None;
    let mut index = None;
    let mut node = None;
    let mut fin = None;
    for (k, v) in map {
        let Value::Str(k) = k else { continue };
        let (slot, name): (&mut Option<Value>, &'static str) = match &*k {
            "type" => (&mut kind, "type"),
            "process" => (&mut process, "process"),
            "f" => (&mut f, "f"),
            "key" => (&mut key, "key"),
            "value" => (&mut value, "value"),
            "time" => (&mut time, "time"),
            "index" => (&mut index, "index"),
            "node" => (&mut node, "node"),
            "final?" | "final" => (&mut fin, "final"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(InputErrorKind::Syntax {
                format: "EDN",
                expected: "each key at most once in an op map".into(),
                found: format!("a second :{name}"),
            });
        }
        *slot = Some(v);
    }
    let kind = match kind {
        None => return Err(InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED }),
        Some(Value::Str(s)) => event_type(&s)?,
        Some(v) => return Err(bad("type", "a keyword: :invoke, :ok, :fail or :info", &v)),
    };
    let process = match process {
        // Elle's hand-written histories leave the process out.
        None | Some(Value::Nil) => Process::Anonymous,
        Some(Value::Int(p)) if p >= 0 => Process::Client(p as u64),
        Some(Value::Str(s)) if &*s == "nemesis" => Process::Nemesis,
        Some(v) => return Err(bad("process", PROCESS_EXPECTED, &v)),
    };
    let value = value.unwrap_or(Value::Nil);
    let f = match f {
        None if looks_like_txn(&value) => F::Txn,
        None => return Err(InputErrorKind::MissingField { field: "f", expected: "the operation name, e.g. :read" }),
        Some(Value::Str(s)) => op_name(&s)?,
        Some(v) => return Err(bad("f", "a keyword naming the operation, e.g. :read", &v)),
    };
    let time_ns = match time {
        None | Some(Value::Nil) => None,
        Some(Value::Int(t)) => Some(t),
        Some(v) => return Err(bad("time", "an integer number of nanoseconds", &v)),
    };
    let index = match index {
        None | Some(Value::Nil) => None,
        Some(Value::Int(i)) if i >= 0 => Some(i as u64),
        Some(v) => return Err(bad("index", "a non-negative integer", &v)),
    };
    let node = match node {
        None | Some(Value::Nil) => None,
        Some(Value::Str(s)) => Some(s),
        Some(v) => return Err(bad("node", "a string or keyword naming a node", &v)),
    };
    let is_final = match fin {
        None | Some(Value::Nil) => false,
        Some(Value::Bool(b)) => b,
        Some(v) => return Err(bad("final", "true or false", &v)),
    };
    let key = key.filter(|k| !k.is_nil());
    if flavour == EdnFlavour::PorcupineKv && process != Process::Nemesis {
        if key.is_none() {
            return Err(InputErrorKind::MissingField { field: "key", expected: "the key of a porcupine kv op" });
        }
        if !matches!(f, F::Get | F::Put | F::Append) {
            return Err(InputErrorKind::BadField {
                field: "f",
                expected: "get, put or append (porcupine kv)",
                found: f.to_string(),
            });
        }
    }
    let mut e = Event::new(line, kind, process, f, value);
    e.key = key;
    e.time_ns = time_ns;
    e.index = index;
    e.node = node;
    e.is_final = is_final;
    Ok(e)
}

/// A transaction's value: a non-empty list of micro-ops, each a list
/// starting with its function (`[[:append :x 1] [:r :y nil]]`). Elle's
/// hand-written histories leave `:f` out of such ops; Elle reads every op
/// as a transaction, and so does conch when `:f` is missing.
pub(crate) fn looks_like_txn(v: &Value) -> bool {
    match v.as_list() {
        Some(mops) if !mops.is_empty() => {
            mops.iter().all(|m| m.as_list().is_some_and(|m| m.len() >= 2 && matches!(m[0], Value::Str(_))))
        }
        _ => false,
    }
}

fn bad(field: &'static str, expected: &'static str, found: &Value) -> InputErrorKind {
    InputErrorKind::BadField { field, expected, found: quote(found) }
}

/// Whether a client event's value looks like a jepsen.independent tuple
/// `[k v]`: a two-element vector whose key is an integer or string (keyword),
/// and, for cas, whose `v` is itself `[old new]` (so a plain cas history,
/// whose values are `[old new]`, is not mistaken for an independent one).
fn is_tuple(e: &Event) -> bool {
    match &e.value {
        Value::List(items) if items.len() == 2 => is_tuple_parts(e.f == F::Cas, &items[0], &items[1]),
        _ => false,
    }
}

/// [`is_tuple`] of a value `[k v]` given as its parts.
fn is_tuple_parts(cas: bool, k: &Value, v: &Value) -> bool {
    matches!(k, Value::Int(_) | Value::Str(_)) && (!cas || matches!(v, Value::List(v) if v.len() == 2))
}

fn split_tuple(e: &mut Event) {
    if let Value::List(items) = &mut e.value {
        let v = items.pop().unwrap_or_default();
        let k = items.pop().unwrap_or_default();
        e.key = Some(k);
        e.value = v;
    }
}

/// Undoes [`split_tuple`]: the value `[k v]` again, no key.
fn join_tuple(e: &mut Event) {
    let k = e.key.take().unwrap_or_default();
    let v = std::mem::take(&mut e.value);
    e.value = Value::List(vec![k, v]);
}

/// Feeds events to the builder, splitting `[k v]` values as configured.
///
/// With [`Independent::Auto`] the sink buffers events while every client
/// event so far (that has no explicit key) carries a tuple; the first one
/// that does not flushes the buffer unchanged and streaming resumes. Only an
/// all-tuple history stays buffered to the end, where it is split.
pub(crate) struct Sink<T: EventTarget> {
    builder: T,
    mode: Independent,
    /// `Some` while an `Auto` history still looks independent. Its client
    /// events are all tuples, kept split already (the key in `key`, the
    /// value in `value`): so they are split once, with no vector built for
    /// the fast path's tuples, and joined again only if a later event
    /// shows that the history is not independent.
    pending: Option<Packed>,
    /// Whether a client event is pending (else only nemesis events are).
    pending_client: bool,
    file: String,
}

impl<T: EventTarget> Sink<T> {
    pub(crate) fn new(file: &str, mode: Independent, target: T) -> Sink<T> {
        let pending = if mode == Independent::Auto { Some(Packed::default()) } else { None };
        Sink { builder: target, mode, pending, pending_client: false, file: file.to_string() }
    }

    #[inline]
    pub(crate) fn push(&mut self, e: Event) -> Result<(), InputError> {
        self.push_parts(e, None)
    }

    /// [`Sink::push`] of an event whose value, when `tuple` is given, is
    /// the list `[k v]` of its two parts (the event's own value is then
    /// ignored): as the EDN fast path reads a two-element `:value`.
    pub(crate) fn push_parts(&mut self, mut e: Event, tuple: Option<(Value, Value)>) -> Result<(), InputError> {
        let client_unkeyed = e.process != Process::Nemesis && e.key.is_none();
        let whole = |e: &mut Event, tuple: Option<(Value, Value)>| {
            if let Some((k, v)) = tuple {
                e.value = Value::List(vec![k, v]);
            }
        };
        let looks_tuple = |e: &Event, tuple: &Option<(Value, Value)>| match tuple {
            Some((k, v)) => is_tuple_parts(e.f == F::Cas, k, v),
            None => is_tuple(e),
        };
        let split = |e: &mut Event, tuple: Option<(Value, Value)>| match tuple {
            Some((k, v)) => {
                e.key = Some(k);
                e.value = v;
            }
            None => split_tuple(e),
        };
        match self.mode {
            Independent::No => {
                whole(&mut e, tuple);
                self.feed(e)
            }
            Independent::Yes => {
                if client_unkeyed {
                    if !looks_tuple(&e, &tuple) {
                        whole(&mut e, tuple);
                        let found = quote(&e.value);
                        let kind = InputErrorKind::BadField {
                            field: "value",
                            expected: "a [key value] tuple (independent history)",
                            found,
                        };
                        return Err(InputError::new(&self.file, e.line, kind));
                    }
                    split(&mut e, tuple);
                } else {
                    whole(&mut e, tuple);
                }
                self.feed(e)
            }
            Independent::Auto => {
                if self.pending.is_none() {
                    whole(&mut e, tuple);
                    return self.feed(e);
                }
                if !client_unkeyed && e.process != Process::Nemesis || client_unkeyed && !looks_tuple(&e, &tuple) {
                    self.flush_joined()?;
                    whole(&mut e, tuple);
                    return self.feed(e);
                }
                if e.process == Process::Nemesis {
                    whole(&mut e, tuple);
                } else {
                    split(&mut e, tuple);
                    self.pending_client = true;
                }
                if let Some(pending) = &mut self.pending {
                    pending.push(e);
                }
                Ok(())
            }
        }
    }

    /// Feeds the pending events as they were read (the history is not
    /// independent after all), and streams from now on.
    fn flush_joined(&mut self) -> Result<(), InputError> {
        for mut p in self.pending.take().unwrap_or_default().events() {
            if p.process != Process::Nemesis {
                join_tuple(&mut p);
            }
            self.feed(p)?;
        }
        Ok(())
    }

    #[inline]
    fn feed(&mut self, e: Event) -> Result<(), InputError> {
        self.builder.push(e)
    }

    /// Whether the target takes raw `txn` micro-ops ([`EventTarget::push_raw`]).
    pub(crate) fn wants_raw_txn(&self) -> bool {
        self.mode != Independent::Yes && self.builder.wants_raw_txn()
    }

    /// [`Sink::push`] of an event whose micro-ops may be raw. A raw txn is
    /// never a `[key value]` tuple (its value is a list of lists), so under
    /// `Auto` it ends the pending events as its value would.
    #[inline]
    pub(crate) fn push_raw(&mut self, mut e: Event, raw: Option<Box<RawTxn>>) -> Result<(), InputError> {
        let Some(raw) = raw else { return self.push(e) };
        if self.mode == Independent::Yes {
            e.value = raw.to_value();
            return self.push(e);
        }
        self.flush_joined()?;
        self.builder.push_raw(e, Some(raw))
    }

    /// True when the finished history was split as independent.
    pub(crate) fn finish(mut self) -> Result<(T::Output, bool), InputError> {
        let mut split = self.mode == Independent::Yes;
        if let Some(pending) = self.pending.take() {
            split = self.pending_client;
            // Client events are pending split already.
            for e in pending.events() {
                self.feed(e)?;
            }
        }
        Ok((self.builder.finish()?, split))
    }
}

/// At `s[i]`: an optional `-` and at most 18 ASCII digits (so never an
/// overflow), as the fast paths read integers: the value and where the
/// digits end. `None` when no digit comes or a 19th does; what may follow
/// is the caller's rule.
pub(crate) fn short_integer(s: &[u8], i: usize) -> Option<(i64, usize)> {
    let neg = s.get(i) == Some(&b'-');
    let start = i + neg as usize;
    let mut j = start;
    let mut m = 0i64;
    while let Some(&b) = s.get(j) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if j - start == 18 {
            return None;
        }
        m = m * 10 + d as i64;
        j += 1;
    }
    (j > start).then_some((if neg { -m } else { m }, j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::edn::parse_one;

    fn map(s: &str) -> Vec<(Value, Value)> {
        match parse_one(s, 64).unwrap() {
            Value::Map(m) => m.into_entries(),
            v => panic!("not a map: {v}"),
        }
    }

    fn ev(s: &str) -> Result<Event, InputErrorKind> {
        event_from_edn(map(s), 1, EdnFlavour::Jepsen)
    }

    #[test]
    fn jepsen_op_map_fields() {
        let e = ev(
            "{:type :ok, :f :read, :process 3, :value 5, :time 10, :index 2, :node \"n1\", :final? true, :error :x}",
        )
        .unwrap();
        assert_eq!(e.kind, EventType::Ok);
        assert_eq!(e.process, Process::Client(3));
        assert_eq!(e.f, F::Read);
        assert_eq!(e.value, Value::Int(5));
        assert_eq!((e.time_ns, e.index, e.node.as_deref(), e.is_final), (Some(10), Some(2), Some("n1"), true));
        let n = ev("{:type :info, :f :start, :process :nemesis}").unwrap();
        assert_eq!((n.process, n.value), (Process::Nemesis, Value::Nil));
    }

    #[test]
    fn jepsen_op_map_errors() {
        assert_eq!(
            ev("{:f :read, :process 1}").unwrap_err(),
            InputErrorKind::MissingField { field: "type", expected: TYPE_EXPECTED }
        );
        assert_eq!(
            ev("{:type :bogus, :f :read, :process 1}").unwrap_err(),
            InputErrorKind::UnknownType("bogus".into())
        );
        assert!(matches!(
            ev("{:type :ok, :f :read, :process \"abc\"}").unwrap_err(),
            InputErrorKind::BadField { field: "process", .. }
        ));
        assert!(matches!(
            ev("{:type :ok, :f :read, :process -1}").unwrap_err(),
            InputErrorKind::BadField { field: "process", .. }
        ));
        assert!(matches!(
            ev("{:type :ok, :f 3, :process 1}").unwrap_err(),
            InputErrorKind::BadField { field: "f", .. }
        ));
        assert!(matches!(
            ev("{:type :ok, :final? true, :final false, :f :read, :process 1}").unwrap_err(),
            InputErrorKind::Syntax { .. }
        ));
        assert!(matches!(
            event_from_edn(map("{:type :ok, :f :read, :process 1, :key \"k\"}"), 1, EdnFlavour::PorcupineKv)
                .unwrap_err(),
            InputErrorKind::BadField { field: "f", .. }
        ));
        assert!(matches!(
            event_from_edn(map("{:type :ok, :f :get, :process 1}"), 1, EdnFlavour::PorcupineKv).unwrap_err(),
            InputErrorKind::MissingField { field: "key", .. }
        ));
    }

    fn sink_run(mode: Independent, ops: &[&str]) -> Result<(crate::History, bool), InputError> {
        let mut s = Sink::new("t", mode, crate::history::HistoryBuilder::new("t"));
        for (i, o) in ops.iter().enumerate() {
            s.push(event_from_edn(map(o), i as u64 + 1, EdnFlavour::Jepsen).unwrap())?;
        }
        s.finish()
    }

    #[test]
    fn independent_auto_splits_only_all_tuple_histories() {
        let tuples = [
            "{:type :invoke, :f :write, :process 0, :value [1 5]}",
            "{:type :info, :f :kill, :process :nemesis, :value nil}",
            "{:type :ok, :f :write, :process 0, :value [1 5]}",
            "{:type :invoke, :f :cas, :process 0, :value [2 [5 6]]}",
            "{:type :fail, :f :cas, :process 0, :value [2 [5 6]]}",
            "{:type :invoke, :f :read, :process 1, :value [1 nil]}",
            "{:type :ok, :f :read, :process 1, :value [1 5]}",
        ];
        let (h, split) = sink_run(Independent::Auto, &tuples).unwrap();
        assert!(split);
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.ops[0].key, Some(Value::Int(1)));
        assert_eq!(h.ops[0].input, Value::Int(5));
        assert_eq!(h.ops[1].key, Some(Value::Int(2)));
        assert_eq!(h.ops[1].input, Value::List(vec![5.into(), 6.into()]));
        assert_eq!((h.ops[2].input.clone(), h.ops[2].output.clone()), (Value::Nil, Value::Int(5)));
        assert_eq!(h.faults.len(), 1);

        // One plain value anywhere: nothing is split.
        let mut mixed = tuples.to_vec();
        mixed.push("{:type :invoke, :f :write, :process 2, :value 7}");
        let (h, split) = sink_run(Independent::Auto, &mixed).unwrap();
        assert!(!split);
        assert!(h.ops.iter().all(|o| o.key.is_none()));
        assert_eq!(h.ops[0].input, Value::List(vec![1.into(), 5.into()]));

        // A plain cas register is not independent: [old new] values.
        let cas =
            ["{:type :invoke, :f :cas, :process 0, :value [1 2]}", "{:type :ok, :f :cas, :process 0, :value [1 2]}"];
        assert!(!sink_run(Independent::Auto, &cas).unwrap().1);
        // No overrides it; Yes forces it and names a misfit.
        assert!(!sink_run(Independent::No, &tuples).unwrap().1);
        assert!(sink_run(Independent::Yes, &tuples).unwrap().1);
        let err = sink_run(Independent::Yes, &mixed).unwrap_err();
        assert_eq!(err.line, 8);
        assert!(matches!(err.kind, InputErrorKind::BadField { field: "value", .. }));
    }

    #[test]
    fn completion_key_must_match_invoke() {
        let ops = [
            "{:type :invoke, :f :write, :process 0, :value [1 5]}",
            "{:type :ok, :f :write, :process 0, :value [2 5]}",
        ];
        for mode in [Independent::Auto, Independent::Yes] {
            let err = sink_run(mode, &ops).unwrap_err();
            assert_eq!(err.line, 2);
            assert!(
                matches!(&err.kind, InputErrorKind::BadField { field: "key", found, .. } if found.contains("line 1"))
            );
        }
        let keyed = [
            "{:type :invoke, :f :write, :process 0, :key \"a\", :value 5}",
            "{:type :ok, :f :write, :process 0, :key \"b\", :value 5}",
        ];
        assert!(matches!(
            sink_run(Independent::No, &keyed).unwrap_err().kind,
            InputErrorKind::BadField { field: "key", .. }
        ));
        // A completion may leave the key out.
        let bare = [
            "{:type :invoke, :f :write, :process 0, :key \"a\", :value 5}",
            "{:type :ok, :f :write, :process 0, :value 5}",
        ];
        assert_eq!(sink_run(Independent::No, &bare).unwrap().0.ops[0].key, Some(Value::str("a")));
    }

    #[test]
    fn auto_buffer_keeps_builder_errors_and_lines() {
        let ops = [
            "{:type :invoke, :f :write, :process 0, :value [1 5]}",
            "{:type :invoke, :f :write, :process 0, :value [1 6]}",
        ];
        let err = sink_run(Independent::Auto, &ops).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(matches!(err.kind, InputErrorKind::DoubleInvoke { process: 0, open_line: 1 }));
    }

    /// What [`short_integer`] gives: the value and where its digits end.
    type Integer = Option<(i64, usize)>;

    /// What [`short_integer`] reads, a digit at a time (its oracle).
    fn short_integer_by_digits(s: &[u8], i: usize) -> Option<(i64, usize)> {
        let neg = s.get(i) == Some(&b'-');
        let start = i + neg as usize;
        let digits = s.get(start..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 18 {
            return None;
        }
        let m: i64 = std::str::from_utf8(&s[start..start + digits]).ok()?.parse().ok()?;
        Some((if neg { -m } else { m }, start + digits))
    }

    #[test]
    fn short_integer_reads_up_to_18_digits_and_stops_at_each_byte() {
        let cases: &[(&[u8], Integer)] = &[
            (b"0", Some((0, 1))),
            (b"7}", Some((7, 1))),
            (b"-12345678,", Some((-12345678, 9))),
            (b"12345678", Some((12345678, 8))),
            (b"123456789}", Some((123456789, 9))),
            (b"999999999999999999", Some((999_999_999_999_999_999, 18))),
            (b"1000000000000000000", None),
            (b"-", None),
            (b"x1", None),
            (b"12:", Some((12, 2))),
            (b"12/", Some((12, 2))),
        ];
        for (s, want) in cases {
            assert_eq!(short_integer(s, 0), *want, "{}", String::from_utf8_lossy(s));
        }
        // Every byte value, after every count of digits, ends the number
        // exactly when it is not a digit.
        for digits in 0..12 {
            for b in 0..=255u8 {
                let mut s = b"98765432109".to_vec();
                s.truncate(digits);
                s.extend([b, b'1', b'}', 0xff, b'5', b'5', b'5', b'5', b'5']);
                assert_eq!(short_integer(&s, 0), short_integer_by_digits(&s, 0), "{s:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn short_integer_agrees_with_reading_digit_by_digit(
            s in proptest::collection::vec(proptest::prop_oneof![8 => 0x30u8..0x3a, 1 => proptest::prelude::any::<u8>()], 0..30),
            i in 0usize..4,
        ) {
            proptest::prop_assert_eq!(short_integer(&s, i), short_integer_by_digits(&s, i));
        }
    }
}
