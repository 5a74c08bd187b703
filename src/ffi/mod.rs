//! The C ABI — the only module with `extern "C"` and `unsafe`.
//!
//! Patterns (see docs/CONTRIBUTING.md and rustls-ffi): opaque handles validated on every call
//! ([`handles`]), a panic boundary inside every exported body ([`boundary`]), `#[repr(u32)]`
//! status codes with fixed numbers ([`status`]), results through out-parameters written only
//! on success, an optional `aa_error **error_out` with the full message, and library-owned
//! strings freed only by `aa_string_free`.

#![allow(non_camel_case_types)] // C type names

mod args;
mod boundary;
mod client;
mod error;
mod handles;
mod json;
mod log;
mod logon;
mod status;
mod version;
#[cfg(feature = "virtual-device")]
mod virtual_device;

pub use args::{aa_string_free, static_str, take_string, AA_LOGON_MAX_ARGUMENT_LEN};
pub use client::*;
pub use error::*;
pub use log::*;
pub use logon::*;
pub use status::*;
pub use version::*;
#[cfg(feature = "virtual-device")]
pub use virtual_device::*;

/// Live objects of every handle type and library strings not yet freed — for leak tests.
pub fn live_object_counts() -> [(&'static str, usize); 6] {
    [
        ("client_options", client::OPTIONS.len()),
        ("clients", client::CLIENTS.len()),
        ("logons", logon::LOGONS.len()),
        ("errors", error::ERRORS.len()),
        ("strings", args::live_string_count()),
        ("virtual_keys", virtual_key_count()),
    ]
}

#[cfg(feature = "virtual-device")]
fn virtual_key_count() -> usize {
    virtual_device::VIRTUAL_KEYS.len()
}

#[cfg(not(feature = "virtual-device"))]
fn virtual_key_count() -> usize {
    0
}

/// The number of handles (of every type) and library strings that are allocated and not yet
/// freed, process-wide. For leak checks in tests and bindings: after all objects are freed it
/// returns to its earlier value.
#[no_mangle]
pub extern "C" fn aa_live_objects(count_out: *mut usize) -> status::aa_status {
    boundary::guard_status(|| {
        let total = live_object_counts().iter().map(|(_, n)| n).sum();
        args::Out::new(count_out, "count_out")?.write(total);
        Ok(())
    })
}
