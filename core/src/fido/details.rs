//! What a device tells about itself (for the CLI's `devices` command): INIT, U2F VERSION and,
//! for CTAP2 keys, getInfo and the PIN retries; and WINK.

use std::time::Duration;

use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::frame::command;
use super::get_info::{get_info, Ctap2Info};
use super::init::{Capabilities, DeviceVersion};
use super::pin;
use super::transport::{DeviceInfo, DeviceProvider};
use super::u2f;
use crate::{CancelToken, Error, ErrorKind, Result};

/// Budget for the short exchanges of [`describe`] and [`wink`].
const QUERY_BUDGET: Duration = Duration::from_secs(5);

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
    /// The getInfo answer of a CTAP2 key (capability CBOR); `None` for U2F-only keys and for keys
    /// whose getInfo failed (logged).
    pub ctap2: Option<Ctap2Info>,
    /// PIN retries left, for CTAP2 keys with a PIN set.
    pub pin_retries: Option<u32>,
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
    let ctap2 = if init.capabilities.cbor() {
        match get_info(&mut channel, &deadline) {
            Ok(info) => Some(info),
            Err(error) => {
                log::warn!(
                    "{path}: claims CTAP2 but getInfo failed: {}",
                    query_error(path, error.into_exchange(&channel, "getInfo"))
                );
                None
            }
        }
    } else {
        None
    };
    let pin_retries = match ctap2.as_ref() {
        Some(info) if info.pin_set() == Some(true) => pin::choose_protocol(info)
            .map(|protocol| pin::retries(&mut channel, protocol, &deadline))
            .transpose()
            .map_err(|e| query_error(path, e.into_exchange(&channel, "getPinRetries")))?,
        _ => None,
    };
    Ok(DeviceDetails {
        info,
        ctaphid_version: init.protocol_version,
        device_version: init.device_version,
        capabilities: init.capabilities,
        u2f_version,
        ctap2,
        pin_retries,
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
