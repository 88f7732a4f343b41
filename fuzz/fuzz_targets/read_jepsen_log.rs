//! The jepsen log reader, with the format given and detected: must never panic.
#![no_main]

use checker::read::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| testkit::fuzzing::read_one(Format::JepsenLog, data));
