//! Sharded checking against whole checking: the first byte picks the number
//! of shards, the rest is a history file; reports or errors must be equal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| testkit::fuzzing::sharded_matches_whole(data));
