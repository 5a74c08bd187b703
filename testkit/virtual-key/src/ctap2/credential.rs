//! FIDO2 credentials: ids in the same self-authenticating format as U2F key handles (so one
//! credential works over CTAP1 and CTAP2 alike), COSE public keys, discoverable credentials.

use ciborium::value::Value;
use p256::ecdsa::VerifyingKey;

use super::cbor::{self, canonical_map};

/// COSE algorithm ES256 (ECDSA P-256 with SHA-256), the only one this key makes.
pub const COSE_ALG_ES256: i64 = -7;
/// The authenticator model id getInfo and attested credential data report.
pub const AAGUID: [u8; 16] = *b"aa-virtualkey-v1";
/// Discoverable credentials the key can hold.
pub const MAX_RESIDENT_CREDENTIALS: usize = 32;

/// The public half of a FIDO2 credential, as a relying party stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fido2Credential {
    /// The credential id (64 bytes, like a U2F key handle).
    pub credential_id: Vec<u8>,
    /// The COSE_Key of the public key (`{1: 2, 3: -7, -1: 1, -2: x, -3: y}`), as in attested
    /// credential data.
    pub public_key_cose: Vec<u8>,
    /// The same public key as an uncompressed SEC1 point (`04 ‖ X ‖ Y`).
    pub public_key_sec1: [u8; 65],
}

impl Fido2Credential {
    pub(crate) fn new(credential_id: Vec<u8>, public_key: &VerifyingKey) -> Self {
        let point = public_key.to_encoded_point(false);
        let public_key_sec1: [u8; 65] =
            point.as_bytes().try_into().expect("uncompressed P-256 point is 65 bytes");
        Fido2Credential {
            credential_id,
            public_key_cose: cbor::encode(&cose_es256(public_key)),
            public_key_sec1,
        }
    }
}

/// The COSE_Key of an ES256 credential public key.
pub fn cose_es256(public_key: &VerifyingKey) -> Value {
    let point = public_key.to_encoded_point(false);
    canonical_map(vec![
        (cbor::int(1), cbor::int(2)),
        (cbor::int(3), cbor::int(COSE_ALG_ES256)),
        (cbor::int(-1), cbor::int(1)),
        (cbor::int(-2), cbor::bytes(point.x().expect("uncompressed point"))),
        (cbor::int(-3), cbor::bytes(point.y().expect("uncompressed point"))),
    ])
}

/// A discoverable credential: found by rpId alone, returned with its user id.
#[derive(Clone, Debug)]
pub struct Resident {
    pub rp_id_hash: [u8; 32],
    pub credential_id: Vec<u8>,
    pub user_id: Vec<u8>,
}

/// The discoverable credentials of one key, oldest first.
#[derive(Debug, Default)]
pub struct Residents {
    credentials: Vec<Resident>,
}

impl Residents {
    /// Stores a credential; one for the same RP and user id is replaced (as CTAP2 requires).
    /// `false` when the store is full.
    pub fn store(&mut self, resident: Resident) -> bool {
        self.credentials.retain(|c| !(c.rp_id_hash == resident.rp_id_hash && c.user_id == resident.user_id));
        if self.credentials.len() >= MAX_RESIDENT_CREDENTIALS {
            return false;
        }
        self.credentials.push(resident);
        true
    }

    pub fn len(&self) -> usize {
        self.credentials.len()
    }

    /// The RP's credentials, most recent first (the order getAssertion returns them in).
    pub fn for_rp(&self, rp_id_hash: &[u8; 32]) -> Vec<Resident> {
        self.credentials.iter().rev().filter(|c| &c.rp_id_hash == rp_id_hash).cloned().collect()
    }

    /// The user id of a discoverable credential, if `credential_id` is one.
    pub fn user_of(&self, rp_id_hash: &[u8; 32], credential_id: &[u8]) -> Option<Vec<u8>> {
        self.credentials
            .iter()
            .find(|c| &c.rp_id_hash == rp_id_hash && c.credential_id == credential_id)
            .map(|c| c.user_id.clone())
    }
}
