//! RFC 6238 TOTP with the parameters AA uses: HMAC-SHA-1, 30-second steps, 6 digits.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Length of one time step in seconds.
pub const STEP_SECONDS: u64 = 30;
const DIGITS: u32 = 6;

/// Decodes a base32 secret as authenticator apps accept it: case-insensitive, spaces and padding
/// ignored. `None` when it is not base32 or empty.
pub fn decode_secret(secret_base32: &str) -> Option<Vec<u8>> {
    let normalized: String = secret_base32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    // Secrets are rarely a multiple of 5 bytes, so trailing bits are allowed.
    spec.check_trailing_bits = false;
    let encoding = spec.encoding().ok()?;
    encoding.decode(normalized.as_bytes()).ok().filter(|key| !key.is_empty())
}

/// The code for the step containing `unix_time`; `None` when the secret is not base32.
pub fn code(secret_base32: &str, unix_time: u64) -> Option<String> {
    let key = decode_secret(secret_base32)?;
    Some(code_for_step(&key, unix_time / STEP_SECONDS))
}

/// The code of a given time step (RFC 4226 dynamic truncation).
pub fn code_for_step(key: &[u8], step: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary =
        u32::from_be_bytes([digest[offset], digest[offset + 1], digest[offset + 2], digest[offset + 3]])
            & 0x7fff_ffff;
    format!("{:0width$}", binary % 10u32.pow(DIGITS), width = DIGITS as usize)
}

/// The step (within ±1 of `unix_time`'s step) whose code equals `answer`, if any.
pub fn matching_step(key: &[u8], unix_time: u64, answer: &str) -> Option<u64> {
    let current = unix_time / STEP_SECONDS;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| constant_time_eq(code_for_step(key, *step).as_bytes(), answer.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (base32 below), last 6 digits.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc_6238_sha1_vectors() {
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(RFC_SECRET, time).unwrap(), expected, "time {time}");
        }
    }

    #[test]
    fn secrets_are_decoded_leniently_but_garbage_is_refused() {
        assert_eq!(decode_secret("jbsw y3dp ehpk 3pxp"), decode_secret("JBSWY3DPEHPK3PXP"));
        assert!(decode_secret("not base32!").is_none());
        assert!(decode_secret("").is_none());
        assert!(code("1", 0).is_none());
    }

    #[test]
    fn neighbouring_steps_match_and_others_do_not() {
        let key = decode_secret(RFC_SECRET).unwrap();
        let now = 1_111_111_111;
        let previous = code_for_step(&key, now / STEP_SECONDS - 1);
        assert_eq!(matching_step(&key, now, &previous), Some(now / STEP_SECONDS - 1));
        let far = code_for_step(&key, now / STEP_SECONDS + 5);
        assert_eq!(matching_step(&key, now, &far), None);
    }
}
