//! The virtual keys as a device source of the aa-logon core (its `DeviceProvider`): plugged in and
//! pulled out by the test, seen by the same protocol code as USB keys.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aa_logon::fido::{DeviceInfo, DeviceProvider, HidTransport, Report};
use aa_logon::{Error, ErrorKind, Result};

use crate::VirtualKey;

/// A set of virtual keys acting as the attached USB devices.
#[derive(Debug, Default)]
pub struct VirtualDevices {
    state: Mutex<Attached>,
}

#[derive(Debug, Default)]
struct Attached {
    keys: Vec<(String, VirtualKey)>,
    inserted: u64,
}

impl VirtualDevices {
    /// No key attached.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plugs `key` in; returns its device path (`virtual:N`, never reused).
    pub fn insert(&self, key: VirtualKey) -> String {
        let mut attached = self.lock();
        let path = format!("virtual:{}", attached.inserted);
        attached.inserted += 1;
        attached.keys.push((path.clone(), key));
        log::debug!("{path}: virtual key inserted");
        path
    }

    /// Pulls the key at `path` out: it disappears from the list and its open transports fail.
    pub fn remove(&self, path: &str) {
        let mut attached = self.lock();
        if let Some(index) = attached.keys.iter().position(|(p, _)| p == path) {
            let (_, key) = attached.keys.remove(index);
            key.disconnect();
            log::debug!("{path}: virtual key removed");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Attached> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeviceProvider for VirtualDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        Ok(self
            .lock()
            .keys
            .iter()
            .filter(|(_, key)| key.is_connected())
            .map(|(path, _)| DeviceInfo {
                path: path.clone(),
                vendor_id: crate::VENDOR_ID,
                product_id: crate::PRODUCT_ID,
                manufacturer: Some(crate::MANUFACTURER.to_owned()),
                product: Some(crate::PRODUCT.to_owned()),
                serial_number: Some(path.clone()),
            })
            .collect())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        let attached = self.lock();
        let (_, key) =
            attached.keys.iter().find(|(p, key)| p == path && key.is_connected()).ok_or_else(|| {
                Error::new(ErrorKind::DeviceProtocol, format!("{path}: no such virtual key"))
            })?;
        Ok(Box::new(VirtualTransport { key: key.clone(), path: path.to_owned() }))
    }
}

/// An open virtual key.
struct VirtualTransport {
    key: VirtualKey,
    path: String,
}

impl VirtualTransport {
    fn unplugged(&self) -> Error {
        Error::new(ErrorKind::DeviceProtocol, format!("{}: the key was unplugged", self.path))
    }
}

impl HidTransport for VirtualTransport {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        self.key.write_report(report).map_err(|_| self.unplugged())
    }

    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
        self.key.read_report(timeout).map_err(|_| self.unplugged())
    }
}
