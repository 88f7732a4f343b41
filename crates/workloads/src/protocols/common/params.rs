//! Protocol parameters (`--param NAME=VALUE`), declared once per protocol as
//! a table of [`Param`]s: name, what it accepts, default and meaning. The
//! same table parses the command line (one set of rules and messages for
//! every protocol), lists the parameters in `conch list`, and is checked
//! against the tables in `docs/protocols/` by a test.
//!
//! The rules: durations are whole milliseconds (`*_ms`) or nanoseconds
//! (`*_ns`) within a declared range, at most a day; booleans are `true` or
//! `false`; choices are one of the listed words; counts are integers in a
//! declared range. Surrounding spaces are ignored.

use std::collections::BTreeMap;
use std::fmt;

/// `impl Default` for protocols' settings: what their parameter tables'
/// defaults parse to (`from_params` of no parameters), so that a default
/// is declared once, in the table.
macro_rules! default_from_params {
    ($($t:ident),+) => {$(
        impl Default for $t {
            fn default() -> Self {
                $t::from_params(&std::collections::BTreeMap::new()).expect("the defaults parse")
            }
        }
    )+};
}
pub(crate) use default_from_params;

/// `--param` settings as the parsers take them, from `(name, value)`
/// pairs: for tests and for code that builds a protocol's settings.
pub fn given(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A day of virtual time in milliseconds: the upper bound of every
/// duration parameter.
pub const DAY_MS: u64 = 86_400_000;

/// What a parameter accepts, with its default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// Whole milliseconds in `min..=max`; read back in nanoseconds.
    Millis {
        min: u64,
        max: u64,
        default: u64,
    },
    /// Nanoseconds in `min..=max`.
    Nanos {
        min: u64,
        max: u64,
        default: u64,
    },
    /// An integer in `min..=max`; no default means "derived from other
    /// parameters" (absent unless given).
    Int {
        min: u64,
        max: u64,
        default: Option<u64>,
    },
    Bool {
        default: bool,
    },
    /// A probability in `[0, 1]`, written as a decimal (`0.1`).
    Fraction {
        default: f64,
    },
    /// One of `values`.
    Choice {
        values: &'static [&'static str],
        default: &'static str,
    },
}

/// One parameter of a protocol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// What it means, for `conch list`.
    pub doc: &'static str,
}

impl Param {
    /// Milliseconds in `min..=DAY_MS`.
    pub const fn ms(name: &'static str, min: u64, default: u64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Millis { min, max: DAY_MS, default }, doc }
    }

    /// Nanoseconds in `min..=` a day.
    pub const fn ns(name: &'static str, min: u64, default: u64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Nanos { min, max: DAY_MS * 1_000_000, default }, doc }
    }

    pub const fn int(name: &'static str, min: u64, max: u64, default: Option<u64>, doc: &'static str) -> Param {
        Param { name, kind: Kind::Int { min, max, default }, doc }
    }

    pub const fn flag(name: &'static str, default: bool, doc: &'static str) -> Param {
        Param { name, kind: Kind::Bool { default }, doc }
    }

    /// A probability in `[0, 1]`.
    pub const fn fraction(name: &'static str, default: f64, doc: &'static str) -> Param {
        Param { name, kind: Kind::Fraction { default }, doc }
    }

    pub const fn choice(
        name: &'static str,
        values: &'static [&'static str],
        default: &'static str,
        doc: &'static str,
    ) -> Param {
        Param { name, kind: Kind::Choice { values, default }, doc }
    }

    /// The default as a user would write it; `None` when derived.
    pub fn default_text(&self) -> Option<String> {
        match self.kind {
            Kind::Millis { default, .. } | Kind::Nanos { default, .. } => Some(default.to_string()),
            Kind::Int { default, .. } => default.map(|d| d.to_string()),
            Kind::Bool { default } => Some(default.to_string()),
            Kind::Fraction { default } => Some(default.to_string()),
            Kind::Choice { default, .. } => Some(default.to_string()),
        }
    }

    /// What it accepts, as error messages and `conch list` say it.
    pub fn expected(&self) -> String {
        match self.kind {
            Kind::Millis { min, max, .. } => format!("milliseconds in {min}..={max}"),
            Kind::Nanos { min, max, .. } => format!("nanoseconds in {min}..={max}"),
            Kind::Int { min, max, .. } => format!("an integer in {min}..={max}"),
            Kind::Bool { .. } => "true or false".to_string(),
            Kind::Fraction { .. } => "a probability in [0, 1]".to_string(),
            Kind::Choice { values, .. } => format!("one of {}", values.join(", ")),
        }
    }

    fn parse(&self, text: &str) -> Option<Parsed> {
        let text = text.trim();
        let num = |min: u64, max: u64| text.parse::<u64>().ok().filter(|v| (min..=max).contains(v));
        match self.kind {
            Kind::Millis { min, max, .. } => num(min, max).map(|ms| Parsed::Num(ms * 1_000_000)),
            Kind::Nanos { min, max, .. } | Kind::Int { min, max, .. } => num(min, max).map(Parsed::Num),
            Kind::Bool { .. } => match text {
                "true" => Some(Parsed::Bool(true)),
                "false" => Some(Parsed::Bool(false)),
                _ => None,
            },
            Kind::Fraction { .. } => text.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p)).map(Parsed::Frac),
            Kind::Choice { values, .. } => values.iter().find(|v| **v == text).map(|v| Parsed::Word(v)),
        }
    }

    fn default_value(&self) -> Option<Parsed> {
        match self.kind {
            Kind::Millis { default, .. } => Some(Parsed::Num(default * 1_000_000)),
            Kind::Nanos { default, .. } => Some(Parsed::Num(default)),
            Kind::Int { default, .. } => default.map(Parsed::Num),
            Kind::Bool { default } => Some(Parsed::Bool(default)),
            Kind::Fraction { default } => Some(Parsed::Frac(default)),
            Kind::Choice { default, .. } => Some(Parsed::Word(default)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Parsed {
    Num(u64),
    Bool(bool),
    Frac(f64),
    Word(&'static str),
}

/// Why a protocol's parameters were refused. Each names the protocol once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamError {
    /// A name the protocol does not take.
    Unknown { protocol: &'static str, name: String, accepted: Vec<&'static str> },
    /// A value outside what the parameter accepts.
    Invalid { protocol: &'static str, name: &'static str, value: String, expected: String },
    /// Values that are fine alone but not together.
    Conflict { protocol: &'static str, message: String },
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Unknown { protocol, name, accepted } if accepted.is_empty() => {
                write!(f, "{protocol}: unknown parameter `{name}` ({protocol} takes no parameters)")
            }
            ParamError::Unknown { protocol, name, accepted } => {
                write!(f, "{protocol}: unknown parameter `{name}` (accepted: {})", accepted.join(", "))
            }
            ParamError::Invalid { protocol, name, value, expected } => {
                write!(f, "{protocol}: parameter `{name}` must be {expected}, got `{value}`")
            }
            ParamError::Conflict { protocol, message } => write!(f, "{protocol}: {message}"),
        }
    }
}

impl std::error::Error for ParamError {}

/// A protocol's parameters, parsed against its table: every parameter of
/// the table has its value (given or default), except derived ones not
/// given.
#[derive(Clone, Debug)]
pub struct Params {
    protocol: &'static str,
    values: BTreeMap<&'static str, Parsed>,
}

impl Params {
    /// Parses `given` against `table`.
    pub fn parse(
        protocol: &'static str,
        table: &'static [Param],
        given: &BTreeMap<String, String>,
    ) -> Result<Params, ParamError> {
        let mut values: BTreeMap<&'static str, Parsed> =
            table.iter().filter_map(|p| Some((p.name, p.default_value()?))).collect();
        for (name, text) in given {
            let Some(p) = table.iter().find(|p| p.name == name.trim()) else {
                return Err(ParamError::Unknown {
                    protocol,
                    name: name.clone(),
                    accepted: table.iter().map(|p| p.name).collect(),
                });
            };
            let v = p.parse(text).ok_or_else(|| ParamError::Invalid {
                protocol,
                name: p.name,
                value: text.clone(),
                expected: p.expected(),
            })?;
            values.insert(p.name, v);
        }
        Ok(Params { protocol, values })
    }

    /// A duration parameter, in nanoseconds.
    pub fn ns(&self, name: &str) -> u64 {
        self.num(name).unwrap_or_else(|| self.missing(name))
    }

    /// An integer parameter that has a default.
    pub fn int(&self, name: &str) -> u64 {
        self.num(name).unwrap_or_else(|| self.missing(name))
    }

    /// An integer parameter without default: `None` unless given.
    pub fn opt_int(&self, name: &str) -> Option<u64> {
        self.num(name)
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Parsed::Bool(b)) => *b,
            _ => self.missing(name),
        }
    }

    /// A probability parameter.
    pub fn fraction(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Parsed::Frac(p)) => *p,
            _ => self.missing(name),
        }
    }

    pub fn choice(&self, name: &str) -> &'static str {
        match self.values.get(name) {
            Some(Parsed::Word(w)) => w,
            _ => self.missing(name),
        }
    }

    /// A [`ParamError::Conflict`] for this protocol.
    pub fn conflict(&self, message: impl Into<String>) -> ParamError {
        ParamError::Conflict { protocol: self.protocol, message: message.into() }
    }

    fn num(&self, name: &str) -> Option<u64> {
        match self.values.get(name) {
            Some(Parsed::Num(v)) => Some(*v),
            None => None,
            Some(_) => self.missing(name),
        }
    }

    /// A protocol asked for a parameter its own table lacks (or of another
    /// kind): a programming error, caught by each protocol's
    /// builds-from-defaults test.
    fn missing(&self, name: &str) -> ! {
        panic!("{}: parameter `{name}` is not in its table with that kind", self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TABLE: &[Param] = &[
        Param::ms("timeout_ms", 1, 100, "t"),
        Param::ms("period_ms", 0, 50, "p"),
        Param::int("fanout", 1, 8, Some(2), "f"),
        Param::int("r", 1, 9, None, "r"),
        Param::flag("on", true, "o"),
        Param::choice("bug", &["none", "bad"], "none", "b"),
        Param::fraction("chance", 0.1, "c"),
    ];

    #[test]
    fn defaults_fill_in_and_given_values_override() {
        let p = Params::parse("x", TABLE, &given(&[])).unwrap();
        assert_eq!((p.ns("timeout_ms"), p.ns("period_ms"), p.int("fanout")), (100_000_000, 50_000_000, 2));
        assert_eq!((p.opt_int("r"), p.flag("on"), p.choice("bug")), (None, true, "none"));
        assert_eq!(p.fraction("chance"), 0.1);
        let p = Params::parse("x", TABLE, &given(&[("chance", " 1 ")])).unwrap();
        assert_eq!(p.fraction("chance"), 1.0);
        for bad in ["1.5", "-0.1", "NaN", "x"] {
            let e = Params::parse("x", TABLE, &given(&[("chance", bad)])).unwrap_err();
            assert!(e.to_string().contains("a probability in [0, 1]"), "{e}");
        }
        let p = Params::parse("x", TABLE, &given(&[("period_ms", " 0 "), ("r", "3"), ("on", "false"), ("bug", "bad")]))
            .unwrap();
        assert_eq!((p.ns("period_ms"), p.opt_int("r"), p.flag("on"), p.choice("bug")), (0, Some(3), false, "bad"));
    }

    #[test]
    fn errors_name_the_protocol_once_and_say_what_was_expected() {
        let e = Params::parse("abd", TABLE, &given(&[("foo", "1")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "abd: unknown parameter `foo` (accepted: timeout_ms, period_ms, fanout, r, on, bug, chance)"
        );
        let e = Params::parse("abd", TABLE, &given(&[("timeout_ms", "0")])).unwrap_err();
        assert_eq!(e.to_string(), "abd: parameter `timeout_ms` must be milliseconds in 1..=86400000, got `0`");
        let e = Params::parse("abd", TABLE, &given(&[("on", "yes")])).unwrap_err();
        assert_eq!(e.to_string(), "abd: parameter `on` must be true or false, got `yes`");
        let e = Params::parse("abd", TABLE, &given(&[("bug", "worse")])).unwrap_err();
        assert_eq!(e.to_string(), "abd: parameter `bug` must be one of none, bad, got `worse`");
        let e = Params::parse("single", &[], &given(&[("x", "1")])).unwrap_err();
        assert_eq!(e.to_string(), "single: unknown parameter `x` (single takes no parameters)");
    }

    proptest! {
        /// Any in-range number is taken; anything else of the same shape is
        /// refused with an error naming the parameter.
        #[test]
        fn numbers_are_taken_exactly_within_their_range(v in 0u64..20, junk in "[a-z -]{1,4}") {
            let r = Params::parse("x", TABLE, &given(&[("fanout", &v.to_string())]));
            prop_assert_eq!(r.is_ok(), (1..=8).contains(&v));
            if let Ok(p) = r {
                prop_assert_eq!(p.int("fanout"), v);
            }
            let e = Params::parse("x", TABLE, &given(&[("fanout", &junk)])).unwrap_err();
            prop_assert!(e.to_string().contains("`fanout`"), "{}", e);
        }
    }
}
