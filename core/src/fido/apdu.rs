//! ISO 7816-4 APDUs as U2F uses them over HID: extended-length requests and `data ‖ SW1 SW2` replies.

/// U2F instructions.
pub mod ins {
    pub const AUTHENTICATE: u8 = 0x02;
    pub const VERSION: u8 = 0x03;
}

/// Status words a U2F key answers with.
pub mod status {
    pub const NO_ERROR: u16 = 0x9000;
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub const WRONG_DATA: u16 = 0x6A80;
    /// The value of U2F_SW_WRONG_DATA in the old reference header; treated like 0x6A80.
    pub const WRONG_DATA_LEGACY: u16 = 0x6984;
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// Readable name of a status word for error messages.
pub fn status_name(sw: u16) -> &'static str {
    match sw {
        status::NO_ERROR => "SW_NO_ERROR",
        status::CONDITIONS_NOT_SATISFIED => "SW_CONDITIONS_NOT_SATISFIED",
        status::WRONG_DATA | status::WRONG_DATA_LEGACY => "SW_WRONG_DATA",
        status::WRONG_LENGTH => "SW_WRONG_LENGTH",
        status::INS_NOT_SUPPORTED => "SW_INS_NOT_SUPPORTED",
        status::CLA_NOT_SUPPORTED => "SW_CLA_NOT_SUPPORTED",
        0x6986 => "SW_COMMAND_NOT_ALLOWED",
        0x6F00 => "SW_UNKNOWN",
        _ => "unknown status word",
    }
}

/// Extended-length request with data: `00 INS P1 00 | 00 Lc_hi Lc_lo | data | Le 00 00`.
/// Returns `None` for data longer than 65535 bytes.
pub fn extended(ins: u8, p1: u8, data: &[u8]) -> Option<Vec<u8>> {
    let lc = u16::try_from(data.len()).ok()?;
    let mut apdu = Vec::with_capacity(data.len() + 9);
    apdu.extend_from_slice(&[0x00, ins, p1, 0x00, 0x00]);
    apdu.extend_from_slice(&lc.to_be_bytes());
    apdu.extend_from_slice(data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    Some(apdu)
}

/// Extended-length request without data (ISO form): `00 INS P1 00 | 00 00 00`.
pub fn extended_no_data(ins: u8, p1: u8) -> Vec<u8> {
    vec![0x00, ins, p1, 0x00, 0x00, 0x00, 0x00]
}

/// The pre-ISO request without data some keys want instead (Lc = 00 00 00, Le = 00 00).
pub fn legacy_no_data(ins: u8, p1: u8) -> Vec<u8> {
    vec![0x00, ins, p1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]
}

/// Splits a reply into its data and status word; `None` when shorter than the status word.
pub fn split_reply(reply: &[u8]) -> Option<(&[u8], u16)> {
    let split = reply.len().checked_sub(2)?;
    let (data, sw) = reply.split_at(split);
    Some((data, u16::from_be_bytes([sw[0], sw[1]])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido::test_support::{hex, sign_vector};

    #[test]
    fn encodes_the_google_sign_apdu() {
        let vector = sign_vector();
        let request = hex(vector["request_data_with_control_byte_prefix"].as_str().unwrap());
        let (control, data) = request.split_first().unwrap();
        let apdu = extended(ins::AUTHENTICATE, *control, data).unwrap();
        assert_eq!(apdu, hex(vector["derived_extended_apdu"].as_str().unwrap()));
    }

    #[test]
    fn splits_replies_and_refuses_short_ones() {
        assert_eq!(split_reply(&[0x69, 0x85]), Some((&[][..], status::CONDITIONS_NOT_SATISFIED)));
        assert_eq!(split_reply(&[1, 2, 0x90, 0x00]), Some((&[1, 2][..], status::NO_ERROR)));
        assert_eq!(split_reply(&[0x90]), None);
        assert_eq!(split_reply(&[]), None);
        assert!(extended(ins::AUTHENTICATE, 3, &vec![0; 65536]).is_none());
        assert_eq!(extended_no_data(ins::VERSION, 0), [0, 3, 0, 0, 0, 0, 0]);
    }
}
