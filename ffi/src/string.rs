//! `aa_string_free`, the one way to free the strings this library returns.

use std::ffi::c_char;

use super::boundary::guard_status;
use super::status::aa_status;
use super::strings;

/// Frees a string returned by this library through a `char **` out-parameter.
///
/// NULL is accepted and ignored. Returns AA_STATUS_INVALID_HANDLE (and frees nothing) for a
/// pointer this library did not hand out or that was already freed; freed strings are wiped and
/// their addresses are not reused for the next 4096 strings, so a stale free is reported even
/// after new strings were handed out.
///
/// # Safety
/// `string` is any pointer: it is compared with the strings handed out, never dereferenced
/// unless it is one of them.
#[no_mangle]
pub unsafe extern "C" fn aa_string_free(string: *mut c_char) -> aa_status {
    guard_status(|| strings::free_string(string))
}

/// For Rust programs that drive the C API itself (the CLI's demo, tests): copies a string this
/// library returned through a `char **` out-parameter and frees it, atomically. Sound for any
/// pointer: anything the library did not hand out (or already freed) gives `None`.
pub fn take_string(string: *mut c_char) -> Option<String> {
    strings::take_string(string)
}
