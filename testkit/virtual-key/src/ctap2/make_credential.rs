//! authenticatorMakeCredential (`0x01`): ES256 credentials with packed self attestation
//! (`attStmt = {alg: -7, sig}` signed by the credential key itself), optionally discoverable.

use sha2::{Digest, Sha256};

use super::cbor::{self, canonical_map, Request};
use super::client_pin::permission;
use super::credential::{cose_es256, Resident, AAGUID, COSE_ALG_ES256, MAX_RESIDENT_CREDENTIALS};
use super::{client_data_hash, flags, options, pin_uv_auth, status, Ctap2, PinUvAuth, Plan, Step};
use crate::authenticator::Authenticator;
use crate::keys::sign_der;

/// Longest user id CTAP2 allows.
const MAX_USER_ID_LEN: usize = 64;

mod key {
    pub const CLIENT_DATA_HASH: u64 = 0x01;
    pub const RP: u64 = 0x02;
    pub const USER: u64 = 0x03;
    pub const PUB_KEY_CRED_PARAMS: u64 = 0x04;
    pub const EXCLUDE_LIST: u64 = 0x05;
    pub const OPTIONS: u64 = 0x07;
    pub const PIN_UV_AUTH_PARAM: u64 = 0x08;
    pub const PIN_UV_AUTH_PROTOCOL: u64 = 0x09;
    pub const ENTERPRISE_ATTESTATION: u64 = 0x0A;
}

/// A credential ready to be made.
pub(crate) struct Creation {
    rp_id_hash: [u8; 32],
    client_data_hash: Vec<u8>,
    user_id: Vec<u8>,
    discoverable: bool,
    user_verified: bool,
}

impl Ctap2 {
    pub(super) fn make_credential(
        &mut self,
        authenticator: &Authenticator,
        request: &Request,
    ) -> Result<Step, u8> {
        let client_data_hash = client_data_hash(request, key::CLIENT_DATA_HASH)?;
        let rp = request.map(key::RP)?.ok_or(status::MISSING_PARAMETER)?;
        let rp_id = cbor::as_text(cbor::field(rp, "id").ok_or(status::MISSING_PARAMETER)?)?;
        let user = request.map(key::USER)?.ok_or(status::MISSING_PARAMETER)?;
        let user_id = cbor::as_bytes(cbor::field(user, "id").ok_or(status::MISSING_PARAMETER)?)?;
        if user_id.is_empty() || user_id.len() > MAX_USER_ID_LEN {
            return Err(status::INVALID_LENGTH);
        }
        check_algorithms(request.array(key::PUB_KEY_CRED_PARAMS)?.ok_or(status::MISSING_PARAMETER)?)?;
        let exclude_list = request.array(key::EXCLUDE_LIST)?.unwrap_or_default();
        if request.get(key::ENTERPRISE_ATTESTATION).is_some() {
            return Err(status::INVALID_PARAMETER); // this key has no enterprise attestation
        }
        let auth = pin_uv_auth(request, key::PIN_UV_AUTH_PARAM, key::PIN_UV_AUTH_PROTOCOL)?;
        let options = options(request, key::OPTIONS)?;
        if matches!(auth, PinUvAuth::Probe) {
            return Ok(Step::AwaitPresence(Plan::PinProbe));
        }
        if options.up == Some(false) {
            return Err(status::INVALID_OPTION);
        }
        let discoverable = options.rk == Some(true);
        let uv_option = matches!(auth, PinUvAuth::Absent) && options.uv == Some(true);
        let protected = self.pin.is_set() || self.pin.uv.available;
        // makeCredUvNotRqd: only discoverable credentials of a protected key need verification.
        if protected && matches!(auth, PinUvAuth::Absent) && !uv_option && discoverable {
            return Err(status::PIN_REQUIRED);
        }
        let user_verified =
            self.user_verification(&auth, uv_option, &client_data_hash, permission::MAKE_CREDENTIAL, rp_id)?;

        let rp_id_hash: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
        for entry in exclude_list {
            let descriptor = cbor::as_map(entry)?;
            let id = cbor::as_bytes(cbor::field(descriptor, "id").ok_or(status::MISSING_PARAMETER)?)?;
            if authenticator.owns(&rp_id_hash, id) {
                return Ok(Step::AwaitPresence(Plan::Excluded));
            }
        }
        if discoverable
            && self.residents.for_rp(&rp_id_hash).iter().all(|c| c.user_id != user_id)
            && self.residents.len() >= MAX_RESIDENT_CREDENTIALS
        {
            return Err(status::KEY_STORE_FULL);
        }
        Ok(Step::AwaitPresence(Plan::Credential(Creation {
            rp_id_hash,
            client_data_hash,
            user_id: user_id.to_vec(),
            discoverable,
            user_verified,
        })))
    }

    pub(super) fn create_credential(
        &mut self,
        authenticator: &mut Authenticator,
        creation: Creation,
    ) -> Result<Vec<u8>, u8> {
        let Creation { rp_id_hash, client_data_hash, user_id, discoverable, user_verified } = creation;
        let credential_id = authenticator.new_credential_id(&rp_id_hash, &client_data_hash);
        let key = authenticator.credential_key(&rp_id_hash, &credential_id);
        if discoverable
            && !self.residents.store(Resident { rp_id_hash, credential_id: credential_id.clone(), user_id })
        {
            return Err(status::KEY_STORE_FULL);
        }
        let mut flag_bits = flags::USER_PRESENT | flags::ATTESTED_CREDENTIAL_DATA;
        if user_verified {
            flag_bits |= flags::USER_VERIFIED;
        }
        let counter = authenticator.advance_counter().map_err(|()| status::OTHER)?;
        let id_len = u16::try_from(credential_id.len()).map_err(|_| status::OTHER)?;
        let mut auth_data = Vec::new();
        auth_data.extend_from_slice(&rp_id_hash);
        auth_data.push(flag_bits);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        auth_data.extend_from_slice(&AAGUID);
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&credential_id);
        auth_data.extend_from_slice(&cbor::encode(&cose_es256(key.verifying_key())));
        let signature = sign_der(&key, &[&auth_data[..], &client_data_hash].concat());
        let statement = canonical_map(vec![
            (cbor::text("alg"), cbor::int(COSE_ALG_ES256)),
            (cbor::text("sig"), cbor::bytes(&signature)),
        ]);
        Ok(cbor::success(canonical_map(vec![
            (cbor::int(0x01), cbor::text("packed")),
            (cbor::int(0x02), cbor::bytes(&auth_data)),
            (cbor::int(0x03), statement),
        ])))
    }
}

/// pubKeyCredParams must be well-formed and offer ES256.
fn check_algorithms(params: &[ciborium::value::Value]) -> Result<(), u8> {
    let mut es256 = false;
    for param in params {
        let param = cbor::as_map(param)?;
        let alg = cbor::integer(cbor::field(param, "alg").ok_or(status::MISSING_PARAMETER)?)?;
        let kind = cbor::as_text(cbor::field(param, "type").ok_or(status::MISSING_PARAMETER)?)?;
        es256 |= kind == "public-key" && alg == i128::from(COSE_ALG_ES256);
    }
    if es256 {
        Ok(())
    } else {
        Err(status::UNSUPPORTED_ALGORITHM)
    }
}
