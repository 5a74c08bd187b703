//! The U2F raw-message layer (CTAP1): VERSION, REGISTER and AUTHENTICATE on APDUs, with a
//! device-wide signature counter and user presence.

use std::time::Instant;

use p256::ecdsa::SigningKey;

use crate::apdu::{self, Command};
use crate::attestation;
use crate::keys::{sign_der, KeyMaterial};
use crate::presence::{Presence, PresenceState};

/// Answer of U2F_VERSION.
pub const U2F_VERSION: &[u8] = b"U2F_V2";

/// Presence byte of a signature made after the user touched the key.
const USER_PRESENT: u8 = 0x01;
/// First byte of a REGISTER response.
const REGISTER_RESERVED: u8 = 0x05;

/// A credential with its signing key: imported by a test (e.g. a published test vector's) or cached.
struct Credential {
    app_param: [u8; 32],
    key_handle: Vec<u8>,
    key: SigningKey,
}

pub(crate) struct Authenticator {
    material: KeyMaterial,
    attestation_certificate: Option<Vec<u8>>,
    presence: PresenceState,
    counter: u32,
    registrations: u64,
    /// Credentials imported by tests.
    imported: Vec<Credential>,
    /// The last derived credential: deriving costs a scalar multiplication, and hosts poll one handle.
    recent: Option<Credential>,
}

impl Authenticator {
    pub(crate) fn new(material: KeyMaterial) -> Self {
        Authenticator {
            material,
            attestation_certificate: None,
            presence: PresenceState::new(),
            counter: 0,
            registrations: 0,
            imported: Vec::new(),
            recent: None,
        }
    }

    pub(crate) fn counter(&self) -> u32 {
        self.counter
    }

    pub(crate) fn set_presence(&mut self, presence: Presence) {
        self.presence.set_mode(presence);
    }

    pub(crate) fn presence_requested(&self) -> bool {
        self.presence.is_requested()
    }

    pub(crate) fn touch(&mut self, now: Instant) {
        self.presence.touch(now);
    }

    /// Adds (or replaces) a credential; a scalar that is not a valid P-256 private key is refused.
    pub(crate) fn import(
        &mut self,
        app_param: [u8; 32],
        key_handle: Vec<u8>,
        private_key: [u8; 32],
    ) -> Result<(), p256::ecdsa::Error> {
        let key = SigningKey::from_slice(&private_key)?;
        self.imported.retain(|c| !(c.app_param == app_param && c.key_handle == key_handle));
        self.imported.push(Credential { app_param, key_handle, key });
        Ok(())
    }

    /// Answers one request APDU with response data ‖ SW1 SW2.
    pub(crate) fn process(&mut self, request: &[u8], now: Instant) -> Vec<u8> {
        let result = apdu::parse(request).and_then(|command| match command.ins {
            apdu::INS_VERSION => version(&command),
            apdu::INS_REGISTER => self.register(&command, now),
            apdu::INS_AUTHENTICATE => self.authenticate(&command, now),
            _ => Err(apdu::SW_INS_NOT_SUPPORTED),
        });
        match result {
            Ok(mut data) => {
                data.extend_from_slice(&apdu::SW_NO_ERROR.to_be_bytes());
                data
            }
            Err(status) => status.to_be_bytes().to_vec(),
        }
    }

    fn register(&mut self, command: &Command<'_>, now: Instant) -> Result<Vec<u8>, u16> {
        if command.data.len() != 64 {
            return Err(apdu::SW_WRONG_LENGTH);
        }
        let challenge_param = to_param(&command.data[..32])?;
        let app_param = to_param(&command.data[32..])?;
        if !self.presence.take(now) {
            return Err(apdu::SW_CONDITIONS_NOT_SATISFIED);
        }
        let certificate = self.attestation_certificate()?;
        let enrollment = self.material.registration(&app_param, &challenge_param, self.registrations);
        self.registrations += 1;
        let handle_len = u8::try_from(enrollment.key_handle.len()).map_err(|_| apdu::SW_UNKNOWN)?;

        let mut signed = Vec::with_capacity(1 + 32 + 32 + enrollment.key_handle.len() + 65);
        signed.push(0x00);
        signed.extend_from_slice(&app_param);
        signed.extend_from_slice(&challenge_param);
        signed.extend_from_slice(&enrollment.key_handle);
        signed.extend_from_slice(&enrollment.public_key);
        let signature = sign_der(&self.material.attestation_key(), &signed);

        let mut response = vec![REGISTER_RESERVED];
        response.extend_from_slice(&enrollment.public_key);
        response.push(handle_len);
        response.extend_from_slice(&enrollment.key_handle);
        response.extend_from_slice(&certificate);
        response.extend_from_slice(&signature);
        Ok(response)
    }

    fn authenticate(&mut self, command: &Command<'_>, now: Instant) -> Result<Vec<u8>, u16> {
        let data = command.data;
        let handle_len = usize::from(*data.get(64).ok_or(apdu::SW_WRONG_LENGTH)?);
        if handle_len == 0 || data.len() != 65 + handle_len {
            return Err(apdu::SW_WRONG_LENGTH);
        }
        let challenge_param = to_param(&data[..32])?;
        let app_param = to_param(&data[32..64])?;
        let key_handle = &data[65..];
        if !self.owns(&app_param, key_handle) {
            return Err(apdu::SW_WRONG_DATA);
        }

        let presence_byte = match command.p1 {
            apdu::CONTROL_CHECK_ONLY => return Err(apdu::SW_CONDITIONS_NOT_SATISFIED),
            apdu::CONTROL_ENFORCE_PRESENCE if self.presence.take(now) => USER_PRESENT,
            apdu::CONTROL_ENFORCE_PRESENCE => return Err(apdu::SW_CONDITIONS_NOT_SATISFIED),
            apdu::CONTROL_DONT_ENFORCE_PRESENCE => 0x00,
            _ => return Err(apdu::SW_WRONG_DATA),
        };
        let key = self.credential_key(&app_param, key_handle);
        // Saturates instead of wrapping: a counter must never go backwards.
        self.counter = self.counter.saturating_add(1);
        let counter = self.counter.to_be_bytes();

        let mut signed = Vec::with_capacity(32 + 1 + 4 + 32);
        signed.extend_from_slice(&app_param);
        signed.push(presence_byte);
        signed.extend_from_slice(&counter);
        signed.extend_from_slice(&challenge_param);
        let signature = sign_der(&key, &signed);

        let mut response = Vec::with_capacity(5 + signature.len());
        response.push(presence_byte);
        response.extend_from_slice(&counter);
        response.extend_from_slice(&signature);
        Ok(response)
    }

    /// True for handles this key made for `app_param` and for imported credentials; cheap (one HMAC),
    /// unlike deriving the signing key, so check-only polling stays fast.
    fn owns(&self, app_param: &[u8; 32], key_handle: &[u8]) -> bool {
        self.imported.iter().any(|c| &c.app_param == app_param && c.key_handle == key_handle)
            || self.material.owns(app_param, key_handle)
    }

    /// The signing key of a handle that [`owns`](Self::owns) accepted.
    fn credential_key(&mut self, app_param: &[u8; 32], key_handle: &[u8]) -> SigningKey {
        let matches = |c: &&Credential| &c.app_param == app_param && c.key_handle == key_handle;
        if let Some(credential) = self.imported.iter().find(matches).or(self.recent.as_ref().filter(matches))
        {
            return credential.key.clone();
        }
        let key = self.material.signing_key(app_param, key_handle);
        self.recent =
            Some(Credential { app_param: *app_param, key_handle: key_handle.to_vec(), key: key.clone() });
        key
    }

    fn attestation_certificate(&mut self) -> Result<Vec<u8>, u16> {
        if let Some(certificate) = &self.attestation_certificate {
            return Ok(certificate.clone());
        }
        let certificate =
            attestation::certificate_der(&self.material.attestation_key()).map_err(|_| apdu::SW_UNKNOWN)?;
        self.attestation_certificate = Some(certificate.clone());
        Ok(certificate)
    }
}

fn version(command: &Command<'_>) -> Result<Vec<u8>, u16> {
    if !command.data.is_empty() {
        return Err(apdu::SW_WRONG_LENGTH);
    }
    Ok(U2F_VERSION.to_vec())
}

fn to_param(bytes: &[u8]) -> Result<[u8; 32], u16> {
    bytes.try_into().map_err(|_| apdu::SW_WRONG_LENGTH)
}
