//! A software U2F security key for tests: it exchanges the same 64-byte CTAPHID reports a real key
//! exchanges over USB HID, and derives all its keys from a seed.
//!
//! ```
//! use aa_virtual_key::{Presence, VirtualKey};
//! let key = VirtualKey::new(b"demo");
//! key.set_presence(Presence::Always);
//! assert_eq!(key.apdu(&[0, 3, 0, 0, 0, 0, 0]), b"U2F_V2\x90\x00");
//! ```

pub mod apdu;
mod attestation;
mod authenticator;
pub mod ctap2;
pub mod ctaphid;
mod device;
mod devices;
mod fault;
pub mod keys;
mod presence;
mod protocols;
mod state_file;
mod virtual_key;

pub use attestation::ATTESTATION_SUBJECT;
pub use authenticator::U2F_VERSION;
pub use ctap2::credential::{Fido2Credential, AAGUID};
pub use ctap2::status as ctap2_status;
pub use ctaphid::Report;
pub use devices::VirtualDevices;
pub use fault::Fault;
pub use keys::{application_parameter, sign_der, Enrollment, KeyMaterial, KEY_HANDLE_LEN};
pub use presence::{Presence, TOUCH_VALIDITY};
pub use protocols::Protocols;
pub use virtual_key::{Disconnected, VirtualKey};

/// Size of every HID report, in both directions.
pub const REPORT_LEN: usize = 64;
/// USB vendor id for HID descriptors: pid.codes, the open-source vendor id.
pub const VENDOR_ID: u16 = 0x1209;
/// USB product id for HID descriptors: from the pid.codes test range (0x0000–0x0FFF).
pub const PRODUCT_ID: u16 = 0x0AAF;
/// Manufacturer string for HID descriptors.
pub const MANUFACTURER: &str = "aa-logon testkit";
/// Product string for HID descriptors.
pub const PRODUCT: &str = "aa-virtual-key U2F";
