//! The `struct uhid_event` wire format of `linux/uhid.h`, encoded and decoded by hand.
//!
//! Every uhid message is a packed `u32` event type followed by a packed, native-endian payload. The
//! kernel zero-fills whatever a write leaves out, so requests are written only as long as needed;
//! reads return at most [`EVENT_SIZE`] bytes.

use std::fmt;

/// `sizeof(struct uhid_event)` as compiled from `linux/uhid.h`: the type plus a payload union that
/// pads to 4376 bytes (its largest member, `uhid_create2_req`, is 4372).
pub const EVENT_SIZE: usize = 4380;
/// `UHID_DATA_MAX`: capacity of the data arrays in input and output requests.
pub const DATA_MAX: usize = 4096;
/// `HID_MAX_DESCRIPTOR_SIZE`.
pub const MAX_DESCRIPTOR_LEN: usize = 4096;
/// `BUS_USB` from `linux/input.h`: hidapi skips devices on buses it does not know.
pub const BUS_USB: u16 = 3;

const NAME_LEN: usize = 128;
const PHYS_LEN: usize = 64;
const UNIQ_LEN: usize = 64;
/// name, phys, uniq, rd_size, bus, vendor, product, version, country.
const CREATE2_FIXED_LEN: usize = NAME_LEN + PHYS_LEN + UNIQ_LEN + 2 + 2 + 4 * 4;

/// The event type codes this bridge reads or writes (`enum uhid_event_type`).
mod kind {
    pub const DESTROY: u32 = 1;
    pub const START: u32 = 2;
    pub const STOP: u32 = 3;
    pub const OPEN: u32 = 4;
    pub const CLOSE: u32 = 5;
    pub const OUTPUT: u32 = 6;
    pub const GET_REPORT: u32 = 9;
    pub const GET_REPORT_REPLY: u32 = 10;
    pub const CREATE2: u32 = 11;
    pub const INPUT2: u32 = 12;
    pub const SET_REPORT: u32 = 13;
    pub const SET_REPORT_REPLY: u32 = 14;
}

/// What the kernel tells the device side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    /// A driver bound to the device.
    Start,
    /// The driver let go (also sent while the device is destroyed).
    Stop,
    /// The first user opened a hidraw (or other) node.
    Open,
    /// The last user closed it.
    Close,
    /// An output report, exactly as the kernel passes it (including the report-id byte).
    Output { data: Vec<u8>, report_type: u8 },
    /// A GET_REPORT request that must be answered with [`encode_get_report_reply`].
    GetReport { id: u32, report_number: u8, report_type: u8 },
    /// A SET_REPORT request that must be answered with [`encode_set_report_reply`].
    SetReport { id: u32, report_number: u8, report_type: u8 },
    /// A type this bridge does not handle.
    Other(u32),
}

/// A kernel message that cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed uhid event: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// What to put in a `UHID_CREATE2` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest<'a> {
    /// `HID_NAME`; hidapi reports it as the product string of a uhid device.
    pub name: &'a str,
    /// Physical location string.
    pub phys: &'a str,
    /// `HID_UNIQ`; hidapi reports it as the serial number.
    pub uniq: &'a str,
    pub bus: u16,
    pub vendor: u32,
    pub product: u32,
    pub version: u32,
    pub country: u32,
    pub report_descriptor: &'a [u8],
}

/// A request that cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode uhid request: {}", self.0)
    }
}

impl std::error::Error for EncodeError {}

/// Encodes `UHID_CREATE2`; strings must leave room for their terminating NUL.
pub fn encode_create2(request: &CreateRequest<'_>) -> Result<Vec<u8>, EncodeError> {
    let descriptor = request.report_descriptor;
    if descriptor.is_empty() || descriptor.len() > MAX_DESCRIPTOR_LEN {
        return Err(EncodeError(format!("report descriptor of {} bytes", descriptor.len())));
    }
    let mut out = Vec::with_capacity(4 + CREATE2_FIXED_LEN + descriptor.len());
    out.extend_from_slice(&kind::CREATE2.to_ne_bytes());
    put_c_string(&mut out, "name", request.name, NAME_LEN)?;
    put_c_string(&mut out, "phys", request.phys, PHYS_LEN)?;
    put_c_string(&mut out, "uniq", request.uniq, UNIQ_LEN)?;
    // The length was checked against MAX_DESCRIPTOR_LEN, which fits in u16.
    out.extend_from_slice(&(descriptor.len() as u16).to_ne_bytes());
    out.extend_from_slice(&request.bus.to_ne_bytes());
    for value in [request.vendor, request.product, request.version, request.country] {
        out.extend_from_slice(&value.to_ne_bytes());
    }
    out.extend_from_slice(descriptor);
    Ok(out)
}

/// Encodes `UHID_INPUT2` carrying one input report.
pub fn encode_input2(report: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if report.len() > DATA_MAX {
        return Err(EncodeError(format!("input report of {} bytes", report.len())));
    }
    let mut out = Vec::with_capacity(4 + 2 + report.len());
    out.extend_from_slice(&kind::INPUT2.to_ne_bytes());
    out.extend_from_slice(&(report.len() as u16).to_ne_bytes());
    out.extend_from_slice(report);
    Ok(out)
}

/// Encodes `UHID_DESTROY`.
pub fn encode_destroy() -> Vec<u8> {
    kind::DESTROY.to_ne_bytes().to_vec()
}

/// Answers a GET_REPORT request with an errno (this device has no feature or pollable reports).
pub fn encode_get_report_reply(id: u32, errno: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 + 2 + 2);
    out.extend_from_slice(&kind::GET_REPORT_REPLY.to_ne_bytes());
    out.extend_from_slice(&id.to_ne_bytes());
    out.extend_from_slice(&errno.to_ne_bytes());
    out.extend_from_slice(&0u16.to_ne_bytes());
    out
}

/// Answers a SET_REPORT request with an errno.
pub fn encode_set_report_reply(id: u32, errno: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 + 2);
    out.extend_from_slice(&kind::SET_REPORT_REPLY.to_ne_bytes());
    out.extend_from_slice(&id.to_ne_bytes());
    out.extend_from_slice(&errno.to_ne_bytes());
    out
}

/// Decodes one message read from `/dev/uhid`.
pub fn decode(bytes: &[u8]) -> Result<KernelEvent, DecodeError> {
    let event_type = read_u32(bytes, 0).ok_or_else(|| DecodeError(format!("{} bytes", bytes.len())))?;
    let payload = &bytes[4..];
    Ok(match event_type {
        kind::START => KernelEvent::Start,
        kind::STOP => KernelEvent::Stop,
        kind::OPEN => KernelEvent::Open,
        kind::CLOSE => KernelEvent::Close,
        kind::OUTPUT => {
            // struct uhid_output_req { u8 data[DATA_MAX]; u16 size; u8 rtype; }
            let size = read_u16(payload, DATA_MAX).ok_or_else(|| short("output", bytes.len()))? as usize;
            let report_type = *payload.get(DATA_MAX + 2).ok_or_else(|| short("output", bytes.len()))?;
            if size > DATA_MAX {
                return Err(DecodeError(format!("output report claims {size} bytes")));
            }
            KernelEvent::Output { data: payload[..size].to_vec(), report_type }
        }
        kind::GET_REPORT => {
            // struct uhid_get_report_req { u32 id; u8 rnum; u8 rtype; }
            let id = read_u32(payload, 0).ok_or_else(|| short("get_report", bytes.len()))?;
            let numbers = payload.get(4..6).ok_or_else(|| short("get_report", bytes.len()))?;
            KernelEvent::GetReport { id, report_number: numbers[0], report_type: numbers[1] }
        }
        kind::SET_REPORT => {
            // struct uhid_set_report_req { u32 id; u8 rnum; u8 rtype; u16 size; u8 data[]; }
            let id = read_u32(payload, 0).ok_or_else(|| short("set_report", bytes.len()))?;
            let numbers = payload.get(4..6).ok_or_else(|| short("set_report", bytes.len()))?;
            KernelEvent::SetReport { id, report_number: numbers[0], report_type: numbers[1] }
        }
        other => KernelEvent::Other(other),
    })
}

fn short(what: &str, len: usize) -> DecodeError {
    DecodeError(format!("{what} event truncated to {len} bytes"))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn put_c_string(out: &mut Vec<u8>, field: &str, value: &str, capacity: usize) -> Result<(), EncodeError> {
    let bytes = value.as_bytes();
    if bytes.len() >= capacity || bytes.contains(&0) {
        return Err(EncodeError(format!("{field} {value:?} does not fit {capacity} bytes with its NUL")));
    }
    out.extend_from_slice(bytes);
    out.resize(out.len() + capacity - bytes.len(), 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(descriptor: &[u8]) -> CreateRequest<'_> {
        CreateRequest {
            name: "key",
            phys: "aa-uhid/0",
            uniq: "serial-1",
            bus: BUS_USB,
            vendor: 0x1234,
            product: 0x5678,
            version: 1,
            country: 0,
            report_descriptor: descriptor,
        }
    }

    #[test]
    fn create2_layout_matches_the_packed_kernel_struct() {
        let encoded = encode_create2(&request(&[0x06, 0xD0, 0xF1])).unwrap();
        assert_eq!(encoded.len(), 4 + CREATE2_FIXED_LEN + 3);
        assert_eq!(&encoded[..4], &11u32.to_ne_bytes());
        assert_eq!(&encoded[4..7], b"key");
        assert_eq!(encoded[7], 0);
        assert_eq!(&encoded[4 + 128..4 + 128 + 9], b"aa-uhid/0");
        assert_eq!(&encoded[4 + 192..4 + 192 + 8], b"serial-1");
        let fixed = 4 + 256;
        assert_eq!(&encoded[fixed..fixed + 2], &3u16.to_ne_bytes()); // rd_size
        assert_eq!(&encoded[fixed + 2..fixed + 4], &BUS_USB.to_ne_bytes());
        assert_eq!(&encoded[fixed + 4..fixed + 8], &0x1234u32.to_ne_bytes());
        assert_eq!(&encoded[fixed + 8..fixed + 12], &0x5678u32.to_ne_bytes());
        assert_eq!(&encoded[fixed + 20..], &[0x06, 0xD0, 0xF1]);
        assert_eq!(CREATE2_FIXED_LEN + MAX_DESCRIPTOR_LEN, 4372, "sizeof(struct uhid_create2_req)");
    }

    #[test]
    fn create2_rejects_what_the_struct_cannot_hold() {
        assert!(encode_create2(&request(&[])).is_err());
        assert!(encode_create2(&request(&[0; MAX_DESCRIPTOR_LEN + 1])).is_err());
        let long_name = "n".repeat(128);
        let mut bad = request(&[1]);
        bad.name = &long_name;
        assert!(encode_create2(&bad).is_err());
        bad.name = "nul\0inside";
        assert!(encode_create2(&bad).is_err());
    }

    #[test]
    fn input2_carries_size_then_data() {
        let encoded = encode_input2(&[7; 64]).unwrap();
        assert_eq!(&encoded[..4], &12u32.to_ne_bytes());
        assert_eq!(&encoded[4..6], &64u16.to_ne_bytes());
        assert_eq!(&encoded[6..], &[7; 64]);
        assert!(encode_input2(&[0; DATA_MAX + 1]).is_err());
    }

    #[test]
    fn output_event_decodes_size_and_type() {
        let mut raw = vec![0u8; EVENT_SIZE];
        raw[..4].copy_from_slice(&6u32.to_ne_bytes());
        raw[4] = 0; // report id hidraw passes through
        raw[5..69].copy_from_slice(&[0xAB; 64]);
        raw[4 + DATA_MAX..4 + DATA_MAX + 2].copy_from_slice(&65u16.to_ne_bytes());
        raw[4 + DATA_MAX + 2] = 1;
        let KernelEvent::Output { data, report_type } = decode(&raw).unwrap() else { panic!("not output") };
        assert_eq!(data.len(), 65);
        assert_eq!(data[0], 0);
        assert_eq!(&data[1..], &[0xAB; 64]);
        assert_eq!(report_type, 1);
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        assert!(decode(&[1, 2]).is_err());
        let mut truncated_output = 6u32.to_ne_bytes().to_vec();
        truncated_output.extend_from_slice(&[0; 100]);
        assert!(decode(&truncated_output).is_err());
        let mut oversized = vec![0u8; EVENT_SIZE];
        oversized[..4].copy_from_slice(&6u32.to_ne_bytes());
        oversized[4 + DATA_MAX..4 + DATA_MAX + 2].copy_from_slice(&u16::MAX.to_ne_bytes());
        assert!(decode(&oversized).is_err());
        assert_eq!(decode(&99u32.to_ne_bytes()).unwrap(), KernelEvent::Other(99));
    }

    #[test]
    fn simple_events_and_replies() {
        assert_eq!(decode(&2u32.to_ne_bytes()).unwrap(), KernelEvent::Start);
        assert_eq!(decode(&3u32.to_ne_bytes()).unwrap(), KernelEvent::Stop);
        let mut get = 9u32.to_ne_bytes().to_vec();
        get.extend_from_slice(&42u32.to_ne_bytes());
        get.extend_from_slice(&[0, 3]);
        assert_eq!(
            decode(&get).unwrap(),
            KernelEvent::GetReport { id: 42, report_number: 0, report_type: 3 }
        );
        let reply = encode_get_report_reply(42, 5);
        assert_eq!(&reply[..4], &10u32.to_ne_bytes());
        assert_eq!(&reply[4..8], &42u32.to_ne_bytes());
        assert_eq!(encode_set_report_reply(1, 5).len(), 10);
        assert_eq!(encode_destroy(), 1u32.to_ne_bytes().to_vec());
    }
}
