//! The seam between the protocol code and a device: whole 64-byte reports in and out, and the
//! source of devices. The base layer of `fido`: it uses nothing of the modules above it.

use std::time::Duration;

use crate::Result;

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
