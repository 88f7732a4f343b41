//! Where generators get their decisions. Every generator in this crate draws
//! each choice from a [`Source`]: a seeded [`Rng`] (ChaCha8, uniform ranges
//! without modulo bias) for `conch gen`, benches and soaks, or a list of
//! [`Choices`] that proptest generates and shrinks. Shrinking a choice list
//! (dropping entries, moving them towards 0) shrinks the history built from
//! it, and an exhausted list reads as zeros, so choice 0 should be the
//! simplest option: the fewest ops, the first alternative, and no rare
//! branch ([`Source::chance`] is false).
//! This is the choice-sequence approach of Hypothesis, applied to
//! hand-written generators.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A stream of decisions.
pub trait Source {
    /// In `0..n`, uniformly for a random source; 0 when `n` is 0 or 1.
    fn below(&mut self, n: u64) -> u64;

    /// True with probability `percent` percent. Choice 0 is `false` (for
    /// `percent` < 100): the rare branch (a fault, a corrupted read) is
    /// never the simplest.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) + percent.min(100) >= 100
    }

    /// One of `xs` (`xs` must not be empty).
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// In `lo..=hi` (`lo` when `hi < lo`).
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn below(&mut self, n: u64) -> u64 {
        (**self).below(n)
    }
}

/// The seeded random source: ChaCha8, the same stream on every platform.
#[derive(Clone, Debug)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// 64 random bits (for tests that need raw bytes).
    pub fn next_u64(&mut self) -> u64 {
        self.0.random()
    }
}

impl Source for Rng {
    fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }
}

/// Decisions read from a list (proptest's `Vec<u32>`); zeros once it runs
/// out. Each entry maps to `0..n` by multiply-shift, so entry 0 is choice 0
/// and smaller entries are smaller choices, which is what shrinking needs.
#[derive(Clone, Debug, Default)]
pub struct Choices {
    list: Vec<u32>,
    pos: usize,
}

impl Choices {
    pub fn new(list: Vec<u32>) -> Choices {
        Choices { list, pos: 0 }
    }

    /// How many entries were read (including reads past the end).
    pub fn used(&self) -> usize {
        self.pos
    }
}

impl Source for Choices {
    fn below(&mut self, n: u64) -> u64 {
        let c = self.list.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        ((c as u128 * n as u128) >> 32) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let (mut a, mut b) = (Rng::new(9), Rng::new(9));
        for n in [0u64, 1, 2, 3, 7, 100, u64::MAX] {
            let x = a.below(n);
            assert_eq!(x, b.below(n));
            assert!(x < n.max(1));
        }
    }

    #[test]
    fn rng_is_roughly_uniform() {
        let mut r = Rng::new(1);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[r.below(3) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_000..11_000).contains(&c)), "{counts:?}");
    }

    #[test]
    fn choices_map_zero_to_zero_and_run_out_as_zeros() {
        let mut c = Choices::new(vec![0, u32::MAX, 1 << 31]);
        assert_eq!(c.below(10), 0);
        assert_eq!(c.below(10), 9);
        assert_eq!(c.below(10), 5);
        assert_eq!(c.below(10), 0, "past the end");
        assert_eq!(c.used(), 4);
        assert!(!c.chance(99), "choice 0 is false");
        assert!(c.chance(100));
        assert!(!Choices::new(vec![u32::MAX]).chance(0));
        assert!(Choices::new(vec![u32::MAX]).chance(1));
    }
}
