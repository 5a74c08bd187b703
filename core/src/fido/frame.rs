//! CTAPHID packet codec: splitting a message into 64-byte reports and putting a reply back together.
//! Pure functions over bytes; the channel logic that drives a device lives in `ctaphid`.

use super::transport::{Report, REPORT_LEN};

/// The broadcast channel: only INIT may be sent on it.
pub const BROADCAST_CID: u32 = 0xFFFF_FFFF;

/// Payload bytes in an initialization packet (64 − CID − CMD − BCNT).
pub const INIT_DATA_LEN: usize = REPORT_LEN - 7;
/// Payload bytes in a continuation packet (64 − CID − SEQ).
pub const CONT_DATA_LEN: usize = REPORT_LEN - 5;
/// Largest message that fits in one initialization and 128 continuation packets.
pub const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + 128 * CONT_DATA_LEN;

/// CTAPHID commands (without the init-packet bit 0x80).
pub mod command {
    pub const PING: u8 = 0x01;
    pub const MSG: u8 = 0x03;
    pub const INIT: u8 = 0x06;
    pub const WINK: u8 = 0x08;
    pub const CBOR: u8 = 0x10;
    pub const CANCEL: u8 = 0x11;
    pub const KEEPALIVE: u8 = 0x3B;
    pub const ERROR: u8 = 0x3F;
}

/// One received report, classified. Borrowed from the report it was parsed from.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// First packet of a message: command (without bit 7), announced length, first payload bytes.
    Init { cid: u32, command: u8, length: usize, data: &'a [u8] },
    /// Following packet of a message.
    Continuation { cid: u32, seq: u8, data: &'a [u8] },
}

impl<'a> Packet<'a> {
    /// Classifies a report by bit 7 of byte 4.
    pub fn parse(report: &'a Report) -> Packet<'a> {
        let cid = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
        if report[4] & 0x80 != 0 {
            let length = usize::from(u16::from_be_bytes([report[5], report[6]]));
            Packet::Init { cid, command: report[4] & 0x7F, length, data: &report[7..] }
        } else {
            Packet::Continuation { cid, seq: report[4], data: &report[5..] }
        }
    }

    /// The channel the packet belongs to.
    pub fn cid(&self) -> u32 {
        match self {
            Packet::Init { cid, .. } | Packet::Continuation { cid, .. } => *cid,
        }
    }
}

/// Splits `payload` into the reports of one CTAPHID message on channel `cid`.
/// Returns `None` when the payload is larger than a CTAPHID message can carry.
pub fn fragment(cid: u32, command: u8, payload: &[u8]) -> Option<Vec<Report>> {
    if payload.len() > MAX_MESSAGE_LEN {
        return None;
    }
    let cid = cid.to_be_bytes();
    let first_len = payload.len().min(INIT_DATA_LEN);
    let mut init = [0u8; REPORT_LEN];
    init[..4].copy_from_slice(&cid);
    init[4] = 0x80 | command;
    init[5..7].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    init[7..7 + first_len].copy_from_slice(&payload[..first_len]);

    let mut reports = vec![init];
    for (seq, chunk) in payload[first_len..].chunks(CONT_DATA_LEN).enumerate() {
        let mut cont = [0u8; REPORT_LEN];
        cont[..4].copy_from_slice(&cid);
        cont[4] = seq as u8; // at most 128 chunks, checked above
        cont[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(cont);
    }
    Some(reports)
}

/// Why a reply could not be put together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReassemblyError {
    /// The announced length is larger than any CTAPHID message.
    LengthTooLarge(usize),
    /// A continuation packet arrived out of order.
    UnexpectedSequence { expected: u8, got: u8 },
}

impl std::fmt::Display for ReassemblyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReassemblyError::LengthTooLarge(len) => {
                write!(f, "announced reply length {len} exceeds {MAX_MESSAGE_LEN}")
            }
            ReassemblyError::UnexpectedSequence { expected, got } => {
                write!(f, "continuation packet {got} arrived where {expected} was expected")
            }
        }
    }
}

/// A reply being collected from its initialization packet and continuation packets.
#[derive(Debug)]
pub struct Reassembly {
    expected_len: usize,
    payload: Vec<u8>,
    next_seq: u8,
}

impl Reassembly {
    /// Starts from an initialization packet's fields.
    pub fn start(length: usize, data: &[u8]) -> Result<Self, ReassemblyError> {
        if length > MAX_MESSAGE_LEN {
            return Err(ReassemblyError::LengthTooLarge(length));
        }
        let mut payload = Vec::with_capacity(length);
        payload.extend_from_slice(&data[..length.min(data.len())]);
        Ok(Reassembly { expected_len: length, payload, next_seq: 0 })
    }

    /// Adds a continuation packet; sequence numbers must run 0, 1, 2… without gaps.
    pub fn push(&mut self, seq: u8, data: &[u8]) -> Result<(), ReassemblyError> {
        if seq != self.next_seq {
            return Err(ReassemblyError::UnexpectedSequence { expected: self.next_seq, got: seq });
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        let missing = self.expected_len - self.payload.len();
        self.payload.extend_from_slice(&data[..missing.min(data.len())]);
        Ok(())
    }

    /// True once all announced bytes arrived (padding beyond the length is dropped).
    pub fn is_complete(&self) -> bool {
        self.payload.len() == self.expected_len
    }

    /// The reply payload; call once complete.
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn report(hex_prefix: &str) -> Report {
        let bytes = hex(hex_prefix);
        let mut report = [0u8; REPORT_LEN];
        report[..bytes.len()].copy_from_slice(&bytes);
        report
    }

    #[test]
    fn splits_the_google_sign_apdu_like_the_vector() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../../testdata/u2f-test-vectors.json")).unwrap();
        let apdu = hex(vectors["sign"]["derived_extended_apdu"].as_str().unwrap());
        let expected: Vec<Vec<u8>> = vectors["sign"]["derived_ctaphid_packets_cid_01020304"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| hex(p.as_str().unwrap()))
            .collect();
        let reports = fragment(0x0102_0304, command::MSG, &apdu).unwrap();
        let got: Vec<Vec<u8>> = reports.iter().map(|r| r.to_vec()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn reassembles_what_it_fragments_at_every_boundary() {
        for len in
            [0, 1, INIT_DATA_LEN, INIT_DATA_LEN + 1, INIT_DATA_LEN + CONT_DATA_LEN, 1000, MAX_MESSAGE_LEN]
        {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let reports = fragment(7, command::PING, &payload).unwrap();
            let mut reassembly = None;
            for report in &reports {
                match Packet::parse(report) {
                    Packet::Init { cid, command, length, data } => {
                        assert_eq!((cid, command, length), (7, command::PING, len));
                        reassembly = Some(Reassembly::start(length, data).unwrap());
                    }
                    Packet::Continuation { seq, data, .. } => {
                        reassembly.as_mut().unwrap().push(seq, data).unwrap()
                    }
                }
            }
            let reassembly = reassembly.unwrap();
            assert!(reassembly.is_complete());
            assert_eq!(reassembly.into_payload(), payload);
        }
        assert!(fragment(7, command::PING, &vec![0; MAX_MESSAGE_LEN + 1]).is_none());
    }

    #[test]
    fn decodes_the_libfido2_u2f_reply_capture() {
        // wiredata_u2f.h: 78-byte AUTHENTICATE reply over two packets, ending in 9000.
        let init = report("0000990183004e010000002c3045");
        let packet = Packet::parse(&init);
        let Packet::Init { cid, command, length, data } = packet else { panic!("not an init packet") };
        assert_eq!((cid, command, length), (0x9901, command::MSG, 0x4e));
        let mut reassembly = Reassembly::start(length, data).unwrap();
        assert!(!reassembly.is_complete());
        let mut cont = report("0000990100");
        cont[5 + 19..5 + 21].copy_from_slice(&[0x90, 0x00]);
        let Packet::Continuation { seq, data, .. } = Packet::parse(&cont) else {
            panic!("not a continuation")
        };
        reassembly.push(seq, data).unwrap();
        assert!(reassembly.is_complete());
        let payload = reassembly.into_payload();
        assert_eq!(payload.len(), 78);
        assert_eq!(&payload[..5], &[0x01, 0x00, 0x00, 0x00, 0x2c]);
        assert_eq!(&payload[76..], &[0x90, 0x00]);
    }

    #[test]
    fn rejects_gaps_and_oversized_lengths() {
        let mut reassembly = Reassembly::start(200, &[0; INIT_DATA_LEN]).unwrap();
        assert_eq!(
            reassembly.push(1, &[0; CONT_DATA_LEN]),
            Err(ReassemblyError::UnexpectedSequence { expected: 0, got: 1 })
        );
        assert_eq!(
            Reassembly::start(MAX_MESSAGE_LEN + 1, &[]).unwrap_err(),
            ReassemblyError::LengthTooLarge(MAX_MESSAGE_LEN + 1)
        );
    }
}
