//! The U2F raw-message layer (CTAP1): VERSION, REGISTER and AUTHENTICATE on APDUs, with a
//! device-wide signature counter and user presence.

use std::time::Instant;

use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

use crate::apdu::{self, Command};
use crate::attestation;
use crate::keys::{sign_der, KeyMaterial};
use crate::presence::{Presence, PresenceState};
use crate::state_file::StateFile;

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
    /// Where the counter is kept between processes, if anywhere ([`Self::persist_counter`]).
    state_file: Option<StateFile>,
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
            state_file: None,
            registrations: 0,
            imported: Vec::new(),
            recent: None,
        }
    }

    pub(crate) fn counter(&self) -> u32 {
        self.counter
    }

    /// From now on the counter continues from `counter` and is saved to `state_file` before each
    /// signature is released.
    pub(crate) fn persist_counter(&mut self, state_file: StateFile, counter: u32) {
        self.counter = counter;
        self.state_file = Some(state_file);
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

    /// True when the user is present now (the presence is consumed: the caller must then act).
    pub(crate) fn take_presence(&mut self, now: Instant) -> bool {
        self.presence.take(now)
    }

    /// The key stopped waiting for a touch (its request was cancelled or timed out).
    pub(crate) fn stop_waiting_for_presence(&mut self) {
        self.presence.clear_request();
    }

    /// Advances the device-wide signature counter (shared by U2F and CTAP2) and returns the value
    /// to sign with; `Err` when a state file could not record it (the signature must be refused).
    pub(crate) fn advance_counter(&mut self) -> Result<u32, ()> {
        self.counter = self.next_counter().map_err(drop)?;
        Ok(self.counter)
    }

    /// A new credential id for `app_param` (CTAP2 makeCredential): made like REGISTER's handles.
    pub(crate) fn new_credential_id(&mut self, app_param: &[u8; 32], challenge: &[u8]) -> Vec<u8> {
        let challenge: [u8; 32] = Sha256::digest(challenge).into();
        let enrollment = self.material.registration(app_param, &challenge, self.registrations);
        self.registrations += 1;
        enrollment.key_handle
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
        self.counter = self.next_counter()?;
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

    /// The counter of the next signature: one more than the last, saturating instead of wrapping
    /// (a counter must never go backwards). With a state file, one more than the larger of the
    /// file's and this key's, saved before the signature is released: failing to save refuses the
    /// signature (`6F00`), since a signature whose counter is lost would look like a replay later.
    fn next_counter(&self) -> Result<u32, u16> {
        let Some(state_file) = &self.state_file else {
            return Ok(self.counter.saturating_add(1));
        };
        let saved = state_file.read().and_then(|stored| {
            let next = stored.unwrap_or(0).max(self.counter).saturating_add(1);
            state_file.save(next).map(|()| next)
        });
        saved.map_err(|error| {
            log::error!("{error}: signature refused");
            apdu::SW_UNKNOWN
        })
    }

    /// True for handles this key made for `app_param` and for imported credentials; cheap (one HMAC),
    /// unlike deriving the signing key, so check-only polling stays fast.
    pub(crate) fn owns(&self, app_param: &[u8; 32], key_handle: &[u8]) -> bool {
        self.imported.iter().any(|c| &c.app_param == app_param && c.key_handle == key_handle)
            || self.material.owns(app_param, key_handle)
    }

    /// The signing key of a handle that [`owns`](Self::owns) accepted.
    pub(crate) fn credential_key(&mut self, app_param: &[u8; 32], key_handle: &[u8]) -> SigningKey {
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
