//! U2F request APDUs in the extended-length form hosts send over HID, and the status words.

/// Success.
pub const SW_NO_ERROR: u16 = 0x9000;
/// Presence needed (AUTHENTICATE `0x03`, REGISTER), or "handle is ours" (check-only `0x07`).
pub const SW_CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
/// Key handle not made by this key for this application parameter, or an unknown control byte.
pub const SW_WRONG_DATA: u16 = 0x6A80;
/// Malformed length fields, or data of the wrong size for the instruction.
pub const SW_WRONG_LENGTH: u16 = 0x6700;
/// Instruction not supported.
pub const SW_INS_NOT_SUPPORTED: u16 = 0x6D00;
/// Class byte other than `00`.
pub const SW_CLA_NOT_SUPPORTED: u16 = 0x6E00;
/// Internal failure with no better status (never expected).
pub const SW_UNKNOWN: u16 = 0x6F00;

/// U2F_REGISTER.
pub const INS_REGISTER: u8 = 0x01;
/// U2F_AUTHENTICATE.
pub const INS_AUTHENTICATE: u8 = 0x02;
/// U2F_VERSION.
pub const INS_VERSION: u8 = 0x03;

/// AUTHENTICATE control byte: only check that the key handle belongs to this key.
pub const CONTROL_CHECK_ONLY: u8 = 0x07;
/// AUTHENTICATE control byte: sign once the user is present.
pub const CONTROL_ENFORCE_PRESENCE: u8 = 0x03;
/// AUTHENTICATE control byte: sign without user presence (presence bit 0 in the reply).
pub const CONTROL_DONT_ENFORCE_PRESENCE: u8 = 0x08;

/// A parsed request APDU, borrowing its data from the request bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct Command<'a> {
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
}

/// Parses `00 INS P1 P2` followed by nothing, by an extended Le (`00 Le Le`), or by an extended Lc
/// with data and an optional 2-byte Le (`00 Lc Lc data [Le Le]`). Lc `0000` with a 2-byte Le is the
/// 9-byte VERSION form some hosts send. Short (NFC) length fields get `6700`.
pub fn parse(request: &[u8]) -> Result<Command<'_>, u16> {
    let [cla, ins, p1, p2, body @ ..] = request else {
        return Err(SW_WRONG_LENGTH);
    };
    if *cla != 0 {
        return Err(SW_CLA_NOT_SUPPORTED);
    }
    let data = match body {
        [] | [0, _, _] => &[][..],
        [0, lc_hi, lc_lo, rest @ ..] => {
            let lc = usize::from(u16::from_be_bytes([*lc_hi, *lc_lo]));
            // After Lc: exactly the data, optionally followed by a 2-byte Le.
            if rest.len() != lc && rest.len() != lc + 2 {
                return Err(SW_WRONG_LENGTH);
            }
            &rest[..lc]
        }
        _ => return Err(SW_WRONG_LENGTH),
    };
    Ok(Command { ins: *ins, p1: *p1, p2: *p2, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_forms() {
        let seven = [0, 3, 0, 0, 0, 0, 0];
        let nine = [0, 3, 0, 0, 0, 0, 0, 0, 0];
        for request in [&seven[..], &nine[..], &[0, 3, 0, 0][..]] {
            assert_eq!(parse(request), Ok(Command { ins: 3, p1: 0, p2: 0, data: &[] }));
        }
    }

    #[test]
    fn extended_with_and_without_le() {
        let with_le = [0, 2, 7, 0, 0, 0, 3, 9, 8, 7, 0, 0];
        let without_le = [0, 2, 7, 0, 0, 0, 3, 9, 8, 7];
        assert_eq!(parse(&with_le).unwrap().data, &[9, 8, 7]);
        assert_eq!(parse(&without_le).unwrap().data, &[9, 8, 7]);
        assert_eq!(parse(&with_le).unwrap().p1, 7);
    }

    #[test]
    fn bad_lengths_are_6700() {
        for request in [
            &[][..],
            &[0, 3, 0][..],
            &[0, 3, 0, 0, 0][..],                // short Le
            &[0, 3, 0, 0, 0, 0][..],             // truncated extended field
            &[0, 2, 3, 0, 0, 0, 4, 1, 2, 3][..], // Lc says 4, 3 bytes follow
            &[0, 2, 3, 0, 0, 0, 1, 1, 2][..],    // one stray byte after the data
            &[0, 2, 3, 0, 3, 1, 2, 3][..],       // short Lc
        ] {
            assert_eq!(parse(request), Err(SW_WRONG_LENGTH), "{request:02x?}");
        }
    }

    #[test]
    fn class_other_than_zero_is_6e00() {
        assert_eq!(parse(&[0x80, 3, 0, 0, 0, 0, 0]), Err(SW_CLA_NOT_SUPPORTED));
    }
}
