//! The CTAPHID_INIT reply: the channel a key allocated, its protocol and firmware versions and its
//! capability flags. Below the channel layer, so both the channel and the device details read it.

use std::fmt;

use super::frame::BROADCAST_CID;

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

/// What a device said about itself in its INIT reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitReply {
    pub cid: u32,
    pub protocol_version: u8,
    pub device_version: DeviceVersion,
    pub capabilities: Capabilities,
}

impl InitReply {
    /// Parses the 17 (or more) byte INIT reply after the 8-byte nonce was checked.
    pub(crate) fn parse(payload: &[u8]) -> Option<InitReply> {
        let fields: &[u8; 9] = payload.get(8..17)?.try_into().ok()?;
        let cid = u32::from_be_bytes([fields[0], fields[1], fields[2], fields[3]]);
        if cid == 0 || cid == BROADCAST_CID {
            return None;
        }
        Some(InitReply {
            cid,
            protocol_version: fields[4],
            device_version: DeviceVersion { major: fields[5], minor: fields[6], build: fields[7] },
            capabilities: Capabilities::from_bits(fields[8]),
        })
    }
}
