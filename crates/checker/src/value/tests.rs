use super::*;
use proptest::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};

fn hash(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn int(s: &str) -> Value {
    parse_integer(s).unwrap()
}

fn dec(s: &str) -> Value {
    Value::Decimal(Decimal::parse(s).unwrap())
}

#[test]
fn json_round_trip_shapes() {
    let j: serde_json::Value = serde_json::from_str(r#"[1, "a", null, {"k": [true]}]"#).unwrap();
    let v = Value::from(&j);
    assert_eq!(serde_json::to_value(&v).unwrap(), j);
    assert_eq!(v.to_string(), r#"[1 "a" nil {"k" [true]}]"#);
}

#[test]
fn shared_list_is_indistinguishable_from_list() {
    let buf: Arc<[Value]> = vec![Value::Int(1), Value::Int(2), Value::Int(3)].into();
    let shared = Value::SharedList(SharedList::new(buf.clone(), 2));
    let owned = Value::List(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(shared, owned);
    assert_eq!(shared.cmp(&Value::List(vec![Value::Int(1), Value::Int(3)])), Ordering::Less);
    assert!(shared < Value::Set(vec![]), "lists rank before sets, shared or not");
    assert_eq!(hash(&shared), hash(&owned));
    assert_eq!(shared.to_string(), owned.to_string());
    assert_eq!(serde_json::to_string(&shared).unwrap(), "[1,2]");
    assert_eq!(shared.as_list(), Some(&[Value::Int(1), Value::Int(2)][..]));
    assert_eq!(SharedList::new(buf, 9).as_slice().len(), 3, "len is clamped");
}

#[test]
fn set_is_sorted_and_deduplicated() {
    let s = Value::set(vec![Value::Int(3), Value::Int(1), Value::Int(3)]);
    assert_eq!(s, Value::Set(vec![Value::Int(1), Value::Int(3)]));
}

/// Issue #12 §1e: `{"a":1,"b":2}` and `{"b":2,"a":1}` were different values.
#[test]
fn maps_with_fields_in_another_order_are_one_value() {
    let ab = Value::map(vec![(Value::str("a"), 1.into()), (Value::str("b"), 2.into())]);
    let ba = Value::map(vec![(Value::str("b"), 2.into()), (Value::str("a"), 1.into())]);
    assert_eq!(ab, ba);
    assert_eq!(ab.cmp(&ba), Ordering::Equal);
    assert_eq!(hash(&ab), hash(&ba));
    let mut keyed = HashMap::new();
    keyed.insert(ab.clone(), "first");
    assert_eq!(keyed.insert(ba.clone(), "second"), Some("first"), "one key in a hash map");
    let mut sorted = BTreeMap::new();
    sorted.insert(ab.clone(), 1);
    sorted.insert(ba.clone(), 2);
    assert_eq!(sorted.len(), 1, "one key in a sorted map");
    assert_eq!(ab.to_string(), ba.to_string());
    assert_eq!(ab.as_map().unwrap().get(&Value::str("b")), Some(&Value::Int(2)));
    assert_eq!(ab.as_map().unwrap().get_str("a"), Some(&Value::Int(1)));
    // Readers refuse a repeated key; `Value::map` keeps the last.
    let dup = vec![(Value::str("a"), 1.into()), (Value::str("a"), 2.into())];
    assert_eq!(ValueMap::from_entries(dup.clone()), Err(Value::str("a")));
    assert_eq!(Value::map(dup), Value::map(vec![(Value::str("a"), 2.into())]));
}

/// Issue #12 §1f: integers beyond i64 became floats, so u64::MAX and
/// u64::MAX - 1 were one value.
#[test]
fn integers_beyond_i64_stay_distinct_and_exact() {
    let max = int("18446744073709551615");
    let below = int("18446744073709551614");
    assert!(matches!(max, Value::BigInt(_)));
    assert_ne!(max, below);
    assert!(below < max);
    assert_ne!(hash(&max), hash(&below));
    assert_eq!(max.to_string(), "18446744073709551615");
    assert_eq!(serde_json::to_string(&max).unwrap(), "18446744073709551615");
    // One representation per integer: leading zeros, `+`, fitting values.
    assert_eq!(int("+0009223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(int("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(int("-0"), Value::Int(0));
    assert!(matches!(int("9223372036854775808"), Value::BigInt(_)));
    assert_eq!(int("000018446744073709551615"), max);
    // BigInts lie beyond the i64 range, on the side of their sign.
    let neg = int("-9223372036854775809");
    assert!(neg < Value::Int(i64::MIN) && Value::Int(i64::MAX) < int("9223372036854775808"));
    assert!(int("-100000000000000000000") < neg);
    assert_eq!(parse_integer("12a"), None);
    assert_eq!(parse_integer(""), None);
    assert_eq!(parse_integer("-"), None);
}

/// The number rules of docs/history-format.md: integers, floats and
/// decimals are different kinds (Clojure's `=`); floats compare as numbers.
#[test]
fn numbers_of_different_kinds_never_compare_equal() {
    assert_ne!(Value::Int(1), Value::Float(1.0));
    assert_ne!(Value::Int(1), dec("1"));
    assert_ne!(Value::Float(1.5), dec("1.5"));
    assert_eq!(Value::Float(0.0), Value::Float(-0.0));
    assert_eq!(hash(&Value::Float(0.0)), hash(&Value::Float(-0.0)));
    let nan = Value::Float(f64::NAN);
    assert_eq!(nan, Value::Float(-f64::NAN));
    assert_eq!(hash(&nan), hash(&Value::Float(f64::from_bits(f64::NAN.to_bits() | 1))));
    assert!(Value::Float(f64::INFINITY) < nan);
    assert_eq!(Value::Float(1.0).to_string(), "1.0");
    assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "##-Inf");
}

#[test]
fn decimals_are_exact_and_canonical() {
    assert_eq!(dec("1.50"), dec("1.5"));
    assert_eq!(dec("150e-2"), dec("1.5"));
    assert_eq!(dec("0.000"), dec("-0"));
    assert_ne!(dec("0.1"), dec("0.10000000000000000001"));
    assert!(dec("0.1") < dec("0.10000000000000000001"));
    assert!(dec("-2") < dec("-1.99"));
    assert!(dec("-0.5") < dec("0"));
    assert!(dec("9.99") < dec("10"));
    assert_eq!(hash(&dec("2.0")), hash(&dec("2")));
    for (text, shown) in [
        ("1.50", "1.5M"),
        ("-0.002", "-0.002M"),
        ("12e2", "1200M"),
        ("0", "0M"),
        ("1e30", "1E+30M"),
        ("1.25e-30", "1.25E-30M"),
    ] {
        assert_eq!(dec(text).to_string(), shown, "{text}");
        // What is shown parses back to the same decimal.
        assert_eq!(dec(shown.strip_suffix('M').unwrap()), dec(text), "{text}");
    }
    for bad in ["", "-", "1.2.3", "1e", ".5", "1x", "1e99999999999999999999"] {
        assert_eq!(Decimal::parse(bad), None, "{bad}");
    }
}

/// Exact rational value of a small decimal, for comparing orders.
fn rational(d: &str) -> (i128, u32) {
    let (int, frac) = d.split_once('.').unwrap_or((d, ""));
    let neg = int.starts_with('-');
    let digits: String = int.trim_start_matches('-').chars().chain(frac.chars()).collect();
    let m: i128 = digits.parse().unwrap();
    (if neg { -m } else { m }, frac.len() as u32)
}

proptest! {
    /// Ordering integers agrees with their numeric order, across the i64 edge.
    #[test]
    fn integer_order_is_numeric(a in any::<i128>(), b in any::<i128>()) {
        let (x, y) = (int(&a.to_string()), int(&b.to_string()));
        prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        prop_assert_eq!(x == y, a == b);
        prop_assert_eq!(x.to_string(), a.to_string());
    }

    /// Ordering decimals agrees with their exact value.
    #[test]
    fn decimal_order_is_numeric(a in "-?[0-9]{1,12}(\\.[0-9]{0,6})?", b in "-?[0-9]{1,12}(\\.[0-9]{0,6})?") {
        let (x, y) = (dec(&a), dec(&b));
        let ((ma, sa), (mb, sb)) = (rational(&a), rational(&b));
        // Compare ma / 10^sa with mb / 10^sb.
        let want = (ma * 10i128.pow(sb)).cmp(&(mb * 10i128.pow(sa)));
        prop_assert_eq!(x.cmp(&y), want);
        prop_assert_eq!(x == y, want == Ordering::Equal);
        if x == y {
            prop_assert_eq!(hash(&x), hash(&y));
        }
    }

    /// Maps equal whatever order their entries were given in: equality,
    /// hashing and ordering.
    #[test]
    fn map_entry_order_does_not_matter(
        entries in proptest::collection::btree_map("[a-z]{0,3}", any::<i64>(), 0..6),
        seed in any::<u64>(),
    ) {
        let pairs: Vec<(Value, Value)> = entries.iter().map(|(k, v)| (Value::str(k), Value::Int(*v))).collect();
        let mut shuffled = pairs.clone();
        // A permutation from the seed (Fisher-Yates with a tiny LCG).
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let (a, b) = (Value::map(pairs), Value::map(shuffled));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(hash(&a), hash(&b));
        prop_assert_eq!(a.cmp(&b), Ordering::Equal);
    }
}
