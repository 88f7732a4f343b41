//! Exit codes for CI gates, and the one rule that chooses them from many
//! verdicts (files, checks, seeds, protocols).

use checker::Verdict;

/// Every requested check holds.
pub const VALID: u8 = 0;
/// An anomaly was found.
pub const INVALID: u8 = 1;
/// Bad input or usage; the message names the file and line.
pub const BAD_INPUT: u8 = 2;
/// Undecided (a budget ran out, a run was cut short, nothing was checked) and nothing found.
pub const UNKNOWN: u8 = 3;

/// The exit code of a command that judged `verdicts` and could not read
/// `bad_inputs` of its inputs:
///
/// 1. any invalid: 1. An anomaly is the one finding a gate must never hide,
///    and one unreadable file among eighty must not mask seventy-nine
///    violations;
/// 2. else any bad input: 2. Something the user gave was not checked at all,
///    which is worse than checked and undecided;
/// 3. else any unknown: 3;
/// 4. else 0. Nothing is green unless something was checked: with no
///    verdict and no bad input (nothing at all was judged) the code is 3.
pub fn code(verdicts: impl IntoIterator<Item = Verdict>, bad_inputs: usize) -> u8 {
    let (mut any, mut invalid, mut unknown) = (false, false, false);
    for v in verdicts {
        any = true;
        invalid |= v == Verdict::Invalid;
        unknown |= v == Verdict::Unknown;
    }
    if invalid {
        INVALID
    } else if bad_inputs > 0 {
        BAD_INPUT
    } else if unknown || !any {
        UNKNOWN
    } else {
        VALID
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    /// Invalid wins over bad input, bad input over unknown, unknown over
    /// valid; nothing judged is unknown.
    #[test]
    fn the_worst_outcome_decides_the_code() {
        // (verdicts, bad inputs, code)
        let cases: &[(&[Verdict], usize, u8)] = &[
            // An invalid file wins over a bad one.
            (&[Valid, Invalid, Unknown], 1, INVALID),
            // A bad input wins over unknown and valid.
            (&[Valid, Unknown], 1, BAD_INPUT),
            (&[], 1, BAD_INPUT),
            // Unknown wins over valid.
            (&[Valid, Unknown, Valid], 0, UNKNOWN),
            // All valid is zero, and nothing judged is unknown.
            (&[Valid, Valid], 0, VALID),
            (&[], 0, UNKNOWN),
        ];
        for &(verdicts, bad_inputs, want) in cases {
            assert_eq!(code(verdicts.iter().copied(), bad_inputs), want, "{verdicts:?}, {bad_inputs} bad");
        }
    }
}
