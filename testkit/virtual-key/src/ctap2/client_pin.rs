//! authenticatorClientPIN (`0x06`, CTAP 2.1 §6.5): PIN retries, key agreement, setPIN/changePIN,
//! pinUvAuthTokens by PIN (getPinToken, getPinUvAuthTokenUsingPinWithPermissions) and by built-in
//! UV, and the check of a pinUvAuthParam against the current token.

use ciborium::value::Value;
use p256::SecretKey;
use sha2::{Digest, Sha256};

use super::cbor::{self, canonical_map, Request};
use super::pin_protocol::{cose_key_agreement, PinProtocol, SharedSecret};
use super::status;
use crate::keys::KeyMaterial;

/// PIN retries of a fresh key (and after a correct PIN).
pub const MAX_PIN_RETRIES: u8 = 8;
/// Built-in UV retries of a fresh key (and after a successful UV).
pub const MAX_UV_RETRIES: u8 = 8;
/// Wrong PINs in a row after which the key wants a power cycle (PIN_AUTH_BLOCKED).
const MISMATCHES_BEFORE_POWER_CYCLE: u8 = 3;
/// Shortest PIN setPIN/changePIN accept, in Unicode code points.
const MIN_PIN_LENGTH: usize = 4;
/// Longest PIN in bytes (the padded block is 64 bytes and must end in a zero).
const MAX_PIN_BYTES: usize = 63;

/// pinUvAuthToken permissions (CTAP 2.1 §6.5.5.7).
pub mod permission {
    pub const MAKE_CREDENTIAL: u64 = 0x01;
    pub const GET_ASSERTION: u64 = 0x02;
    pub const CREDENTIAL_MANAGEMENT: u64 = 0x04;
    pub const BIO_ENROLLMENT: u64 = 0x08;
    pub const LARGE_BLOB_WRITE: u64 = 0x10;
    pub const AUTHENTICATOR_CONFIG: u64 = 0x20;
}
/// The permissions this key can grant: it has no credential management, bio enrollment, large
/// blobs or config commands.
const SUPPORTED_PERMISSIONS: u64 = permission::MAKE_CREDENTIAL | permission::GET_ASSERTION;

mod sub {
    pub const GET_PIN_RETRIES: u64 = 0x01;
    pub const GET_KEY_AGREEMENT: u64 = 0x02;
    pub const SET_PIN: u64 = 0x03;
    pub const CHANGE_PIN: u64 = 0x04;
    pub const GET_PIN_TOKEN: u64 = 0x05;
    pub const GET_TOKEN_USING_UV: u64 = 0x06;
    pub const GET_UV_RETRIES: u64 = 0x07;
    pub const GET_TOKEN_USING_PIN: u64 = 0x09;
}

mod key {
    pub const PROTOCOL: u64 = 0x01;
    pub const SUB_COMMAND: u64 = 0x02;
    pub const KEY_AGREEMENT: u64 = 0x03;
    pub const PIN_UV_AUTH_PARAM: u64 = 0x04;
    pub const NEW_PIN_ENC: u64 = 0x05;
    pub const PIN_HASH_ENC: u64 = 0x06;
    pub const PERMISSIONS: u64 = 0x09;
    pub const RP_ID: u64 = 0x0A;
}

/// The current pinUvAuthToken and what it may be used for.
struct Token {
    value: [u8; 32],
    permissions: u64,
    /// Bound RP: given when the token was made, or taken from its first use.
    rp_id: Option<String>,
}

/// Built-in user verification (a fingerprint sensor) as a test configures it.
#[derive(Debug)]
pub struct Uv {
    pub available: bool,
    pub succeeds: bool,
    pub retries: u8,
}

impl Uv {
    /// `performBuiltInUv`: retries count down on failure; at 0 UV is blocked.
    pub fn perform(&mut self) -> Result<(), u8> {
        if self.retries == 0 {
            return Err(status::UV_BLOCKED);
        }
        if self.succeeds {
            self.retries = MAX_UV_RETRIES;
            return Ok(());
        }
        self.retries -= 1;
        Err(if self.retries == 0 { status::UV_BLOCKED } else { status::UV_INVALID })
    }
}

pub struct PinState {
    material: KeyMaterial,
    /// LEFT(SHA-256(PIN), 16) of the PIN set, if any.
    pin_hash: Option<[u8; 16]>,
    retries: u8,
    mismatches: u8,
    key_agreement: SecretKey,
    generation: u64,
    token: Option<Token>,
    ivs: u64,
    pub uv: Uv,
}

impl PinState {
    pub fn new(material: KeyMaterial) -> Self {
        let key_agreement = derive_key_agreement(&material, 0);
        PinState {
            material,
            pin_hash: None,
            retries: MAX_PIN_RETRIES,
            mismatches: 0,
            key_agreement,
            generation: 0,
            token: None,
            ivs: 0,
            uv: Uv { available: false, succeeds: true, retries: MAX_UV_RETRIES },
        }
    }

    pub fn is_set(&self) -> bool {
        self.pin_hash.is_some()
    }

    pub fn retries(&self) -> u8 {
        self.retries
    }

    /// A test sets (or removes) the PIN directly; retries go back to the maximum and the token and
    /// key agreement key are renewed, as after a PIN change.
    pub fn set(&mut self, pin: Option<&str>) {
        self.pin_hash = pin.map(pin_hash);
        self.retries = MAX_PIN_RETRIES;
        self.mismatches = 0;
        self.token = None;
        self.regenerate_key_agreement();
    }

    /// `0` blocks the PIN; values above the maximum are clamped to it.
    pub fn set_retries(&mut self, retries: u8) {
        self.retries = retries.min(MAX_PIN_RETRIES);
    }

    /// What a power cycle does: a new key agreement key, no token, wrong-PIN streak forgotten.
    pub fn power_cycle(&mut self) {
        self.mismatches = 0;
        self.token = None;
        self.regenerate_key_agreement();
    }

    fn regenerate_key_agreement(&mut self) {
        self.generation += 1;
        self.key_agreement = derive_key_agreement(&self.material, self.generation);
    }

    fn next_iv(&mut self) -> [u8; 16] {
        self.ivs += 1;
        let block = self.material.prf(b"pin iv", &[&self.ivs.to_be_bytes()]);
        block[..16].try_into().expect("16 of 32 bytes")
    }

    /// Checks `pin_uv_auth_param` of a makeCredential/getAssertion: the current token, with
    /// `needed` permission, bound to `rp_id` (binding it at first use), authenticating
    /// `client_data_hash`.
    pub fn verify_token(
        &mut self,
        protocol: PinProtocol,
        client_data_hash: &[u8],
        pin_uv_auth_param: &[u8],
        needed: u64,
        rp_id: &str,
    ) -> Result<(), u8> {
        let token = self.token.as_mut().ok_or(status::PIN_AUTH_INVALID)?;
        if !protocol.verify(&token.value, client_data_hash, pin_uv_auth_param) {
            return Err(status::PIN_AUTH_INVALID);
        }
        if token.permissions & needed == 0 {
            return Err(status::PIN_AUTH_INVALID);
        }
        match &token.rp_id {
            Some(bound) if bound != rp_id => Err(status::PIN_AUTH_INVALID),
            Some(_) => Ok(()),
            None => {
                token.rp_id = Some(rp_id.to_owned());
                Ok(())
            }
        }
    }

    /// Runs one ClientPIN subcommand; the reply is status ‖ CBOR.
    pub fn command(&mut self, request: &Request) -> Result<Vec<u8>, u8> {
        let sub_command = request.unsigned(key::SUB_COMMAND)?.ok_or(status::MISSING_PARAMETER)?;
        match sub_command {
            sub::GET_PIN_RETRIES => Ok(cbor::success(canonical_map(vec![
                (cbor::int(0x03), cbor::int(i64::from(self.retries))),
                (cbor::int(0x04), Value::Bool(self.mismatches >= MISMATCHES_BEFORE_POWER_CYCLE)),
            ]))),
            sub::GET_UV_RETRIES if self.uv.available => Ok(cbor::success(canonical_map(vec![(
                cbor::int(0x05),
                cbor::int(i64::from(self.uv.retries)),
            )]))),
            sub::GET_KEY_AGREEMENT => {
                protocol(request)?;
                let cose = cose_key_agreement(&self.key_agreement.public_key());
                Ok(cbor::success(canonical_map(vec![(cbor::int(0x01), cose)])))
            }
            sub::SET_PIN => self.set_pin(request),
            sub::CHANGE_PIN => self.change_pin(request),
            sub::GET_PIN_TOKEN => {
                if request.get(key::PERMISSIONS).is_some() || request.get(key::RP_ID).is_some() {
                    return Err(status::INVALID_PARAMETER);
                }
                self.token_using_pin(request, SUPPORTED_PERMISSIONS, None)
            }
            sub::GET_TOKEN_USING_PIN => {
                let (permissions, rp_id) = permissions(request)?;
                self.token_using_pin(request, permissions, rp_id)
            }
            sub::GET_TOKEN_USING_UV if self.uv.available => {
                let (permissions, rp_id) = permissions(request)?;
                let protocol = protocol(request)?;
                let shared = self.shared_secret(protocol, request)?;
                self.uv.perform()?;
                self.issue_token(&shared, permissions, rp_id)
            }
            _ => Err(status::INVALID_SUBCOMMAND),
        }
    }

    fn shared_secret(&self, protocol: PinProtocol, request: &Request) -> Result<SharedSecret, u8> {
        let platform_key = request.required(key::KEY_AGREEMENT)?;
        protocol.decapsulate(&self.key_agreement, platform_key)
    }

    fn token_using_pin(
        &mut self,
        request: &Request,
        permissions: u64,
        rp_id: Option<String>,
    ) -> Result<Vec<u8>, u8> {
        let protocol = protocol(request)?;
        request.required(key::KEY_AGREEMENT)?;
        let pin_hash_enc = request.bytes(key::PIN_HASH_ENC)?.ok_or(status::MISSING_PARAMETER)?;
        let shared = self.check_pin_preconditions(protocol, request)?;
        self.check_pin_hash(&shared, pin_hash_enc)?;
        self.issue_token(&shared, permissions, rp_id)
    }

    /// PIN set, not blocked, no power cycle owed, and a usable shared secret.
    fn check_pin_preconditions(&self, protocol: PinProtocol, request: &Request) -> Result<SharedSecret, u8> {
        if self.pin_hash.is_none() {
            return Err(status::PIN_NOT_SET);
        }
        if self.retries == 0 {
            return Err(status::PIN_BLOCKED);
        }
        if self.mismatches >= MISMATCHES_BEFORE_POWER_CYCLE {
            return Err(status::PIN_AUTH_BLOCKED);
        }
        self.shared_secret(protocol, request)
    }

    /// Spends one retry, then compares the decrypted hash with the PIN's; a match restores the
    /// retries, a mismatch renews the key agreement key and reports INVALID, BLOCKED or
    /// AUTH_BLOCKED (three in a row: power cycle needed).
    fn check_pin_hash(&mut self, shared: &SharedSecret, pin_hash_enc: &[u8]) -> Result<(), u8> {
        let expected = self.pin_hash.ok_or(status::PIN_NOT_SET)?;
        self.retries -= 1;
        let matches = shared.decrypt(pin_hash_enc).is_some_and(|hash| hash == expected);
        if !matches {
            self.mismatches += 1;
            self.regenerate_key_agreement();
            return Err(if self.retries == 0 {
                status::PIN_BLOCKED
            } else if self.mismatches >= MISMATCHES_BEFORE_POWER_CYCLE {
                status::PIN_AUTH_BLOCKED
            } else {
                status::PIN_INVALID
            });
        }
        self.retries = MAX_PIN_RETRIES;
        self.mismatches = 0;
        Ok(())
    }

    /// A new token (the old one stops working), returned encrypted under the shared secret.
    fn issue_token(
        &mut self,
        shared: &SharedSecret,
        permissions: u64,
        rp_id: Option<String>,
    ) -> Result<Vec<u8>, u8> {
        self.generation += 1;
        let value = self.material.prf(b"pin token", &[&self.generation.to_be_bytes()]);
        self.token = Some(Token { value, permissions, rp_id });
        let iv = self.next_iv();
        let encrypted = shared.encrypt(&value, iv);
        Ok(cbor::success(canonical_map(vec![(cbor::int(0x02), cbor::bytes(&encrypted))])))
    }

    fn set_pin(&mut self, request: &Request) -> Result<Vec<u8>, u8> {
        let protocol = protocol(request)?;
        let new_pin_enc = request.bytes(key::NEW_PIN_ENC)?.ok_or(status::MISSING_PARAMETER)?;
        let auth = request.bytes(key::PIN_UV_AUTH_PARAM)?.ok_or(status::MISSING_PARAMETER)?;
        if self.pin_hash.is_some() {
            return Err(status::NOT_ALLOWED);
        }
        let shared = self.shared_secret(protocol, request)?;
        if !protocol.verify(shared.hmac_key(), new_pin_enc, auth) {
            return Err(status::PIN_AUTH_INVALID);
        }
        let pin = decrypt_new_pin(&shared, new_pin_enc)?;
        self.set(Some(&pin));
        Ok(vec![status::OK])
    }

    fn change_pin(&mut self, request: &Request) -> Result<Vec<u8>, u8> {
        let protocol = protocol(request)?;
        let new_pin_enc = request.bytes(key::NEW_PIN_ENC)?.ok_or(status::MISSING_PARAMETER)?;
        let pin_hash_enc = request.bytes(key::PIN_HASH_ENC)?.ok_or(status::MISSING_PARAMETER)?;
        let auth = request.bytes(key::PIN_UV_AUTH_PARAM)?.ok_or(status::MISSING_PARAMETER)?;
        let shared = self.check_pin_preconditions(protocol, request)?;
        if !protocol.verify(shared.hmac_key(), &[new_pin_enc, pin_hash_enc].concat(), auth) {
            return Err(status::PIN_AUTH_INVALID);
        }
        self.check_pin_hash(&shared, pin_hash_enc)?;
        let pin = decrypt_new_pin(&shared, new_pin_enc)?;
        self.set(Some(&pin));
        Ok(vec![status::OK])
    }
}

fn derive_key_agreement(material: &KeyMaterial, generation: u64) -> SecretKey {
    let mut attempt = 0u32;
    loop {
        let candidate = material.prf(b"key agreement", &[&generation.to_be_bytes(), &attempt.to_be_bytes()]);
        if let Ok(key) = SecretKey::from_slice(&candidate) {
            return key;
        }
        attempt += 1; // zero or ≥ n: astronomically rare
    }
}

/// LEFT(SHA-256(pin), 16).
fn pin_hash(pin: &str) -> [u8; 16] {
    Sha256::digest(pin.as_bytes())[..16].try_into().expect("16 of 32 bytes")
}

/// The required pinUvAuthProtocol parameter; unsupported numbers are INVALID_PARAMETER.
fn protocol(request: &Request) -> Result<PinProtocol, u8> {
    let number = request.unsigned(key::PROTOCOL)?.ok_or(status::MISSING_PARAMETER)?;
    PinProtocol::from_number(number).ok_or(status::INVALID_PARAMETER)
}

/// The permissions (required, non-zero, only ones this key supports) and optional rpId.
fn permissions(request: &Request) -> Result<(u64, Option<String>), u8> {
    let permissions = request.unsigned(key::PERMISSIONS)?.ok_or(status::MISSING_PARAMETER)?;
    if permissions == 0 {
        return Err(status::INVALID_PARAMETER);
    }
    if permissions & !SUPPORTED_PERMISSIONS != 0 {
        return Err(status::UNAUTHORIZED_PERMISSION);
    }
    // Without rpId the token is bound to the RP of its first use.
    let rp_id = request.text(key::RP_ID)?.map(str::to_owned);
    Ok((permissions, rp_id))
}

/// The new PIN from newPinEnc: 64 bytes of UTF-8 PIN padded with zeros, 4…63 bytes long.
fn decrypt_new_pin(shared: &SharedSecret, new_pin_enc: &[u8]) -> Result<String, u8> {
    let padded = shared.decrypt(new_pin_enc).ok_or(status::PIN_AUTH_INVALID)?;
    if padded.len() != 64 {
        return Err(status::PIN_POLICY_VIOLATION);
    }
    let end = padded.iter().position(|&b| b == 0).unwrap_or(padded.len());
    if end > MAX_PIN_BYTES || padded[end..].iter().any(|&b| b != 0) {
        return Err(status::PIN_POLICY_VIOLATION);
    }
    let pin = std::str::from_utf8(&padded[..end]).map_err(|_| status::PIN_POLICY_VIOLATION)?;
    if pin.chars().count() < MIN_PIN_LENGTH {
        return Err(status::PIN_POLICY_VIOLATION);
    }
    Ok(pin.to_owned())
}
