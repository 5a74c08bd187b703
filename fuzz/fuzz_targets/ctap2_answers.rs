//! See aa_logon::fuzzing::ctap2_answers for the input layout and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| aa_logon::fuzzing::ctap2_answers(data));
