//! The library version at run time.

use std::ffi::{c_char, CStr};

use super::boundary::guard_static;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version ("MAJOR.MINOR.PATCH"); static, never NULL, not to be freed. Compare with
/// the AA_LOGON_VERSION_* macros of the header you compiled against.
#[no_mangle]
pub extern "C" fn aa_version() -> *const c_char {
    guard_static(|| version_cstr().as_ptr())
}

pub(crate) fn version_cstr() -> &'static CStr {
    CStr::from_bytes_with_nul(VERSION.as_bytes()).unwrap_or(c"unknown")
}
