//! The HID report descriptor of a FIDO (CTAPHID) interface.

/// Bytes in every input and output report; there are no report ids.
pub const REPORT_LEN: usize = 64;

/// Usage page 0xF1D0 (FIDO Alliance), usage 1 (CTAPHID), one 64-byte input report (usage 0x20) and
/// one 64-byte output report (usage 0x21), no report ids: what every U2F key on USB declares.
pub const FIDO_REPORT_DESCRIPTOR: [u8; 34] = [
    0x06,
    0xD0,
    0xF1, // Usage Page (FIDO Alliance)
    0x09,
    0x01, // Usage (CTAPHID)
    0xA1,
    0x01, // Collection (Application)
    0x09,
    0x20, //   Usage (Input Report Data)
    0x15,
    0x00, //   Logical Minimum (0)
    0x26,
    0xFF,
    0x00, //   Logical Maximum (255)
    0x75,
    0x08, //   Report Size (8)
    0x95,
    REPORT_LEN as u8, //   Report Count (64)
    0x81,
    0x02, //   Input (Data, Variable, Absolute)
    0x09,
    0x21, //   Usage (Output Report Data)
    0x15,
    0x00, //   Logical Minimum (0)
    0x26,
    0xFF,
    0x00, //   Logical Maximum (255)
    0x75,
    0x08, //   Report Size (8)
    0x95,
    REPORT_LEN as u8, //   Report Count (64)
    0x91,
    0x02, //   Output (Data, Variable, Absolute)
    0xC0, // End Collection
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_the_fido_usage_page_and_64_byte_reports() {
        assert_eq!(&FIDO_REPORT_DESCRIPTOR[..5], &[0x06, 0xD0, 0xF1, 0x09, 0x01]);
        let report_counts = FIDO_REPORT_DESCRIPTOR.windows(2).filter(|item| item == &[0x95, 64]).count();
        assert_eq!(report_counts, 2);
        assert!(!FIDO_REPORT_DESCRIPTOR.contains(&0x85), "no Report ID item");
        assert_eq!(FIDO_REPORT_DESCRIPTOR.last(), Some(&0xC0));
    }
}
