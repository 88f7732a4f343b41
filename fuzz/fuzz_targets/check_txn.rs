//! The transactional checker on raw EDN / JSON Lines text and on small
//! generated histories: it must never panic, and its verdicts must respect
//! the model hierarchy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| testkit::fuzzing::check_txn(data));
