//! The linearizability check on small histories derived from the bytes: its
//! verdict, with and without fast paths, must equal the brute-force oracle's.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| testkit::fuzzing::check_bytes(data));
