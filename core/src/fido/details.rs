//! What a device tells about itself (for the CLI's `devices` command), and WINK.

use std::fmt;
use std::time::Duration;

use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::frame::command;
use super::{u2f, DeviceInfo, DeviceProvider};
use crate::{CancelToken, Error, ErrorKind, Result};

/// Budget for the short exchanges of [`describe`] and [`wink`].
const QUERY_BUDGET: Duration = Duration::from_secs(5);

/// Firmware version from the INIT reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u8,
}

impl fmt::Display for DeviceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)
    }
}

/// CTAPHID capability flags from the INIT reply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    bits: u8,
}

impl Capabilities {
    const WINK: u8 = 0x01;
    const LOCK: u8 = 0x02;
    const CBOR: u8 = 0x04;
    const NMSG: u8 = 0x08;

    /// From the raw flag byte.
    pub fn from_bits(bits: u8) -> Self {
        Capabilities { bits }
    }

    /// The raw flag byte.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The key can blink on request (CTAPHID_WINK).
    pub fn wink(&self) -> bool {
        self.bits & Self::WINK != 0
    }

    /// The key supports CTAPHID_LOCK (U2F-era flag).
    pub fn lock(&self) -> bool {
        self.bits & Self::LOCK != 0
    }

    /// The key speaks CTAP2 (CTAPHID_CBOR).
    pub fn cbor(&self) -> bool {
        self.bits & Self::CBOR != 0
    }

    /// The key refuses CTAPHID_MSG, i.e. has no U2F/CTAP1.
    pub fn no_msg(&self) -> bool {
        self.bits & Self::NMSG != 0
    }

    /// Names of the flags that are set (`WINK`, `LOCK`, `CBOR`, `NMSG`).
    pub fn names(&self) -> Vec<&'static str> {
        [(self.wink(), "WINK"), (self.lock(), "LOCK"), (self.cbor(), "CBOR"), (self.no_msg(), "NMSG")]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect()
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = self.names();
        if names.is_empty() {
            write!(f, "none (0x{:02x})", self.bits)
        } else {
            write!(f, "{} (0x{:02x})", names.join("|"), self.bits)
        }
    }
}

/// Everything known about one FIDO device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceDetails {
    /// What the operating system reports.
    pub info: DeviceInfo,
    /// CTAPHID protocol version (2 for current keys).
    pub ctaphid_version: u8,
    /// Firmware version.
    pub device_version: DeviceVersion,
    /// Capability flags.
    pub capabilities: Capabilities,
    /// The U2F version string (`U2F_V2`); `None` for keys without U2F (NMSG).
    pub u2f_version: Option<String>,
}

/// Opens the device at `path` and asks it about itself.
pub fn describe(devices: &dyn DeviceProvider, path: &str) -> Result<DeviceDetails> {
    let info = find(devices, path)?;
    let cancel = CancelToken::new();
    let deadline = Deadline::after(QUERY_BUDGET, &cancel);
    let mut channel = open(devices, path, &deadline)?;
    let init = *channel.init_reply();
    let u2f_version = if init.capabilities.no_msg() {
        None
    } else {
        Some(u2f::version(&mut channel, &deadline).map_err(|e| query_error(path, e))?)
    };
    Ok(DeviceDetails {
        info,
        ctaphid_version: init.protocol_version,
        device_version: init.device_version,
        capabilities: init.capabilities,
        u2f_version,
    })
}

/// Makes the device at `path` blink, so a user can tell which of several keys it is.
pub fn wink(devices: &dyn DeviceProvider, path: &str) -> Result<()> {
    let cancel = CancelToken::new();
    let deadline = Deadline::after(QUERY_BUDGET, &cancel);
    let mut channel = open(devices, path, &deadline)?;
    if !channel.init_reply().capabilities.wink() {
        return Err(Error::new(ErrorKind::DeviceProtocol, format!("{path}: the device cannot wink")));
    }
    channel.transact(command::WINK, &[], &deadline).map_err(|e| query_error(path, e))?;
    Ok(())
}

fn find(devices: &dyn DeviceProvider, path: &str) -> Result<DeviceInfo> {
    devices
        .list()?
        .into_iter()
        .find(|info| info.path == path)
        .ok_or_else(|| Error::new(ErrorKind::NoDevice, format!("no FIDO device at {path}")))
}

fn open(devices: &dyn DeviceProvider, path: &str, deadline: &Deadline) -> Result<Channel> {
    let transport = devices.open(path)?;
    Channel::open(transport, path, deadline).map_err(|e| query_error(path, e))
}

fn query_error(path: &str, error: ExchangeError) -> Error {
    match error {
        ExchangeError::Device(e) => e,
        ExchangeError::Cancelled => Error::new(ErrorKind::Cancelled, format!("{path}: cancelled")),
        ExchangeError::DeadlinePassed => Error::new(
            ErrorKind::DeviceProtocol,
            format!("{path}: the device did not answer within {QUERY_BUDGET:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_capability_flags() {
        let caps = Capabilities::from_bits(0x05);
        assert!(caps.wink() && caps.cbor() && !caps.lock() && !caps.no_msg());
        assert_eq!(caps.to_string(), "WINK|CBOR (0x05)");
        assert_eq!(Capabilities::from_bits(0).to_string(), "none (0x00)");
        assert_eq!(Capabilities::from_bits(0x0f).names(), ["WINK", "LOCK", "CBOR", "NMSG"]);
    }
}
