//! A software U2F security key for tests: it exchanges the same 64-byte CTAPHID reports a real key
//! exchanges over USB HID, and derives all its keys from a seed.

pub mod keys;

pub use keys::{application_parameter, Enrollment, KeyMaterial, KEY_HANDLE_LEN};
