//! authenticatorGetAssertion (`0x02`) and authenticatorGetNextAssertion (`0x08`): the signature
//! over `authData ‖ clientDataHash` with authData = SHA-256(rpId) ‖ flags ‖ counter, the counter
//! shared with U2F. U2F key handles are credential ids here, so rpId = appId signs exactly what
//! U2F AUTHENTICATE would.

use std::time::{Duration, Instant};

use ciborium::value::Value;
use sha2::{Digest, Sha256};

use super::cbor::{self, canonical_map, Request};
use super::client_pin::permission;
use super::credential::Resident;
use super::{client_data_hash, flags, options, pin_uv_auth, status, Ctap2, PinUvAuth, Plan, Step};
use crate::authenticator::Authenticator;
use crate::keys::sign_der;

/// How long getNextAssertion serves the rest of a discoverable-credential answer.
pub const NEXT_ASSERTION_WINDOW: Duration = Duration::from_secs(30);

mod key {
    pub const RP_ID: u64 = 0x01;
    pub const CLIENT_DATA_HASH: u64 = 0x02;
    pub const ALLOW_LIST: u64 = 0x03;
    pub const OPTIONS: u64 = 0x05;
    pub const PIN_UV_AUTH_PARAM: u64 = 0x06;
    pub const PIN_UV_AUTH_PROTOCOL: u64 = 0x07;
}

/// A credential found for the request, with its user id when it is discoverable.
pub(crate) struct Candidate {
    credential_id: Vec<u8>,
    user_id: Option<Vec<u8>>,
}

/// An assertion ready to sign.
pub(crate) struct Signing {
    rp_id_hash: [u8; 32],
    client_data_hash: Vec<u8>,
    user_verified: bool,
    candidate: Candidate,
    /// Discoverable credentials after the first, for getNextAssertion.
    remaining: Vec<Candidate>,
    /// numberOfCredentials, reported when found without an allowList.
    discovered: Option<usize>,
}

/// The rest of a discoverable-credential answer.
pub(crate) struct NextAssertions {
    rp_id_hash: [u8; 32],
    client_data_hash: Vec<u8>,
    flags: u8,
    remaining: Vec<Candidate>,
    expires: Instant,
}

impl Ctap2 {
    pub(super) fn get_assertion(
        &mut self,
        authenticator: &mut Authenticator,
        request: &Request,
        now: Instant,
    ) -> Result<Step, u8> {
        let rp_id = request.text(key::RP_ID)?.ok_or(status::MISSING_PARAMETER)?;
        let client_data_hash = client_data_hash(request, key::CLIENT_DATA_HASH)?;
        let allow_list = request.array(key::ALLOW_LIST)?.unwrap_or_default();
        let auth = pin_uv_auth(request, key::PIN_UV_AUTH_PARAM, key::PIN_UV_AUTH_PROTOCOL)?;
        let options = options(request, key::OPTIONS)?;
        if matches!(auth, PinUvAuth::Probe) {
            return Ok(Step::AwaitPresence(Plan::PinProbe));
        }
        if options.rk.is_some() {
            return Err(status::UNSUPPORTED_OPTION);
        }
        // With a pinUvAuthParam the uv option is ignored (CTAP 2.1 §6.2.2 step 5).
        let uv_option = matches!(auth, PinUvAuth::Absent) && options.uv == Some(true);
        let user_verified =
            self.user_verification(&auth, uv_option, &client_data_hash, permission::GET_ASSERTION, rp_id)?;

        let rp_id_hash: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
        let (mut candidates, discovered) = if allow_list.is_empty() {
            let found: Vec<Candidate> = self
                .residents
                .for_rp(&rp_id_hash)
                .into_iter()
                .map(|Resident { credential_id, user_id, .. }| Candidate {
                    credential_id,
                    user_id: Some(user_id),
                })
                .collect();
            let count = found.len();
            (found, Some(count))
        } else {
            let found = self.allowed_credential(authenticator, &rp_id_hash, allow_list)?;
            (found.into_iter().collect(), None)
        };
        if candidates.is_empty() {
            return Err(status::NO_CREDENTIALS);
        }
        let candidate = candidates.remove(0);
        let signing = Signing {
            rp_id_hash,
            client_data_hash,
            user_verified,
            candidate,
            remaining: candidates,
            discovered,
        };
        if options.up == Some(false) {
            return self.sign_assertion(authenticator, signing, false, now).map(Step::Reply);
        }
        Ok(Step::AwaitPresence(Plan::Assertion(signing)))
    }

    /// The first allowList entry of type public-key that this key made (or imported) for the RP.
    fn allowed_credential(
        &self,
        authenticator: &Authenticator,
        rp_id_hash: &[u8; 32],
        allow_list: &[Value],
    ) -> Result<Option<Candidate>, u8> {
        for entry in allow_list {
            let descriptor = cbor::as_map(entry)?;
            let kind = cbor::field(descriptor, "type").ok_or(status::MISSING_PARAMETER)?;
            let id = cbor::as_bytes(cbor::field(descriptor, "id").ok_or(status::MISSING_PARAMETER)?)?;
            if cbor::as_text(kind)? != "public-key" {
                continue;
            }
            if authenticator.owns(rp_id_hash, id) {
                let user_id = self.residents.user_of(rp_id_hash, id);
                return Ok(Some(Candidate { credential_id: id.to_vec(), user_id }));
            }
        }
        Ok(None)
    }

    pub(super) fn get_next_assertion(
        &mut self,
        authenticator: &mut Authenticator,
        now: Instant,
    ) -> Result<Vec<u8>, u8> {
        let next = self.next.take().filter(|next| now < next.expires).ok_or(status::NOT_ALLOWED)?;
        let NextAssertions { rp_id_hash, client_data_hash, flags, mut remaining, expires } = next;
        if remaining.is_empty() {
            return Err(status::NOT_ALLOWED);
        }
        let candidate = remaining.remove(0);
        let response =
            signed_response(authenticator, &rp_id_hash, &client_data_hash, flags, &candidate, None)?;
        if !remaining.is_empty() {
            self.next = Some(NextAssertions { rp_id_hash, client_data_hash, flags, remaining, expires });
        }
        Ok(response)
    }

    /// Signs (the counter advances) and keeps the rest of a discoverable answer for later.
    pub(super) fn sign_assertion(
        &mut self,
        authenticator: &mut Authenticator,
        signing: Signing,
        user_present: bool,
        now: Instant,
    ) -> Result<Vec<u8>, u8> {
        let mut flag_bits = 0;
        if user_present {
            flag_bits |= flags::USER_PRESENT;
        }
        if signing.user_verified {
            flag_bits |= flags::USER_VERIFIED;
        }
        let number_of_credentials = signing.discovered.filter(|&n| n > 1);
        let response = signed_response(
            authenticator,
            &signing.rp_id_hash,
            &signing.client_data_hash,
            flag_bits,
            &signing.candidate,
            number_of_credentials,
        )?;
        self.next = (!signing.remaining.is_empty()).then(|| NextAssertions {
            rp_id_hash: signing.rp_id_hash,
            client_data_hash: signing.client_data_hash,
            flags: flag_bits,
            remaining: signing.remaining,
            expires: now + NEXT_ASSERTION_WINDOW,
        });
        Ok(response)
    }
}

fn signed_response(
    authenticator: &mut Authenticator,
    rp_id_hash: &[u8; 32],
    client_data_hash: &[u8],
    flag_bits: u8,
    candidate: &Candidate,
    number_of_credentials: Option<usize>,
) -> Result<Vec<u8>, u8> {
    let key = authenticator.credential_key(rp_id_hash, &candidate.credential_id);
    let counter = authenticator.advance_counter().map_err(|()| status::OTHER)?;
    let mut auth_data = Vec::with_capacity(37);
    auth_data.extend_from_slice(rp_id_hash);
    auth_data.push(flag_bits);
    auth_data.extend_from_slice(&counter.to_be_bytes());
    let signature = sign_der(&key, &[&auth_data[..], client_data_hash].concat());

    let descriptor = canonical_map(vec![
        (cbor::text("id"), cbor::bytes(&candidate.credential_id)),
        (cbor::text("type"), cbor::text("public-key")),
    ]);
    let mut entries = vec![
        (cbor::int(0x01), descriptor),
        (cbor::int(0x02), cbor::bytes(&auth_data)),
        (cbor::int(0x03), cbor::bytes(&signature)),
    ];
    if let Some(user_id) = &candidate.user_id {
        entries.push((cbor::int(0x04), canonical_map(vec![(cbor::text("id"), cbor::bytes(user_id))])));
    }
    if let Some(count) = number_of_credentials {
        entries.push((cbor::int(0x05), cbor::int(i64::try_from(count).unwrap_or(i64::MAX))));
    }
    Ok(cbor::success(canonical_map(entries)))
}
