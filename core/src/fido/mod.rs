//! FIDO host stack: device discovery, CTAPHID framing, U2F/CTAP1 APDUs and the sign flow.
//!
//! Everything above the [`HidTransport`] seam is the same for real keys (hidapi) and for the
//! testkit's virtual key and the C ABI's caller-supplied transports.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod apdu;
mod ctaphid;
mod deadline;
mod details;
mod frame;
mod hidapi_devices;
mod sign;
#[cfg(test)]
mod test_support;
mod trace;
mod u2f;

pub use details::{describe, wink, Capabilities, DeviceDetails, DeviceVersion};
pub use hidapi_devices::HidapiDevices;
pub use sign::sign;
pub use trace::FRAMES_TARGET;

use crate::{CancelToken, Result};

/// Size of every CTAPHID report exchanged with a key, without hidapi's report-id byte.
pub const REPORT_LEN: usize = 64;

/// One 64-byte HID report.
pub type Report = [u8; REPORT_LEN];

/// The seam between the protocol code and a device: write and read whole 64-byte reports.
pub trait HidTransport: Send {
    /// Sends one report to the device (implementations add hidapi's report-id byte themselves).
    fn write_report(&mut self, report: &Report) -> Result<()>;
    /// Waits up to `timeout` for one report from the device; `Ok(None)` when none arrived.
    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>>;
}

/// What the operating system tells about a FIDO HID device before it is opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Platform path used to open the device (`/dev/hidraw3`, `virtual:demo#0`, …).
    pub path: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial_number: Option<String>,
}

/// A source of FIDO devices: hidapi in production, virtual keys in tests.
pub trait DeviceProvider: Send + Sync {
    /// The FIDO devices (usage page 0xF1D0, usage 1) present now.
    fn list(&self) -> Result<Vec<DeviceInfo>>;
    /// Opens the device at `path` for exclusive use by the caller.
    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>>;
}

/// One entry of the server's `signRequests` (camelCase on the wire, as AA sends it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    /// `U2F_V2`.
    #[serde(default)]
    pub version: String,
    /// The server's challenge, base64url; copied verbatim into clientData.
    pub challenge: String,
    /// base64url key handle of one enrolled key.
    pub key_handle: String,
    /// The appId; its SHA-256 is the application parameter and it is clientData's `origin`.
    pub app_id: String,
}

/// What AA expects back in `response.signResponse` (base64url without padding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignResponse {
    pub key_handle: String,
    pub client_data: String,
    pub signature_data: String,
}

/// What the user should be told while a sign operation waits for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// No FIDO device is present: ask the user to insert their key.
    InsertKey,
    /// A key owning a handle was found and waits for a touch.
    TouchKey,
    /// The key was touched; the signature is on its way.
    Touched,
}

/// The prompt callback type: called from the thread that runs the sign operation.
pub type PromptCallback = Arc<dyn Fn(Prompt) + Send + Sync>;

/// How a sign operation behaves.
#[derive(Clone)]
pub struct SignOptions {
    /// Overall deadline for finding a device and getting the touch.
    pub timeout: Duration,
    /// Optional prompt callback.
    pub prompt: Option<PromptCallback>,
    /// Cancel from another thread; the exchange stops within one poll interval.
    pub cancel: CancelToken,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions { timeout: Duration::from_secs(30), prompt: None, cancel: CancelToken::new() }
    }
}

impl std::fmt::Debug for SignOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOptions")
            .field("timeout", &self.timeout)
            .field("prompt", &self.prompt.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}
