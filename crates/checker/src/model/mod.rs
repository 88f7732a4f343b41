//! Sequential models: what each operation does to an object's state, one
//! small file per model (the register with and without cas share one, the
//! three collections another), and the registry that names them and infers
//! one from a history's operations.
//!
//! A model's `step` decides whether an op is legal in a state. For `info` ops
//! the result is unknown, so the model checks only what the invoke says (a
//! cas's expected value, a release's lock) and accepts any result.

pub(crate) mod collection;
pub(crate) mod counter;
pub(crate) mod kv;
pub(crate) mod multi_register;
pub(crate) mod mutex;
pub(crate) mod register;

use crate::error::{CheckError, InputErrorKind, NotApplicable};
use crate::history::{History, Op, Outcome, F};
use crate::value::Value;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::str::FromStr;

/// What an ok read of `nil` means; defined with the readers, whose formats
/// imply a default.
pub use crate::read::NilRead;

/// A sequential specification of one object.
pub trait Model: Send + Sync {
    type State: Clone + Eq + Hash + Debug + Send + Sync;

    fn name(&self) -> &'static str;

    fn init(&self) -> Self::State;

    /// The state an object is in when it held `v` before any op of the
    /// history (`--initial`); `None` if `v` is no state of this model (the
    /// default: the model takes no initial state).
    fn state_of(&self, _v: &Value) -> Option<Self::State> {
        None
    }

    /// Applies `op` to `s`: `Some(next state)` if the op is legal there. For
    /// `info` ops (`op.outcome == Outcome::Info`) the result is unknown and
    /// any result is accepted; the op may also not have happened at all,
    /// which the search handles by leaving it out.
    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State>;

    /// A short rendering of a state for reports.
    fn describe(&self, s: &Self::State) -> String;

    /// Checks that the op is one this model knows, with a value of the right
    /// shape. `step` on an op that fails this returns `None`.
    fn validate(&self, op: &Op) -> Result<(), InputErrorKind>;

    /// True when this `info` op can never change the state (a read with an
    /// unknown result): the search may drop it, since leaving it out is
    /// always allowed.
    fn info_is_noop(&self, _op: &Op) -> bool {
        false
    }

    /// Which of these ops (one object's, fail ops already removed) are info
    /// ops the search may leave out entirely, because any linearization that
    /// includes one stays legal without it. The default drops info ops that
    /// can never change the state; models override it with sharper rules.
    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        ops.iter().map(|op| op.outcome == Outcome::Info && self.info_is_noop(op)).collect()
    }

    /// For each of these ops (one object's, after fail and droppable info ops
    /// are removed): for an info op that every legal order must include, the
    /// position (an ok op's `ret`) before which it must take effect; `None`
    /// for the rest. The search then treats it like an ok op with that
    /// return. Default: none.
    fn required_infos(&self, ops: &[&Op]) -> Vec<Option<u64>> {
        vec![None; ops.len()]
    }

    /// Why `ops[read]` (one object's ops, fail ops removed), an ok op that
    /// no order explains (a read, or any op whose result or legality depends
    /// on the state: a cas, a dequeue, an acquire), did what it did, when the
    /// model can tell from the ops' real-time order alone: see
    /// [`ReadCause`]. `init` is the object's starting state. Default: the
    /// model cannot tell.
    fn read_cause(&self, _init: &Self::State, _ops: &[&Op], _read: usize) -> Option<ReadCause> {
        None
    }

    /// Heap bytes a state owns beyond `size_of::<State>()`, for the memory
    /// budget. An estimate; shared (`Arc`) data is counted in full.
    fn heap_bytes(&self, _s: &Self::State) -> usize {
        0
    }
}

/// The cause of an op that no order explains (a read, for most models:
/// "the read" below is that op), as indices into the ops the search was
/// given. Each is a proof on its own: it names ops whose real-time order
/// rules the op out in every linearization, and [`ReadCause::ops`] lists
/// them. Explanations lead with a short sentence built from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadCause {
    /// The read returned a value already overwritten: `overwrite`, an ok
    /// write of another value, began after `last_write` (the last op that
    /// wrote the value read; `None`: the object started with it and no op
    /// wrote it) completed, and completed before the read began. No write of
    /// the value was pending then, so the read had to see a later value.
    Stale { last_write: Option<usize>, overwrite: usize },
    /// The read returned a value already overwritten, as another read shows:
    /// `seen_by`, an ok read of another value, completed before the read
    /// began, and every write of that value (`write` is the first to begin;
    /// it may be info) began after `last_write` (as in `Stale`) completed.
    StaleSeen { last_write: Option<usize>, write: usize, seen_by: usize },
    /// The read does not show `write`, an ok op that completed before the
    /// read began (a kv append whose string it lacks, or a put it does not
    /// start with; a set add whose element it lacks), and no op that could
    /// undo it (a kv put) can take effect between the two.
    Missed { write: usize },
    /// No op wrote the value read, and the object did not start with it.
    NeverWritten,
    /// Registers: the value a read returned, or a cas expected, is one no
    /// order can give. `from` (an ok op that completed before the read
    /// began: a write, a cas, or a read of a known value; `None`: the start)
    /// left the register holding some value, and no sequence of the ops that
    /// can take effect between the two (those invoked before the read
    /// returned and not completed before `from` began, each at most once)
    /// turns that value into the one read. `via` are those ops that could
    /// have made the value read from some other value (cas ops whose chain
    /// back to it needs a value the ops in between cannot make); they are
    /// named because they are why nothing else explains it.
    /// `held` is that value.
    Unreachable { from: Option<usize>, via: Vec<usize>, held: Value },
    /// Registers: the read (or a cas's expected value) saw `b` after
    /// `before`, an ok op that completed before it began, left another
    /// value, so an op that can change the value to `b` takes effect between
    /// the two: one of `writes`. Each pair in `earlier` (latest first: an
    /// op that left another value, then one that saw `b`, which completed
    /// before the later pair's first op began, or is that op itself, a cas
    /// that expected `b` and left another value) needs one of `writes`
    /// between them too. There is one gap more than there are writes, so
    /// one of them would have to take effect twice.
    ReusedWrite { before: usize, writes: Vec<usize>, earlier: Vec<(usize, usize)> },
    /// Counter: the read returned less than `incrs`, ok increments that
    /// completed before it began, add to the start (with every decrement
    /// that may precede it, if any, taken away: those are in `incrs` too):
    /// the counter held at least `least` when the read began.
    BelowCompleted { incrs: Vec<usize>, least: i64 },
    /// Counter: the read returned more than the start plus every positive
    /// increment invoked before it completed (`incrs`, maybe none) can make:
    /// at most `most`.
    AboveInvoked { incrs: Vec<usize>, most: i64 },
    /// Set and queue: the read (a dequeue) returned `element`, which the
    /// collection did not start with and no op invoked before it completed
    /// adds; `later` is an add of it invoked only after the read completed.
    NeverAdded { element: Value, later: Option<usize> },
    /// Queue: the dequeue and `other`, another ok dequeue, both returned the
    /// element `enqueue` enqueued, the only op that enqueued it (and the
    /// queue did not start with it).
    DequeuedTwice { enqueue: usize, other: usize },
    /// Queue: the dequeue returned the element only `later` enqueued, but
    /// `earlier`, an ok enqueue of another element, completed before
    /// `later` began, and no dequeue that could remove that element (one
    /// that returned it, or one whose result is unknown) can take effect
    /// before this one: FIFO order puts it ahead.
    OutOfOrder { earlier: usize, later: usize },
    /// Queue: the dequeue found the queue empty, but `enqueue`, an ok
    /// enqueue, completed before it began, and no dequeue that could remove
    /// its element can take effect before it.
    FoundEmpty { enqueue: usize },
    /// Mutex: the acquire succeeded while the lock was held: `acquire`, an
    /// ok acquire (`None`: the lock was held from the start), completed
    /// before it began, and no release (ok or info) can take effect between.
    AlreadyHeld { acquire: Option<usize> },
    /// Mutex: the release succeeded on a free lock: `release`, an ok release
    /// (`None`: the lock was free from the start), completed before it
    /// began, and no acquire (ok or info) can take effect between.
    AlreadyFree { release: Option<usize> },
    /// Multi-register: the transaction's read of register `key` returned
    /// `value`, which `cause` (one of the register causes above, over each
    /// transaction's effect on that register alone) rules out.
    InRegister { key: Value, value: Value, cause: Box<ReadCause> },
}

impl ReadCause {
    /// The ops the cause names besides the read itself, in the order the
    /// explanation mentions them. The read and these ops alone, in their
    /// real-time order, are already not linearizable.
    pub fn ops(&self) -> Vec<usize> {
        match self {
            ReadCause::Stale { last_write, overwrite } => last_write.iter().copied().chain([*overwrite]).collect(),
            ReadCause::StaleSeen { last_write, write, seen_by } => {
                last_write.iter().copied().chain([*write, *seen_by]).collect()
            }
            ReadCause::Missed { write } => vec![*write],
            ReadCause::NeverWritten | ReadCause::AlreadyHeld { acquire: None } => vec![],
            ReadCause::AlreadyFree { release: None } => vec![],
            ReadCause::Unreachable { from, via, .. } => from.iter().chain(via).copied().collect(),
            ReadCause::ReusedWrite { before, writes, earlier } => {
                let mut ops = vec![*before];
                ops.extend(writes);
                for &(p, q) in earlier {
                    ops.extend([p, q].into_iter().filter(|i| !ops.contains(i)).collect::<Vec<_>>());
                }
                ops
            }
            ReadCause::BelowCompleted { incrs, .. } | ReadCause::AboveInvoked { incrs, .. } => incrs.clone(),
            ReadCause::NeverAdded { later, .. } => later.iter().copied().collect(),
            ReadCause::DequeuedTwice { enqueue, other } => vec![*other, *enqueue],
            ReadCause::OutOfOrder { earlier, later } => vec![*earlier, *later],
            ReadCause::FoundEmpty { enqueue } => vec![*enqueue],
            ReadCause::AlreadyHeld { acquire: Some(a) } => vec![*a],
            ReadCause::AlreadyFree { release: Some(r) } => vec![*r],
            ReadCause::InRegister { cause, .. } => cause.ops(),
        }
    }
}

/// A model started in a given state instead of its empty one: what
/// `--initial` asks for (Knossos's multi-register tests start from x=0,
/// y=0). Everything else is the model's own, except the search's shortcut
/// for info ops that must take effect, which assumes the empty start (a
/// read of the initial value needs no writer).
pub struct WithInitial<'m, M: Model> {
    pub model: &'m M,
    pub init: M::State,
}

impl<M: Model> Model for WithInitial<'_, M> {
    type State = M::State;

    fn name(&self) -> &'static str {
        self.model.name()
    }

    fn init(&self) -> Self::State {
        self.init.clone()
    }

    fn state_of(&self, v: &Value) -> Option<Self::State> {
        self.model.state_of(v)
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        self.model.step(s, op)
    }

    fn describe(&self, s: &Self::State) -> String {
        self.model.describe(s)
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        self.model.validate(op)
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        self.model.info_is_noop(op)
    }

    /// Dropping an info op that nothing can observe is sound from any start.
    fn droppable_infos(&self, ops: &[&Op]) -> Vec<bool> {
        self.model.droppable_infos(ops)
    }

    fn read_cause(&self, _init: &Self::State, ops: &[&Op], read: usize) -> Option<ReadCause> {
        self.model.read_cause(&self.init, ops, read)
    }

    fn required_infos(&self, ops: &[&Op]) -> Vec<Option<u64>> {
        if self.init == self.model.init() {
            self.model.required_infos(ops)
        } else {
            vec![None; ops.len()]
        }
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        self.model.heap_bytes(s)
    }
}

/// What `--initial` must be for each model, for error messages.
pub fn initial_shape(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Register | ModelKind::CasRegister => "any value (every key's register starts with it)",
        ModelKind::Kv => "a string (every key starts with it)",
        ModelKind::MultiRegister => "a map from register to value, e.g. {\"x\": 0, \"y\": 0}",
        ModelKind::Mutex => "true (held) or false (free)",
        ModelKind::Set => "a list or set of elements",
        ModelKind::Counter => "an integer",
        ModelKind::Queue | ModelKind::ListAppend => "a list of elements",
    }
}

/// Checks that `v` is a state of `kind`'s model (for `--initial`).
pub(crate) fn validate_initial(kind: ModelKind, v: &Value) -> Result<(), crate::error::CheckError> {
    if with_model!(kind, NilRead::Absent, |m| m.state_of(v).is_some()) {
        return Ok(());
    }
    Err(crate::error::CheckError::BadInitial {
        value: v.to_string(),
        of: format!("{kind} model"),
        expected: initial_shape(kind),
    })
}

/// The argument of an op: the invoke's value, or the completion's when the
/// invoke had none (some histories put a write's value only on the ok).
pub(crate) fn arg(op: &Op) -> &Value {
    if op.input.is_nil() {
        &op.output
    } else {
        &op.input
    }
}

/// The result of an op: `None` when unknown (info ops).
pub(crate) fn result(op: &Op) -> Option<&Value> {
    (op.outcome == Outcome::Ok).then_some(&op.output)
}

pub(crate) fn bad_value(model: &'static str, op: &Op, expected: &'static str, found: &Value) -> InputErrorKind {
    InputErrorKind::BadValue { model, f: op.f.to_string(), expected, found: found.to_string() }
}

pub(crate) fn unsupported(model: &'static str, op: &Op, supported: &'static str) -> InputErrorKind {
    InputErrorKind::UnsupportedOp { model, f: op.f.to_string(), supported }
}

/// The models conch knows, as named by `--model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    Register,
    CasRegister,
    Kv,
    MultiRegister,
    Mutex,
    Set,
    Counter,
    Queue,
    ListAppend,
}

impl ModelKind {
    pub const ALL: [ModelKind; 9] = [
        ModelKind::Register,
        ModelKind::CasRegister,
        ModelKind::Kv,
        ModelKind::MultiRegister,
        ModelKind::Mutex,
        ModelKind::Set,
        ModelKind::Counter,
        ModelKind::Queue,
        ModelKind::ListAppend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
            ModelKind::MultiRegister => "multi-register",
            ModelKind::Mutex => "mutex",
            ModelKind::Set => "set",
            ModelKind::Counter => "counter",
            ModelKind::Queue => "queue",
            ModelKind::ListAppend => "list-append",
        }
    }

    /// False for models whose ops span keys (a multi-register txn names its
    /// keys inside its value): those histories are checked as one object.
    pub fn splits_by_key(self) -> bool {
        self != ModelKind::MultiRegister
    }

    /// Checks one op against the model (what `Model::validate` says).
    pub fn validate_op(self, op: &Op, nil_read: NilRead) -> Result<(), InputErrorKind> {
        with_model!(self, nil_read, |m| m.validate(op))
    }
}

/// Something to do with the concrete model a [`ModelKind`] names, whichever
/// it is: see [`ModelKind::visit`]. (A model's state is an associated type,
/// so models cannot be trait objects.)
pub trait ModelVisitor {
    type Output;
    fn visit<M: Model>(self, model: &M) -> Self::Output;
}

impl ModelKind {
    /// Runs `v` on the concrete model for this kind.
    pub fn visit<V: ModelVisitor>(self, nil_read: NilRead, v: V) -> V::Output {
        with_model!(self, nil_read, |m| v.visit(&m))
    }
}

/// Runs `$body` with `$m` bound to the concrete model for `$kind`.
macro_rules! with_model {
    ($kind:expr, $nil_read:expr, |$m:ident| $body:expr) => {{
        use $crate::model::ModelKind as __K;
        let (__kind, __nr) = ($kind, $nil_read);
        match __kind {
            __K::Register | __K::CasRegister => {
                let $m = $crate::model::register::Register { nil_read: __nr, cas: __kind == __K::CasRegister };
                $body
            }
            __K::Kv => {
                let $m = $crate::model::kv::Kv { nil_read: __nr };
                $body
            }
            __K::MultiRegister => {
                let $m = $crate::model::multi_register::MultiRegister { nil_read: __nr };
                $body
            }
            __K::Mutex => {
                let $m = $crate::model::mutex::Mutex;
                $body
            }
            __K::Counter => {
                let $m = $crate::model::counter::Counter { nil_read: __nr };
                $body
            }
            __K::Set | __K::Queue | __K::ListAppend => {
                let kind = match __kind {
                    __K::Set => $crate::model::collection::Kind::Set,
                    __K::Queue => $crate::model::collection::Kind::Queue,
                    _ => $crate::model::collection::Kind::ListAppend,
                };
                let $m = $crate::model::collection::Collection { kind, nil_read: __nr };
                $body
            }
        }
    }};
}
pub(crate) use with_model;

display_as_str!(ModelKind);

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ModelKind, String> {
        ModelKind::ALL.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown model `{s}`: expected one of {}", names.join(", "))
        })
    }
}

/// Infers the model from the ops' functions, when they make it unambiguous.
/// Reads and writes alone give `cas-register` (a plain register is a special
/// case of it).
pub fn infer(history: &History) -> Result<ModelKind, NotApplicable> {
    let fs: BTreeSet<&F> = history.ops.iter().map(|op| &op.f).collect();
    if fs.is_empty() {
        return Err(NotApplicable::NoOperations);
    }
    let subset = |allowed: &[F]| fs.iter().all(|f| allowed.contains(f));
    let has = |f: F| fs.contains(&f);
    let kind = if subset(&[F::Read, F::Write, F::Cas]) {
        Some(ModelKind::CasRegister)
    } else if subset(&[F::Get, F::Put, F::Append]) && (has(F::Get) || has(F::Put)) {
        Some(ModelKind::Kv)
    } else if subset(&[F::Txn]) {
        Some(ModelKind::MultiRegister)
    } else if subset(&[F::Acquire, F::Release]) {
        Some(ModelKind::Mutex)
    } else if subset(&[F::Add, F::Read]) {
        Some(ModelKind::Set)
    } else if subset(&[F::Incr, F::Read]) {
        Some(ModelKind::Counter)
    } else if subset(&[F::Enqueue, F::Dequeue]) {
        Some(ModelKind::Queue)
    } else if subset(&[F::Append, F::Read]) {
        Some(ModelKind::ListAppend)
    } else {
        None
    };
    kind.ok_or_else(|| NotApplicable::UnknownModel { functions: fs.iter().map(|f| f.to_string()).collect() })
}

/// Checks every op of a history against the model; the first misfit is an
/// error naming the op's line.
pub(crate) fn validate_history(history: &History, kind: ModelKind, nil_read: NilRead) -> Result<(), CheckError> {
    with_model!(kind, nil_read, |m| {
        for op in &history.ops {
            if let Err(kind) = m.validate(op) {
                return Err(CheckError::BadValue { line: op.complete_line.unwrap_or(op.invoke_line), kind });
            }
        }
        Ok(())
    })
}

/// Whether an ok read's value `out` is allowed when the object holds `state`
/// (`Value::Nil` = never written), under the nil-read rule.
pub(crate) fn read_matches(nil_read: NilRead, state: &Value, out: &Value) -> bool {
    match (out, nil_read) {
        (Value::Nil, NilRead::Unknown) => true,
        _ => state == out,
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::history::{Op, OpId, Outcome, F};
    use crate::value::Value;

    /// A bare op for model unit tests.
    pub fn op(f: &str, input: Value, output: Value, outcome: Outcome) -> Op {
        Op {
            id: OpId(0),
            process: 0,
            f: F::parse(f),
            key: None,
            input,
            output,
            outcome,
            call: 0,
            ret: 1,
            invoke_line: 1,
            complete_line: Some(2),
            invoke_time_ns: None,
            complete_time_ns: None,
            node: None,
            is_final: false,
        }
    }

    pub fn ok(f: &str, input: Value, output: Value) -> Op {
        op(f, input, output, Outcome::Ok)
    }

    pub fn info(f: &str, input: Value) -> Op {
        op(f, input, Value::Nil, Outcome::Info)
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    /// `o` over real-time positions `call..ret` (`u64::MAX`: an info op).
    pub fn at(mut o: Op, call: u64, ret: u64) -> Op {
        o.call = call;
        o.ret = ret;
        o
    }

    /// An info op invoked at `call`.
    pub fn info_at(f: &str, input: Value, call: u64) -> Op {
        at(info(f, input), call, u64::MAX)
    }

    /// What `model` says of the last of `ops`, from its own start.
    pub fn last_cause<M: crate::model::Model>(model: &M, ops: &[Op]) -> Option<crate::model::ReadCause> {
        let refs: Vec<&Op> = ops.iter().collect();
        model.read_cause(&model.init(), &refs, ops.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventType, Process};

    fn hist(fs: &[&str]) -> History {
        let mut evs = Vec::new();
        for (i, f) in fs.iter().enumerate() {
            let p = Process::Client(i as u64);
            evs.push(Event::new(2 * i as u64 + 1, EventType::Invoke, p.clone(), F::parse(f), Value::Nil));
            evs.push(Event::new(2 * i as u64 + 2, EventType::Ok, p, F::parse(f), Value::Nil));
        }
        History::from_events("t", evs).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for m in ModelKind::ALL {
            assert_eq!(m.as_str().parse::<ModelKind>().unwrap(), m);
            assert_eq!(m.to_string(), m.as_str());
        }
        assert!("bogus".parse::<ModelKind>().unwrap_err().contains("cas-register"));
    }

    #[test]
    fn infers_from_ops() {
        assert_eq!(infer(&hist(&["read", "write"])), Ok(ModelKind::CasRegister));
        assert_eq!(infer(&hist(&["read"])), Ok(ModelKind::CasRegister));
        assert_eq!(infer(&hist(&["cas", "read"])), Ok(ModelKind::CasRegister));
        assert_eq!(infer(&hist(&["get", "put", "append"])), Ok(ModelKind::Kv));
        assert_eq!(infer(&hist(&["txn"])), Ok(ModelKind::MultiRegister));
        assert_eq!(infer(&hist(&["acquire", "release"])), Ok(ModelKind::Mutex));
        assert_eq!(infer(&hist(&["add", "read"])), Ok(ModelKind::Set));
        assert_eq!(infer(&hist(&["incr", "read"])), Ok(ModelKind::Counter));
        assert_eq!(infer(&hist(&["enqueue", "dequeue"])), Ok(ModelKind::Queue));
        assert_eq!(infer(&hist(&["append", "read"])), Ok(ModelKind::ListAppend));
        let e = infer(&hist(&["add", "incr", "read"])).unwrap_err().to_string();
        assert!(e.contains("add") && e.contains("incr") && e.contains("read"), "{e}");
        assert!(infer(&hist(&["frobnicate"])).unwrap_err().to_string().contains("frobnicate"));
        assert_eq!(infer(&History::default()), Err(NotApplicable::NoOperations));
    }

    #[test]
    fn validate_history_names_line() {
        let h = hist(&["read", "enqueue"]);
        let err = validate_history(&h, ModelKind::CasRegister, NilRead::Unknown).unwrap_err();
        assert_eq!(err.line(), Some(4));
        assert!(matches!(err, CheckError::BadValue { kind: InputErrorKind::UnsupportedOp { .. }, .. }), "{err}");
        assert!(validate_history(&h, ModelKind::Queue, NilRead::Unknown).is_err());
    }
}
