//! Jepsen's bank test for any bank history: `transfer {from, to, amount}`
//! and whole-bank `read`s (ok value: a map account -> balance, or a list
//! whose element `i` is account `i`). Checks that every read sums to the
//! bank's total (so no transfer is ever seen applied on one side only), that
//! no balance is negative (unless allowed), and optionally that transfers and
//! reads are linearizable, with a sequential bank model and the general
//! search.

use crate::error::{CheckError, InputErrorKind};
use crate::history::{History, Op, OpId, Outcome, F};
use crate::linear;
use crate::model::{bad_value, unsupported, Model};
use crate::report::{Anomaly, AnomalyDetail, AnomalyKind, Budget, OpRef, Verdict, WrongTotal};
use crate::value::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Anomalies listed per property; the count of all of them is kept.
pub(crate) const MAX_ANOMALIES: usize = 100;
/// The properties, as named in reports (each is a key of its check).
pub(crate) const TOTAL_CONSERVED: &str = "total-conserved";
pub(crate) const NO_NEGATIVE_BALANCES: &str = "no-negative-balances";
pub(crate) const LINEARIZABLE: &str = "linearizable";
/// Transfers named as possible culprits of one wrong total.
const MAX_SUSPECTS: usize = 5;

/// What to check and against what.
#[derive(Clone, Debug)]
pub(crate) struct BankOptions {
    /// Initial balances by account (accounts absent hold 0). `None`: the
    /// total is inferred from the first ok read, and the model's initial
    /// state is that read's balances.
    pub initial: Option<BTreeMap<Value, i64>>,
    /// Balances may go negative (conch's bundled bank workload); Jepsen's
    /// bank forbids it.
    pub negative_allowed: bool,
    /// Also run the linearizability search over transfers and reads.
    pub linearizable: bool,
    pub budget: Budget,
}

impl Default for BankOptions {
    fn default() -> Self {
        BankOptions { initial: None, negative_allowed: false, linearizable: true, budget: Budget::default() }
    }
}

/// One property's result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BankProperty {
    /// [`TOTAL_CONSERVED`], [`NO_NEGATIVE_BALANCES`] or [`LINEARIZABLE`].
    pub name: &'static str,
    pub verdict: Verdict,
    /// How many anomalies were found (only the first [`MAX_ANOMALIES`] are
    /// listed).
    pub anomaly_count: u64,
    pub anomalies: Vec<Anomaly>,
    pub unknown_reason: Option<String>,
}

impl BankProperty {
    fn new(name: &'static str) -> BankProperty {
        BankProperty { name, verdict: Verdict::Valid, anomaly_count: 0, anomalies: Vec::new(), unknown_reason: None }
    }

    fn push(&mut self, a: Anomaly) {
        self.verdict = Verdict::Invalid;
        self.anomaly_count += 1;
        if self.anomalies.len() < MAX_ANOMALIES {
            self.anomalies.push(a);
        }
    }
}

/// The bank test's report.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BankReport {
    /// All properties combined.
    pub verdict: Verdict,
    /// The total every read must show; `None` when nothing fixes it (no
    /// initial balances and no ok read).
    pub expected_total: Option<i64>,
    /// Where the expected total comes from.
    pub total_source: String,
    pub transfers: u64,
    pub reads: u64,
    /// Ok reads whose value was nil (nothing to check).
    pub reads_without_value: u64,
    pub properties: Vec<BankProperty>,
}

/// Whether `read` completed before every transfer that may have happened
/// (ok or info) was invoked.
fn first_read_precedes_transfers(h: &History, read: Option<&Op>) -> bool {
    let Some(read) = read else { return false };
    h.ops.iter().filter(|o| o.f == F::Transfer && o.outcome != Outcome::Fail).all(|t| read.precedes(t))
}

/// A transfer's argument.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Transfer {
    pub from: Value,
    pub to: Value,
    pub amount: i64,
}

fn field<'a>(m: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v)
}

/// Parses `{from, to, amount}` (keys as strings; EDN keywords arrive so).
pub(crate) fn parse_transfer(v: &Value) -> Option<Transfer> {
    let Value::Map(m) = v else { return None };
    let from = field(m, "from")?.clone();
    let to = field(m, "to")?.clone();
    let amount = field(m, "amount")?.as_int()?;
    Some(Transfer { from, to, amount })
}

/// Parses a read's balances: a map account -> balance, or a list (account
/// = index). Zero balances are dropped, so reads compare by value.
pub(crate) fn parse_balances(v: &Value) -> Option<BTreeMap<Value, i64>> {
    let pairs: Vec<(Value, i64)> = match v {
        Value::Map(m) => m.iter().map(|(k, b)| Some((k.clone(), b.as_int()?))).collect::<Option<_>>()?,
        Value::List(_) | Value::SharedList(_) => {
            let items = v.as_list().unwrap_or_default();
            items.iter().enumerate().map(|(i, b)| Some((Value::Int(i as i64), b.as_int()?))).collect::<Option<_>>()?
        }
        _ => return None,
    };
    let mut m = BTreeMap::new();
    for (k, b) in pairs {
        let e: &mut i64 = m.entry(k).or_insert(0);
        *e = e.wrapping_add(b);
    }
    m.retain(|_, b| *b != 0);
    Some(m)
}

fn total(m: &BTreeMap<Value, i64>) -> i64 {
    m.values().fold(0i64, |a, &b| a.wrapping_add(b))
}

const NAME: &str = "bank";

/// The sequential bank: balances by account (zeros dropped).
#[derive(Clone, Debug)]
pub(crate) struct BankModel {
    pub initial: Arc<BTreeMap<Value, i64>>,
    pub negative_allowed: bool,
}

impl Model for BankModel {
    type State = Arc<BTreeMap<Value, i64>>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn init(&self) -> Self::State {
        self.initial.clone()
    }

    fn step(&self, s: &Self::State, op: &Op) -> Option<Self::State> {
        match op.f {
            F::Transfer => {
                let t = parse_transfer(&op.input)?;
                let mut next = (**s).clone();
                for (account, delta) in [(t.from, t.amount.wrapping_neg()), (t.to, t.amount)] {
                    let b = next.entry(account).or_insert(0);
                    *b = b.wrapping_add(delta);
                }
                if !self.negative_allowed && next.values().any(|&b| b < 0) {
                    return None;
                }
                next.retain(|_, b| *b != 0);
                Some(Arc::new(next))
            }
            F::Read => match op.outcome {
                Outcome::Ok if !op.output.is_nil() => (parse_balances(&op.output)? == **s).then(|| s.clone()),
                _ => Some(s.clone()),
            },
            _ => None,
        }
    }

    fn describe(&self, s: &Self::State) -> String {
        Value::map(s.iter().map(|(k, v)| (k.clone(), Value::Int(*v))).collect()).to_string()
    }

    fn validate(&self, op: &Op) -> Result<(), InputErrorKind> {
        match op.f {
            F::Transfer => match parse_transfer(&op.input) {
                Some(_) => Ok(()),
                None => Err(bad_value(NAME, op, "a map {from, to, amount} with an integer amount", &op.input)),
            },
            F::Read if op.outcome != Outcome::Ok || op.output.is_nil() => Ok(()),
            F::Read => match parse_balances(&op.output) {
                Some(_) => Ok(()),
                None => Err(bad_value(NAME, op, "balances: a map or list of integers", &op.output)),
            },
            _ => Err(unsupported(NAME, op, "transfer, read")),
        }
    }

    fn info_is_noop(&self, op: &Op) -> bool {
        op.f == F::Read
    }

    fn heap_bytes(&self, s: &Self::State) -> usize {
        s.len() * 64
    }
}

/// Runs the bank test over every op of `h` (keys are ignored: the history
/// is one bank). Ops other than transfer and read, and malformed values,
/// are errors naming the line.
pub(crate) fn check(h: &History, opts: &BankOptions) -> Result<BankReport, CheckError> {
    let probe = BankModel { initial: Arc::new(BTreeMap::new()), negative_allowed: true };
    for op in &h.ops {
        if let Err(kind) = probe.validate(op) {
            return Err(CheckError::BadValue { line: line_of(op), kind });
        }
    }
    let transfers = h.ops.iter().filter(|o| o.f == F::Transfer).count() as u64;
    let reads: Vec<(&Op, BTreeMap<Value, i64>)> = h
        .ops
        .iter()
        .filter(|o| o.f == F::Read && o.outcome == Outcome::Ok && !o.output.is_nil())
        .filter_map(|o| Some((o, parse_balances(&o.output)?)))
        .collect();
    let reads_without_value =
        h.ops.iter().filter(|o| o.f == F::Read && o.outcome == Outcome::Ok && o.output.is_nil()).count() as u64;

    let (initial, total_source) = match (&opts.initial, reads.first()) {
        (Some(init), _) => {
            let mut init = init.clone();
            init.retain(|_, b| *b != 0);
            (Some(init), "given initial balances".to_string())
        }
        (None, Some((op, balances))) => (
            Some(balances.clone()),
            format!("inferred from the first read (line {})", op.complete_line.unwrap_or(op.invoke_line)),
        ),
        (None, None) => (None, "unknown: no initial balances and no ok read".to_string()),
    };
    let expected_total = initial.as_ref().map(total);

    let mut total_prop = BankProperty::new(TOTAL_CONSERVED);
    if let Some(expected) = expected_total {
        for (op, balances) in &reads {
            let got = total(balances);
            if got != expected {
                total_prop.push(wrong_total(h, op, balances, got, expected));
            }
        }
    } else {
        total_prop.verdict = Verdict::Unknown;
        total_prop.unknown_reason = Some(total_source.clone());
    }

    let mut negative_prop = BankProperty::new(NO_NEGATIVE_BALANCES);
    if !opts.negative_allowed {
        for (op, balances) in &reads {
            let negative: Vec<String> =
                balances.iter().filter(|(_, &b)| b < 0).map(|(a, b)| format!("account {a} = {b}")).collect();
            if !negative.is_empty() {
                negative_prop.push(Anomaly {
                    kind: AnomalyKind::NegativeBalance,
                    ops: vec![OpRef::new(op)],
                    explanation: format!("{} read a negative balance: {}", OpRef::new(op), negative.join(", ")),
                    detail: None,
                });
            }
        }
    }

    let mut properties = vec![total_prop, negative_prop];
    if opts.linearizable {
        let mut lin = BankProperty::new(LINEARIZABLE);
        match &initial {
            // Balances inferred from the first read are the initial state
            // only if no transfer can have taken effect before that read;
            // otherwise transfers would be counted twice.
            Some(_) if opts.initial.is_none() && !first_read_precedes_transfers(h, reads.first().map(|r| r.0)) => {
                lin.verdict = Verdict::Unknown;
                lin.unknown_reason = Some(format!(
                    "initial balances unknown: the first read (total {total_source}) overlaps or follows \
                     transfers; give the initial balances (conch check --bank-initial zero for conch's own runs)"
                ));
            }
            Some(init) => {
                let model = BankModel { initial: Arc::new(init.clone()), negative_allowed: opts.negative_allowed };
                let ids: Vec<OpId> = h.ops.iter().map(|o| o.id).collect();
                let r = linear::search(h, &ids, &model, &opts.budget);
                lin.verdict = r.verdict;
                lin.anomaly_count = r.anomalies.len() as u64;
                lin.anomalies = r.anomalies;
                lin.unknown_reason = r.unknown_reason;
            }
            None => {
                lin.verdict = Verdict::Unknown;
                lin.unknown_reason = Some(total_source.clone());
            }
        }
        properties.push(lin);
    }
    let verdict = properties.iter().fold(Verdict::Valid, |v, p| v.combine(p.verdict));
    Ok(BankReport {
        verdict,
        expected_total,
        total_source,
        transfers,
        reads: reads.len() as u64 + reads_without_value,
        reads_without_value,
        properties,
    })
}

/// The line where an op's value is bad: a read's result is on its
/// completion, anything else's argument on its invoke.
fn line_of(op: &Op) -> u64 {
    if op.f == F::Read && op.outcome == Outcome::Ok {
        op.complete_line.unwrap_or(op.invoke_line)
    } else {
        op.invoke_line
    }
}

/// A read whose total is off; names transfers of exactly the difference
/// that could have been in flight (invoked before the read returned and not
/// known to have failed) as suspects.
fn wrong_total(h: &History, read: &Op, balances: &BTreeMap<Value, i64>, got: i64, expected: i64) -> Anomaly {
    let diff = got.wrapping_sub(expected);
    let suspects: Vec<&Op> = h
        .ops
        .iter()
        .filter(|o| o.f == F::Transfer && o.outcome != Outcome::Fail && o.call < read.ret)
        .filter(|o| parse_transfer(&o.input).is_some_and(|t| t.amount.wrapping_abs() == diff.wrapping_abs()))
        .rev()
        .take(MAX_SUSPECTS)
        .collect();
    let mut ops = vec![OpRef::new(read)];
    ops.extend(suspects.iter().map(|o| OpRef::new(o)));
    let suspect_text = if suspects.is_empty() {
        String::new()
    } else {
        format!(
            " Transfers of that amount that could have been in flight: {}.",
            suspects.iter().map(|o| OpRef::new(o).to_string()).collect::<Vec<_>>().join("; ")
        )
    };
    Anomaly {
        kind: AnomalyKind::WrongTotal,
        ops,
        explanation: format!(
            "{} shows balances summing to {got}, but the bank holds {expected} ({}{diff}): money was {} — a \
             transfer seen applied on one side only, or applied on one side for good.{suspect_text}",
            OpRef::new(read),
            if diff > 0 { "+" } else { "" },
            if diff > 0 { "created" } else { "lost" },
        ),
        detail: Some(Box::new(AnomalyDetail::WrongTotal(WrongTotal {
            balances: Value::map(balances.iter().map(|(k, v)| (k.clone(), Value::Int(*v))).collect()),
            expected_total: expected,
            total: got,
        }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Event, EventType, Process};

    fn t(from: i64, to: i64, amount: i64) -> Value {
        Value::map(vec![("from".into(), from.into()), ("to".into(), to.into()), ("amount".into(), amount.into())])
    }

    fn list(v: &[i64]) -> Value {
        Value::List(v.iter().map(|&x| x.into()).collect())
    }

    /// Events: (process, type, f, value), one per line.
    fn hist(evs: &[(u64, EventType, &str, Value)]) -> History {
        let evs = evs
            .iter()
            .enumerate()
            .map(|(i, (p, k, f, v))| Event::new(i as u64 + 1, *k, Process::Client(*p), F::parse(f), v.clone()));
        History::from_events("t", evs).unwrap()
    }

    fn zero_bank() -> BankOptions {
        BankOptions { initial: Some(BTreeMap::new()), negative_allowed: true, ..BankOptions::default() }
    }

    fn prop<'a>(r: &'a BankReport, name: &str) -> &'a BankProperty {
        r.properties.iter().find(|p| p.name == name).unwrap()
    }

    use EventType::{Info, Invoke, Ok as OkE};

    /// p0 transfers 5 from account 0 to account 1; p1's read, concurrent
    /// with it, sees it applied.
    fn read_during_a_transfer() -> Vec<(u64, EventType, &'static str, Value)> {
        vec![
            (0, Invoke, "transfer", t(0, 1, 5)),
            (1, Invoke, "read", Value::Nil),
            (1, OkE, "read", list(&[-5, 5])),
            (0, OkE, "transfer", t(0, 1, 5)),
        ]
    }

    /// Regression: inferring the initial state from a read that overlapped a
    /// transfer counted the transfer twice and called a valid history
    /// non-linearizable.
    #[test]
    fn inferred_initial_from_a_read_overlapping_a_transfer_is_not_guessed() {
        let h = hist(&read_during_a_transfer());
        let opts = BankOptions { negative_allowed: true, ..BankOptions::default() };
        let r = check(&h, &opts).unwrap();
        let lin = prop(&r, "linearizable");
        assert_eq!(lin.verdict, Verdict::Unknown, "{r:?}");
        assert!(lin.unknown_reason.as_deref().unwrap().contains("initial balances unknown"), "{lin:?}");
        assert_eq!(prop(&r, "total-conserved").verdict, Verdict::Valid);
        // With the initial balances given, it is decided (and valid).
        assert_eq!(prop(&check(&h, &zero_bank()).unwrap(), "linearizable").verdict, Verdict::Valid);
    }

    #[test]
    fn valid_bank_with_concurrent_transfer() {
        let mut evs = read_during_a_transfer();
        evs.extend([(1, Invoke, "read", Value::Nil), (1, OkE, "read", list(&[-5, 5, 0]))]);
        let h = hist(&evs);
        let r = check(&h, &zero_bank()).unwrap();
        assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
        assert_eq!((r.transfers, r.reads, r.expected_total), (1, 2, Some(0)));
    }

    #[test]
    fn half_applied_transfer_is_a_wrong_total_naming_the_transfer() {
        let h = hist(&[
            (0, Invoke, "transfer", t(0, 1, 5)),
            (0, Info, "transfer", Value::Nil),
            (1, Invoke, "read", Value::Nil),
            (1, OkE, "read", list(&[-5, 0])),
        ]);
        let r = check(&h, &zero_bank()).unwrap();
        assert_eq!(r.verdict, Verdict::Invalid);
        let p = prop(&r, "total-conserved");
        assert_eq!(p.anomalies[0].kind, AnomalyKind::WrongTotal);
        assert_eq!(p.anomalies[0].ops[0].complete_line, Some(4));
        assert_eq!(p.anomalies[0].ops[1].invoke_line, 1, "the suspect transfer");
        assert!(p.anomalies[0].explanation.contains("-5"), "{}", p.anomalies[0].explanation);
        assert_eq!(prop(&r, "linearizable").verdict, Verdict::Invalid);
    }

    #[test]
    fn stale_read_with_right_total_is_not_linearizable() {
        // The transfer completed before the read began, yet the read misses it.
        let h = hist(&[
            (0, Invoke, "transfer", t(0, 1, 5)),
            (0, OkE, "transfer", t(0, 1, 5)),
            (1, Invoke, "read", Value::Nil),
            (1, OkE, "read", list(&[])),
        ]);
        let r = check(&h, &zero_bank()).unwrap();
        assert_eq!(prop(&r, "total-conserved").verdict, Verdict::Valid);
        let lin = prop(&r, "linearizable");
        assert_eq!(lin.verdict, Verdict::Invalid);
        assert_eq!(lin.anomalies[0].kind, AnomalyKind::NotLinearizable);
        let without = check(&h, &BankOptions { linearizable: false, ..zero_bank() }).unwrap();
        assert_eq!(without.verdict, Verdict::Valid);
    }

    #[test]
    fn jepsen_style_maps_inferred_total_and_negatives() {
        let m = |a: i64, b: i64| Value::map(vec![(Value::str("a"), a.into()), (Value::str("b"), b.into())]);
        let tr = Value::map(vec![
            ("from".into(), Value::str("a")),
            ("to".into(), Value::str("b")),
            ("amount".into(), 15.into()),
        ]);
        let h = hist(&[
            (1, Invoke, "read", Value::Nil),
            (1, OkE, "read", m(10, 10)),
            (0, Invoke, "transfer", tr.clone()),
            (0, OkE, "transfer", tr),
            (1, Invoke, "read", Value::Nil),
            (1, OkE, "read", m(-5, 25)),
        ]);
        let r = check(&h, &BankOptions::default()).unwrap();
        assert_eq!(r.expected_total, Some(20));
        assert!(r.total_source.contains("line 2"), "{}", r.total_source);
        assert_eq!(prop(&r, "total-conserved").verdict, Verdict::Valid);
        let neg = prop(&r, "no-negative-balances");
        assert_eq!(neg.verdict, Verdict::Invalid);
        assert_eq!(neg.anomalies[0].ops[0].complete_line, Some(6));
        // The model forbids overdrafts too.
        assert_eq!(prop(&r, "linearizable").verdict, Verdict::Invalid);
        let allowed = check(&h, &BankOptions { negative_allowed: true, ..BankOptions::default() }).unwrap();
        assert_eq!(allowed.verdict, Verdict::Valid);
    }

    #[test]
    fn no_reads_means_unknown_total_and_bad_values_are_input_errors() {
        let h = hist(&[(0, Invoke, "transfer", t(0, 1, 5)), (0, OkE, "transfer", t(0, 1, 5))]);
        let r = check(&h, &BankOptions::default()).unwrap();
        assert_eq!(r.verdict, Verdict::Unknown);
        let h = hist(&[(0, Invoke, "transfer", Value::Int(3)), (0, OkE, "transfer", Value::Int(3))]);
        let e = check(&h, &BankOptions::default()).unwrap_err();
        assert_eq!(e.line(), Some(1));
        let h = hist(&[(0, Invoke, "read", Value::Nil), (0, OkE, "read", Value::str("x"))]);
        assert_eq!(check(&h, &BankOptions::default()).unwrap_err().line(), Some(2));
        let h = hist(&[(0, Invoke, "write", 1.into()), (0, OkE, "write", 1.into())]);
        assert!(matches!(
            check(&h, &BankOptions::default()).unwrap_err(),
            CheckError::BadValue { kind: InputErrorKind::UnsupportedOp { .. }, .. }
        ));
    }

    #[test]
    fn anomalies_are_capped_but_counted() {
        let mut evs = Vec::new();
        for _ in 0..(MAX_ANOMALIES + 5) {
            evs.push((1, Invoke, "read", Value::Nil));
            evs.push((1, OkE, "read", list(&[1])));
        }
        let r = check(&hist(&evs), &BankOptions { linearizable: false, ..zero_bank() }).unwrap();
        let p = prop(&r, "total-conserved");
        assert_eq!(p.anomaly_count, MAX_ANOMALIES as u64 + 5);
        assert_eq!(p.anomalies.len(), MAX_ANOMALIES);
    }
}
