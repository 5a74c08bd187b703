//! The C ABI of aa-logon — the only crate with `extern "C"` and `unsafe`. The shipped library
//! `libaa_logon` (crate `libaa-logon`) is this crate in cdylib / staticlib form.
//!
//! Patterns (see docs/CONTRIBUTING.md and rustls-ffi): opaque handles validated on every call
//! ([`handles`]), a panic boundary inside every exported body ([`boundary`]), `#[repr(u32)]`
//! status codes with fixed numbers ([`status`]), results through out-parameters written only on
//! success, an optional `aa_error **error_out` with the full message, library-owned strings
//! freed only by `aa_string_free`, and caller-supplied HID transports ([`hid_io`]).
//!
//! Modules form one stack, each using only those above it in this list:
//! `enums`, `status` → `result` → `args`, `strings`, `handles` → `boundary` → `json` →
//! the exports by family: `error`, `info`, `log`, `hid_io`, `client`, `logon`, `string`.

#![allow(non_camel_case_types)] // C type names
#![deny(unsafe_op_in_unsafe_fn)]

mod enums;
mod status;

mod result;

mod args;
mod handles;
mod strings;

mod boundary;

mod json;

mod client;
mod error;
mod hid_io;
mod info;
mod log;
mod logon;
mod string;

pub use args::AA_LOGON_MAX_ARGUMENT_LEN;
pub use boundary::aa_error;
pub use client::*;
pub use error::*;
pub use hid_io::*;
pub use info::*;
pub use log::*;
pub use logon::*;
pub use status::aa_status;
pub use string::*;
