//! Process-wide facts: the library version, status descriptions, and the live-object count.

use std::ffi::{c_char, CStr};

use super::args::Out;
use super::boundary::{guard_static, guard_status, ERRORS};
use super::status::aa_status;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version ("MAJOR.MINOR.PATCH"); static, never NULL, not to be freed. Compare with
/// the AA_LOGON_VERSION_* macros of the header you compiled against.
#[no_mangle]
pub extern "C" fn aa_version() -> *const c_char {
    guard_static(|| version_cstr().as_ptr())
}

fn version_cstr() -> &'static CStr {
    CStr::from_bytes_with_nul(VERSION.as_bytes()).unwrap_or(c"unknown")
}

/// A static, human-readable description of `status`. Never NULL; the string is owned by the
/// library and must not be freed. Unknown values give "unknown status".
#[no_mangle]
pub extern "C" fn aa_status_str(status: u32) -> *const c_char {
    guard_static(|| aa_status::try_from(status).map_or(c"unknown status", aa_status::description).as_ptr())
}

/// Live objects of every handle type and library strings not yet freed — for leak tests.
pub fn live_object_counts() -> [(&'static str, usize); 6] {
    [
        ("client_options", super::client::OPTIONS.len()),
        ("clients", super::client::CLIENTS.len()),
        ("logons", super::logon::LOGONS.len()),
        ("errors", ERRORS.len()),
        ("strings", super::strings::live_string_count()),
        ("device_lists", super::hid_io::live_device_lists()),
    ]
}

/// The number of handles (of every type) and library strings that are allocated and not yet
/// freed, process-wide. For leak checks in tests and bindings: after all objects are freed it
/// returns to its earlier value.
///
/// # Safety
/// `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_live_objects(count_out: *mut usize) -> aa_status {
    guard_status(|| {
        let total = live_object_counts().iter().map(|(_, n)| n).sum();
        // SAFETY: the caller's contract covers count_out.
        unsafe { Out::new(count_out, "count_out") }?.write(total);
        Ok(())
    })
}

/// For Rust programs that drive the C API (the CLI's demo, tests): the text of a static string
/// returned by aa_status_str, aa_log_level_str or aa_version; "" for any other pointer.
pub fn static_str(string: *const c_char) -> &'static str {
    let statuses = aa_status::ALL.iter().map(|s| s.description()).chain([c"unknown status"]);
    statuses
        .chain(super::log::level_names().iter().copied())
        .chain([version_cstr()])
        .find(|s| s.as_ptr() == string)
        .and_then(|s| s.to_str().ok())
        .unwrap_or("")
}
