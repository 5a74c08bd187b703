//! What the bridge needs from a key: whole 64-byte reports in each direction.

use std::time::Duration;

use crate::descriptor::REPORT_LEN;

/// One 64-byte HID report.
pub type Report = [u8; REPORT_LEN];

/// The key was unplugged or shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointGone;

/// The device side of a HID interface, as the bridge drives it.
pub trait Endpoint: Send + Sync + 'static {
    /// Delivers one report written by the host.
    fn host_to_device(&self, report: &Report) -> Result<(), EndpointGone>;
    /// Waits up to `timeout` for the next report the device sends; `Ok(None)` when none came.
    fn device_to_host(&self, timeout: Duration) -> Result<Option<Report>, EndpointGone>;
}
