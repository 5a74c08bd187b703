//! Production transport: FIDO devices through one process-wide hidapi context.

use std::ffi::CString;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hidapi::{HidApi, HidDevice};

use super::transport::{DeviceInfo, DeviceProvider, HidTransport, Report, REPORT_LEN};
use crate::{Error, ErrorKind, Result};

/// FIDO Alliance HID usage page and the CTAPHID usage within it.
const FIDO_USAGE_PAGE: u16 = 0xF1D0;
const FIDO_USAGE_CTAPHID: u16 = 0x01;

/// hidapi wants one context per process and serialised enumerate/open calls. Created on first
/// use; a failed creation is retried on the next call.
static CONTEXT: Mutex<Option<HidApi>> = Mutex::new(None);

fn context() -> Result<MutexGuard<'static, Option<HidApi>>> {
    let mut guard = CONTEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.is_none() {
        let api = HidApi::new().map_err(|e| hid_error("hidapi", format!("cannot initialise hidapi: {e}")))?;
        *guard = Some(api);
    }
    Ok(guard)
}

/// FIDO security keys attached over USB HID (hidraw on Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct HidapiDevices;

impl HidapiDevices {
    /// The USB HID device source; the hidapi context itself is created on first use.
    pub fn new() -> Self {
        HidapiDevices
    }
}

impl DeviceProvider for HidapiDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        let mut guard = context()?;
        let Some(api) = guard.as_mut() else { return Ok(Vec::new()) };
        api.refresh_devices()
            .map_err(|e| hid_error("hidapi", format!("cannot enumerate HID devices: {e}")))?;
        Ok(api
            .device_list()
            .filter(|d| d.usage_page() == FIDO_USAGE_PAGE && d.usage() == FIDO_USAGE_CTAPHID)
            .map(|d| DeviceInfo {
                path: d.path().to_string_lossy().into_owned(),
                vendor_id: d.vendor_id(),
                product_id: d.product_id(),
                manufacturer: d.manufacturer_string().map(str::to_owned),
                product: d.product_string().map(str::to_owned),
                serial_number: d.serial_number().map(str::to_owned),
            })
            .collect())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        let c_path = CString::new(path).map_err(|_| {
            Error::new(ErrorKind::Config, format!("device path {path:?} contains a NUL byte"))
        })?;
        let guard = context()?;
        let Some(api) = guard.as_ref() else { return Err(hid_error(path, "hidapi is not initialised")) };
        let device = api.open_path(&c_path).map_err(|e| hid_error(path, format!("cannot open: {e}")))?;
        Ok(Box::new(HidapiTransport { device, path: path.to_owned() }))
    }
}

/// One opened hidraw/hidapi device.
struct HidapiTransport {
    device: HidDevice,
    path: String,
}

impl HidTransport for HidapiTransport {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        // hid_write takes the report id first: 0 for the single unnumbered FIDO report.
        let mut buffer = [0u8; REPORT_LEN + 1];
        buffer[1..].copy_from_slice(report);
        match self.device.write(&buffer) {
            Ok(0) => Err(hid_error(&self.path, "write accepted no bytes")),
            Ok(_) => Ok(()),
            Err(e) => Err(hid_error(&self.path, format!("write failed: {e}"))),
        }
    }

    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let mut report = [0u8; REPORT_LEN];
        match self.device.read_timeout(&mut report, millis) {
            // 0 bytes is hidapi's "timed out", not an all-zero packet.
            Ok(0) => Ok(None),
            Ok(REPORT_LEN) => Ok(Some(report)),
            Ok(short) => {
                log::debug!("{}: ignored a short read of {short} bytes", self.path);
                Ok(None)
            }
            Err(e) => Err(hid_error(&self.path, format!("read failed: {e}"))),
        }
    }
}

fn hid_error(path: &str, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::DeviceProtocol, format!("{path}: {message}"))
}
