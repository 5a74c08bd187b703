//! libaa_logon_testkit: the testkit's virtual security keys for C, Python and C# tests. Test-only,
//! never part of libaa_logon: its keys reach a client through libaa_logon's public pluggable HID
//! transport, exactly as any caller's own devices would (`aa_virtual_devices_hid_io` fills an
//! `aa_hid_io` that the test passes to `aa_client_set_hid_io`).
//!
//! Stack: `status` → `objects` (validated handles) → `io` (the aa_hid_io functions) → `exports`.

#![allow(non_camel_case_types)] // C type names
#![deny(unsafe_op_in_unsafe_fn)]

mod exports;
mod fido2;
mod io;
mod objects;
mod status;

pub use exports::*;
pub use fido2::*;
pub use io::{aa_hid_device_info, aa_hid_io};
pub use status::aa_status;
