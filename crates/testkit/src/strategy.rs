//! proptest strategies that build histories. Each one draws a list of
//! choices and runs one of this crate's generators on it (see
//! [`crate::source`]), so when a property fails proptest shrinks the
//! history by shrinking its choices: dropping one removes a decision,
//! zeroing one takes the simplest option (fewer ops, fewer processes, the
//! first alternative), and the shrunk history is printed op by op.

use crate::gen_session::{self, GenOpts};
use crate::small::{self, GenConfig};
use crate::source::Choices;
use crate::unique;
use checker::history::History;
use checker::model::ModelKind;
use proptest::prelude::*;
use std::fmt;
use std::ops::Deref;

/// A generated history; shown as one line per op when a property fails.
#[derive(Clone)]
pub struct Case {
    pub history: History,
    /// How many choices the generator read.
    pub choices_used: usize,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "history of {} ops ({} choices):\n{}",
            self.history.ops.len(),
            self.choices_used,
            small::render(&self.history)
        )
    }
}

impl Deref for Case {
    type Target = History;
    fn deref(&self) -> &History {
        &self.history
    }
}

/// Between `max / 2` and `max` choices: a shorter list reads as zeros past
/// its end, which is what dropping entries while shrinking reaches anyway.
pub fn choices(max: usize) -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(any::<u32>(), max / 2..=max)
}

/// The history `generate` builds from at most `max` choices.
pub fn from_choices<G>(max: usize, generate: G) -> impl Strategy<Value = Case>
where
    G: Fn(&mut Choices) -> History,
{
    choices(max).prop_map(move |list| {
        let mut c = Choices::new(list);
        let history = generate(&mut c);
        Case { history, choices_used: c.used() }
    })
}

/// [`small::random_history`]: tiny value domains, any model, both verdicts common.
pub fn small_history(model: ModelKind, cfg: GenConfig) -> impl Strategy<Value = Case> {
    let max = cfg.max_ops * 12 + 8;
    from_choices(max, move |c| small::random_history(model, &cfg, c))
}

/// [`unique::unique_history`]: unique written values, where the fast paths apply.
pub fn unique_history(model: ModelKind, max_ops: u64) -> impl Strategy<Value = Case> {
    from_choices(400, move |c| unique::unique_history(model, max_ops, c))
}

/// [`unique::kv_append_history`]: kv put/append/get with unique strings.
pub fn kv_append_history(max_ops: u64) -> impl Strategy<Value = Case> {
    from_choices(400, move |c| unique::kv_append_history(max_ops, c))
}

/// [`unique::long_register_history`] of `n` ops on `procs` processes.
pub fn long_register_history(n: usize, procs: u64, corrupt: bool) -> impl Strategy<Value = Case> {
    from_choices(n * 6, move |c| unique::long_register_history(c, n, procs, corrupt))
}

/// [`gen_session::events_from`] with `o` (its seed unused).
pub fn session_history(o: GenOpts) -> impl Strategy<Value = Case> {
    from_choices(o.ops * 12 + 8, move |c| {
        let events: Vec<_> = gen_session::events_from(&o, c).collect();
        History::from_events("gen", events).expect("generated histories are well formed")
    })
}

/// [`gen_session::tiny_register_history`].
pub fn tiny_register_history(sessions: u64, ops: usize) -> impl Strategy<Value = Case> {
    from_choices(ops * 6 + 4, move |c| gen_session::tiny_register_history(c, sessions, ops))
}
