//! authenticatorClientPIN (`0x06`) for getting assertions with a PIN: the PIN/UV auth protocols
//! 2 and 1 (ECDH P-256 key agreement, their KDFs, AES-256-CBC, HMAC-SHA-256), the retries
//! counter, and the PIN/UV auth token (with the getAssertion permission on CTAP 2.1 keys).
//!
//! The PIN, its hash, the shared secret and the token live only in zeroizing buffers and never
//! reach a log line or an error message.

use aes::Aes256;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{EncodedPoint, FromEncodedPoint, ToEncodedPoint};
use p256::{AffinePoint, NistP256, PublicKey, SecretKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::cbor::{self, CborError, MapView, Value};
use super::ctap2::{self, cmd, Ctap2Error};
use super::ctaphid::Channel;
use super::deadline::Deadline;
use super::get_info::Ctap2Info;
use crate::Secret;

/// clientPIN subcommands.
mod subcommand {
    pub const GET_PIN_RETRIES: u64 = 0x01;
    pub const GET_KEY_AGREEMENT: u64 = 0x02;
    pub const GET_PIN_TOKEN: u64 = 0x05;
    pub const GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS: u64 = 0x09;
}

/// pinUvAuthToken permission: getAssertion.
const PERMISSION_GET_ASSERTION: u64 = 0x02;
/// COSE key parameters of the key-agreement key.
const COSE_KTY_EC2: i64 = 2;
const COSE_ALG_ECDH_ES_HKDF_256: i64 = -25;
const COSE_CRV_P256: i64 = 1;
/// Longest PIN in UTF-8 bytes (CTAP2: 63) and shortest in code points (CTAP2 default minimum: 4).
pub const MAX_PIN_BYTES: usize = 63;
pub const MIN_PIN_CODE_POINTS: usize = 4;

/// A PIN/UV auth protocol (CTAP 2.1 §6.5.6, §6.5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinProtocol {
    /// Protocol 1: SHA-256 KDF, AES-256-CBC with a zero IV, HMAC truncated to 16 bytes.
    One,
    /// Protocol 2: HKDF-SHA-256 KDF (separate HMAC and AES keys), random IVs, full HMAC.
    Two,
}

impl PinProtocol {
    pub fn from_number(number: u64) -> Option<Self> {
        match number {
            1 => Some(PinProtocol::One),
            2 => Some(PinProtocol::Two),
            _ => None,
        }
    }

    pub fn number(self) -> u64 {
        match self {
            PinProtocol::One => 1,
            PinProtocol::Two => 2,
        }
    }

    /// The shared secret from the ECDH x-coordinate Z.
    fn kdf(self, z: &[u8]) -> SharedSecret {
        match self {
            PinProtocol::One => SharedSecret(Zeroizing::new(Sha256::digest(z).to_vec())),
            PinProtocol::Two => {
                let salt = [0u8; 32];
                let hkdf = Hkdf::<Sha256>::new(Some(&salt), z);
                let mut keys = Zeroizing::new(vec![0u8; 64]);
                // 32-byte outputs are always within HKDF's limit.
                let _ = hkdf.expand(b"CTAP2 HMAC key", &mut keys[..32]);
                let _ = hkdf.expand(b"CTAP2 AES key", &mut keys[32..]);
                SharedSecret(keys)
            }
        }
    }

    /// Encrypts whole blocks: protocol 1 with a zero IV, protocol 2 with a random IV it prefixes.
    fn encrypt(self, secret: &SharedSecret, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let mut iv = [0u8; 16];
        if self == PinProtocol::Two {
            getrandom::fill(&mut iv).map_err(|e| format!("no randomness for an IV: {e}"))?;
        }
        let mut buffer = Zeroizing::new(plaintext.to_vec());
        let length = buffer.len();
        cbc::Encryptor::<Aes256>::new(secret.aes_key(self).into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut buffer, length)
            .map_err(|_| "plaintext is not a whole number of AES blocks".to_string())?;
        let mut out = if self == PinProtocol::Two { iv.to_vec() } else { Vec::new() };
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    /// Decrypts whole blocks (protocol 2: the IV is the first block).
    fn decrypt(self, secret: &SharedSecret, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let (iv, data) = match self {
            PinProtocol::One => ([0u8; 16], ciphertext),
            PinProtocol::Two => {
                let (iv, data) = ciphertext.split_at_checked(16).ok_or("ciphertext shorter than its IV")?;
                (<[u8; 16]>::try_from(iv).map_err(|_| "bad IV")?, data)
            }
        };
        let mut buffer = Zeroizing::new(data.to_vec());
        cbc::Decryptor::<Aes256>::new(secret.aes_key(self).into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buffer)
            .map_err(|_| "ciphertext is not a whole number of AES blocks".to_string())?;
        Ok(buffer)
    }

    /// authenticate(key, message): HMAC-SHA-256, truncated to 16 bytes for protocol 1.
    fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(message);
        let tag = mac.finalize().into_bytes().to_vec();
        match self {
            PinProtocol::One => tag[..16].to_vec(),
            PinProtocol::Two => tag,
        }
    }
}

/// The secret both sides derived: protocol 1 one 32-byte key, protocol 2 HMAC key ‖ AES key.
struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    fn aes_key(&self, protocol: PinProtocol) -> &[u8; 32] {
        let key = match protocol {
            PinProtocol::One => &self.0[..32],
            PinProtocol::Two => &self.0[32..64],
        };
        key.try_into().expect("32-byte key")
    }
}

/// A pinUvAuthToken for getAssertion on one key.
pub struct PinToken {
    protocol: PinProtocol,
    token: Zeroizing<Vec<u8>>,
}

impl PinToken {
    /// pinUvAuthParam of a getAssertion: authenticate(token, clientDataHash).
    pub fn auth_param(&self, client_data_hash: &[u8; 32]) -> Vec<u8> {
        self.protocol.authenticate(&self.token, client_data_hash)
    }

    pub fn protocol(&self) -> PinProtocol {
        self.protocol
    }
}

impl std::fmt::Debug for PinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinToken").field("protocol", &self.protocol).finish_non_exhaustive()
    }
}

/// The protocol to use with a key: 2 when it offers it, else 1.
pub fn choose_protocol(info: &Ctap2Info) -> Option<PinProtocol> {
    info.preferred_pin_protocol().and_then(PinProtocol::from_number)
}

/// Checks a PIN before it is sent, so a typo in its length costs no retry: at most 63 UTF-8
/// bytes, at least `min_code_points` (the key's minPINLength, else 4).
pub fn check_pin(pin: &Secret, min_code_points: usize) -> Result<(), String> {
    let text = pin.expose();
    if text.len() > MAX_PIN_BYTES {
        return Err(format!("the PIN is longer than {MAX_PIN_BYTES} bytes"));
    }
    let count = text.chars().count();
    if count < min_code_points {
        return Err(format!("the PIN is shorter than {min_code_points} characters"));
    }
    Ok(())
}

fn client_pin(
    channel: &mut Channel,
    protocol: PinProtocol,
    sub: u64,
    extra: Vec<(i64, Value)>,
    deadline: &Deadline,
) -> Result<Value, Ctap2Error> {
    let mut entries = vec![(0x01, Value::from(protocol.number())), (0x02, Value::from(sub))];
    entries.extend(extra);
    let params = cbor::int_map(entries);
    ctap2::call(channel, cmd::CLIENT_PIN, Some(&params), "clientPIN", deadline)?
        .ok_or_else(|| channel.error("clientPIN answered without data").into())
}

/// The PIN retries counter (getPinRetries).
pub fn retries(channel: &mut Channel, protocol: PinProtocol, deadline: &Deadline) -> Result<u32, Ctap2Error> {
    let answer = client_pin(channel, protocol, subcommand::GET_PIN_RETRIES, Vec::new(), deadline)?;
    let retries = MapView::new(&answer, "getPinRetries answer")
        .and_then(|map| map.opt_uint(0x03))
        .map_err(|e| channel.error(e))?
        .ok_or_else(|| channel.error("getPinRetries answered no retries count"))?;
    Ok(u32::try_from(retries.min(u64::from(u32::MAX))).unwrap_or(u32::MAX))
}

/// Gets a pinUvAuthToken with the PIN: key agreement, pinHashEnc, then getPinUvAuthToken-
/// UsingPinWithPermissions (permission getAssertion, bound to `rp_id`) on keys that offer it,
/// getPinToken on the others.
pub fn token_with_pin(
    channel: &mut Channel,
    info: &Ctap2Info,
    protocol: PinProtocol,
    pin: &Secret,
    rp_id: &str,
    deadline: &Deadline,
) -> Result<PinToken, Ctap2Error> {
    let answer = client_pin(channel, protocol, subcommand::GET_KEY_AGREEMENT, Vec::new(), deadline)?;
    let device_key = MapView::new(&answer, "getKeyAgreement answer")
        .and_then(|map| {
            map.get(0x01).ok_or_else(|| CborError::from_message("getKeyAgreement answered no key"))
        })
        .and_then(parse_cose_key)
        .map_err(|e| channel.error(e))?;
    let platform = ephemeral_key().map_err(|e| channel.error(e))?;
    let (platform_cose, secret) = agree(protocol, &platform, &device_key);
    let pin_hash = Zeroizing::new(Sha256::digest(pin.expose().as_bytes()));
    let pin_hash_enc = protocol.encrypt(&secret, &pin_hash[..16]).map_err(|e| channel.error(e))?;
    let mut extra = vec![(0x03, platform_cose), (0x06, Value::Bytes(pin_hash_enc))];
    let sub = if info.tokens_with_permissions() {
        extra.push((0x09, Value::from(PERMISSION_GET_ASSERTION)));
        extra.push((0x0A, Value::Text(rp_id.to_owned())));
        subcommand::GET_PIN_UV_AUTH_TOKEN_USING_PIN_WITH_PERMISSIONS
    } else {
        subcommand::GET_PIN_TOKEN
    };
    let answer = client_pin(channel, protocol, sub, extra, deadline)?;
    let encrypted = MapView::new(&answer, "getPinToken answer")
        .and_then(|map| map.bytes(0x02, 64))
        .map_err(|e| channel.error(e))?;
    let token = protocol.decrypt(&secret, encrypted).map_err(|e| channel.error(e))?;
    let acceptable = match protocol {
        PinProtocol::One => token.len() == 16 || token.len() == 32,
        PinProtocol::Two => token.len() == 32,
    };
    if !acceptable {
        return Err(channel.error(format!("a pinUvAuthToken of {} bytes", token.len())).into());
    }
    Ok(PinToken { protocol, token })
}

/// The platform's COSE key and the shared secret for the device's key-agreement key.
fn agree(protocol: PinProtocol, platform: &SecretKey, device: &PublicKey) -> (Value, SharedSecret) {
    let shared = p256::ecdh::diffie_hellman(platform.to_nonzero_scalar(), device.as_affine());
    let secret = protocol.kdf(shared.raw_secret_bytes());
    (cose_key(&platform.public_key()), secret)
}

/// `{1: 2, 3: -25, -1: 1, -2: x, -3: y}`.
fn cose_key(public: &PublicKey) -> Value {
    let point = public.to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| Value::Bytes(c.map(|c| c.to_vec()).unwrap_or_default());
    cbor::int_map([
        (1, Value::from(COSE_KTY_EC2)),
        (3, Value::from(COSE_ALG_ECDH_ES_HKDF_256)),
        (-1, Value::from(COSE_CRV_P256)),
        (-2, coordinate(point.x())),
        (-3, coordinate(point.y())),
    ])
}

/// The device's key-agreement key: an EC2 P-256 COSE key whose point is on the curve.
fn parse_cose_key(value: &Value) -> Result<PublicKey, CborError> {
    let map = MapView::new(value, "key-agreement key")?;
    if map.opt_int(1)? != Some(COSE_KTY_EC2) || map.opt_int(-1)? != Some(COSE_CRV_P256) {
        return Err(CborError::from_message("the key-agreement key is not an EC2 P-256 key"));
    }
    let x = map.bytes(-2, 32)?;
    let y = map.bytes(-3, 32)?;
    if x.len() != 32 || y.len() != 32 {
        return Err(CborError::from_message("a key-agreement coordinate is not 32 bytes"));
    }
    let point = EncodedPoint::<NistP256>::from_affine_coordinates(x.into(), y.into(), false);
    Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&point))
        .and_then(|affine| PublicKey::from_affine(affine).ok())
        .ok_or_else(|| CborError::from_message("the key-agreement key is not a point on P-256"))
}

/// A fresh ephemeral P-256 key from OS randomness (like every nonce of this crate); the
/// vanishingly rare out-of-range draws are redrawn.
fn ephemeral_key() -> Result<SecretKey, String> {
    for _ in 0..16 {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|e| format!("no randomness for the key agreement: {e}"))?;
        if let Ok(key) = SecretKey::from_slice(&bytes[..]) {
            return Ok(key);
        }
    }
    Err("no valid P-256 scalar from the random source".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido::test_support::{ctap2_vector, hex};

    fn vector_key(name: &str) -> Vec<u8> {
        hex(ctap2_vector("pin_protocol_1")[name].as_str().unwrap())
    }

    fn vector_secret() -> (SecretKey, PublicKey, SharedSecret) {
        let platform = SecretKey::from_slice(&vector_key("platform_private_key")).unwrap();
        let mut device_point = vec![0x04];
        device_point.extend(vector_key("device_public_x"));
        device_point.extend(vector_key("device_public_y"));
        let device = PublicKey::from_sec1_bytes(&device_point).unwrap();
        let (_, secret) = agree(PinProtocol::One, &platform, &device);
        (platform, device, secret)
    }

    #[test]
    fn protocol_one_reproduces_the_spec_example() {
        let (platform, device, secret) = vector_secret();
        assert_eq!(&secret.0[..], &vector_key("shared_secret")[..]);
        let (cose, _) = agree(PinProtocol::One, &platform, &device);
        let cose_map = MapView::new(&cose, "cose").unwrap();
        assert_eq!(cose_map.bytes(-2, 32).unwrap(), &vector_key("platform_public_x")[..]);
        assert_eq!(cose_map.bytes(-3, 32).unwrap(), &vector_key("platform_public_y")[..]);
        assert_eq!(cose_map.opt_int(3).unwrap(), Some(-25));

        let pin_hash = Sha256::digest(b"1234");
        assert_eq!(PinProtocol::One.encrypt(&secret, &pin_hash[..16]).unwrap(), vector_key("pin_hash_enc"));
        let token = PinProtocol::One.decrypt(&secret, &vector_key("token_enc")).unwrap();
        assert_eq!(&token[..], &vector_key("token")[..]);
        assert_eq!(PinProtocol::One.authenticate(&token, b"x").len(), 16);
    }

    #[test]
    fn protocol_two_round_trips_with_separate_keys_and_a_random_iv() {
        let z = [0x42u8; 32];
        let secret = PinProtocol::Two.kdf(&z);
        assert_eq!(secret.0.len(), 64);
        assert_ne!(secret.0[..32], secret.0[32..], "HMAC and AES keys differ");
        let plaintext = [7u8; 32];
        let first = PinProtocol::Two.encrypt(&secret, &plaintext).unwrap();
        let second = PinProtocol::Two.encrypt(&secret, &plaintext).unwrap();
        assert_eq!(first.len(), 48);
        assert_ne!(first, second, "a fresh IV every time");
        assert_eq!(&PinProtocol::Two.decrypt(&secret, &first).unwrap()[..], &plaintext);
        assert!(PinProtocol::Two.decrypt(&secret, &first[..8]).is_err());
        assert!(PinProtocol::Two.encrypt(&secret, &[1; 15]).is_err());
        assert_eq!(PinProtocol::Two.authenticate(&[1; 32], b"x").len(), 32);
        // HKDF-SHA-256 with a zero salt and the CTAP2 info strings (RFC 5869 by the hkdf crate).
        let hmac_key = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &z);
        let mut expected = [0u8; 32];
        hmac_key.expand(b"CTAP2 HMAC key", &mut expected).unwrap();
        assert_eq!(secret.0[..32], expected);
    }

    #[test]
    fn foreign_key_agreement_keys_are_refused() {
        let (_, device, _) = vector_secret();
        let good = cose_key(&device);
        assert!(parse_cose_key(&good).is_ok());
        let off_curve = cbor::int_map([
            (1, Value::from(2)),
            (3, Value::from(-25)),
            (-1, Value::from(1)),
            (-2, Value::Bytes(vec![1; 32])),
            (-3, Value::Bytes(vec![2; 32])),
        ]);
        assert!(parse_cose_key(&off_curve).is_err());
        let short = cbor::int_map([
            (1, Value::from(2)),
            (-1, Value::from(1)),
            (-2, Value::Bytes(vec![1; 31])),
            (-3, Value::Bytes(vec![2; 32])),
        ]);
        assert!(parse_cose_key(&short).is_err());
        let okp = cbor::int_map([(1, Value::from(1)), (-1, Value::from(6))]);
        assert!(parse_cose_key(&okp).is_err());
    }

    #[test]
    fn pins_are_checked_for_length_without_showing_them() {
        assert!(check_pin(&Secret::from("1234"), 4).is_ok());
        let short = check_pin(&Secret::from("123"), 4).unwrap_err();
        assert!(!short.contains("123"), "{short}");
        assert!(check_pin(&Secret::from("x".repeat(64)), 4).is_err());
        assert!(check_pin(&Secret::from("äöüß"), 4).is_ok(), "code points, not bytes");
        assert!(check_pin(&Secret::from("123456"), 6).is_ok());
        assert!(check_pin(&Secret::from("12345"), 6).is_err());
    }
}
