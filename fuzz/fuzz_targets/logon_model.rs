//! See aa_logon::fuzzing::logon_model for the input layout and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aa_logon::fuzzing::logon_model(data));
