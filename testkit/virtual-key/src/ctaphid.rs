//! CTAPHID wire constants and the split of a message into 64-byte reports.

use std::time::Duration;

use crate::REPORT_LEN;

/// One HID report, without hidapi's report-id byte.
pub type Report = [u8; REPORT_LEN];

/// The broadcast channel: only INIT may use it.
pub const BROADCAST_CID: u32 = 0xFFFF_FFFF;

/// Payload bytes carried by an initialization packet.
pub const INIT_PAYLOAD_LEN: usize = REPORT_LEN - 7;
/// Payload bytes carried by a continuation packet.
pub const CONT_PAYLOAD_LEN: usize = REPORT_LEN - 5;
/// Largest message 64-byte reports can carry: one initialization and 128 continuation packets.
pub const MAX_MESSAGE_LEN: usize = INIT_PAYLOAD_LEN + 128 * CONT_PAYLOAD_LEN;

/// Longest gap the key allows between two packets of one message (`U2FHID_FRAME_TIMEOUT`).
pub const FRAME_TIMEOUT: Duration = Duration::from_millis(500);
/// Interval between KEEPALIVE packets while the key holds an answer.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

/// CTAPHID protocol version reported by INIT.
pub const PROTOCOL_VERSION: u8 = 2;
/// Device version (major, minor, build) reported by INIT.
pub const DEVICE_VERSION: (u8, u8, u8) = (1, 0, 0);
/// Capability flag: the key implements WINK.
pub const CAPABILITY_WINK: u8 = 0x01;
/// Capability flag: the key speaks CTAP2 (CBOR).
pub const CAPABILITY_CBOR: u8 = 0x04;
/// Capability flag: the key refuses MSG (no U2F).
pub const CAPABILITY_NMSG: u8 = 0x08;

/// Command codes (without the initialization-packet bit 0x80).
pub mod command {
    pub const PING: u8 = 0x01;
    pub const MSG: u8 = 0x03;
    pub const LOCK: u8 = 0x04;
    pub const INIT: u8 = 0x06;
    pub const WINK: u8 = 0x08;
    pub const CBOR: u8 = 0x10;
    pub const CANCEL: u8 = 0x11;
    pub const KEEPALIVE: u8 = 0x3B;
    pub const ERROR: u8 = 0x3F;
}

/// Payload byte of a CTAPHID ERROR packet.
pub mod error {
    pub const INVALID_CMD: u8 = 0x01;
    pub const INVALID_PAR: u8 = 0x02;
    pub const INVALID_LEN: u8 = 0x03;
    pub const INVALID_SEQ: u8 = 0x04;
    pub const MSG_TIMEOUT: u8 = 0x05;
    pub const CHANNEL_BUSY: u8 = 0x06;
    pub const INVALID_CHANNEL: u8 = 0x0B;
}

/// Payload byte of a KEEPALIVE packet.
pub mod keepalive {
    pub const STATUS_PROCESSING: u8 = 0x01;
    pub const STATUS_UPNEEDED: u8 = 0x02;
}

/// The channel id in the first four bytes of a report.
pub fn report_cid(report: &Report) -> u32 {
    u32::from_be_bytes([report[0], report[1], report[2], report[3]])
}

/// Splits `payload` into an initialization packet and as many continuation packets as needed.
/// `payload` must not exceed [`MAX_MESSAGE_LEN`]; longer payloads are cut there (this key never
/// builds one).
pub fn frames(cid: u32, command: u8, payload: &[u8]) -> Vec<Report> {
    let payload = &payload[..payload.len().min(MAX_MESSAGE_LEN)];
    let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let (first, rest) = payload.split_at(payload.len().min(INIT_PAYLOAD_LEN));

    let mut init = [0u8; REPORT_LEN];
    init[..4].copy_from_slice(&cid.to_be_bytes());
    init[4] = 0x80 | command;
    init[5..7].copy_from_slice(&len.to_be_bytes());
    init[7..7 + first.len()].copy_from_slice(first);

    let mut reports = vec![init];
    for (seq, chunk) in (0u8..).zip(rest.chunks(CONT_PAYLOAD_LEN)) {
        let mut cont = [0u8; REPORT_LEN];
        cont[..4].copy_from_slice(&cid.to_be_bytes());
        cont[4] = seq;
        cont[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(cont);
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_message_is_7609_bytes() {
        assert_eq!(MAX_MESSAGE_LEN, 7609);
        let reports = frames(7, command::PING, &[0xAB; MAX_MESSAGE_LEN]);
        assert_eq!(reports.len(), 129);
        assert_eq!(reports[128][4], 127);
        assert_eq!(&reports[0][4..7], &[0x81, 0x1D, 0xB9]);
    }

    #[test]
    fn small_payload_is_one_zero_padded_report() {
        let reports = frames(0x0102_0304, command::MSG, &[0x69, 0x85]);
        assert_eq!(reports.len(), 1);
        assert_eq!(&reports[0][..9], &[1, 2, 3, 4, 0x83, 0, 2, 0x69, 0x85]);
        assert!(reports[0][9..].iter().all(|&b| b == 0));
        assert_eq!(report_cid(&reports[0]), 0x0102_0304);
    }

    #[test]
    fn exact_boundaries_need_no_empty_continuation() {
        assert_eq!(frames(1, command::PING, &[1; INIT_PAYLOAD_LEN]).len(), 1);
        assert_eq!(frames(1, command::PING, &[1; INIT_PAYLOAD_LEN + 1]).len(), 2);
        assert_eq!(frames(1, command::PING, &[1; INIT_PAYLOAD_LEN + CONT_PAYLOAD_LEN]).len(), 2);
        assert_eq!(frames(1, command::PING, &[]).len(), 1);
    }
}
