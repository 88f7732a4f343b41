//! Proptest strategies for [`Value`]s, shared by the tests of the readers,
//! the writers and the binary codecs (so each is tested on the same space).

use super::{parse_integer, Decimal, Value};
use proptest::prelude::*;

/// Which values a test can take.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Space {
    /// What JSON can hold: no sets, no decimals, maps with string keys,
    /// finite floats.
    Json,
    /// What EDN text can hold: everything but non-finite floats.
    Edn,
    /// Everything, NaN and infinities included (binary codecs).
    Any,
}

/// Integers just outside `i64` and far beyond it, either sign.
fn big_int() -> impl Strategy<Value = Value> {
    prop_oneof![
        (i64::MAX as i128 + 1..=u64::MAX as i128 + 2).prop_map(|i| i.to_string()),
        (i128::MIN..i64::MIN as i128).prop_map(|i| i.to_string()),
        "-?[1-9][0-9]{19,60}",
    ]
    .prop_map(|s| parse_integer(&s).unwrap())
}

fn leaf(space: Space) -> BoxedStrategy<Value> {
    // A finite double of any bit pattern: written as its shortest text, it
    // reads back as the same double.
    let finite = any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |f| f.is_finite());
    let float = match space {
        Space::Any => any::<f64>().boxed(),
        Space::Json | Space::Edn => finite.boxed(),
    };
    let common = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1), Just(0)].prop_map(Value::Int),
        big_int(),
        float.prop_map(Value::Float),
        ".{0,8}".prop_map(|s| Value::str(&s)),
    ];
    match space {
        Space::Json => common.boxed(),
        Space::Edn | Space::Any => {
            let decimal = "-?[0-9]{1,25}(\\.[0-9]{1,25})?(E-?[0-9]{1,3})?"
                .prop_map(|s| Value::Decimal(Decimal::parse(&s).unwrap()));
            prop_oneof![4 => common, 1 => decimal].boxed()
        }
    }
}

/// Values of `space`, nested up to four deep.
pub(crate) fn value(space: Space) -> BoxedStrategy<Value> {
    leaf(space)
        .prop_recursive(4, 32, 4, move |inner| {
            let list = proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List);
            let map = proptest::collection::vec((".{0,4}".prop_map(|s| Value::str(&s)), inner.clone()), 0..4)
                .prop_map(Value::map);
            match space {
                Space::Json => prop_oneof![list, map].boxed(),
                Space::Edn | Space::Any => {
                    let any_keys = proptest::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Value::map);
                    let set = proptest::collection::vec(inner, 0..4).prop_map(Value::set);
                    prop_oneof![list, set, map, any_keys].boxed()
                }
            }
        })
        .boxed()
}
