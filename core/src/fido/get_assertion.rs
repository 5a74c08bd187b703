//! authenticatorGetAssertion (`0x02`): the request map (rpId, clientDataHash, allowList, options
//! `up`/`uv`, pinUvAuthParam), the answer (credential, authData, signature, user) checked against
//! the request, and the CTAP2 → U2F identity that turns an assertion into U2F signatureData.

use sha2::{Digest, Sha256};

use super::cbor::{self, CborError, MapView, Value};

/// Longest credential id accepted in an answer (CTAP 2.1 allows up to 1023 bytes); an empty one
/// is refused too.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;
/// Longest DER ECDSA signature of any curve a key might use (P-521: 139 bytes).
const MAX_SIGNATURE_LEN: usize = 256;
/// Longest authenticator data accepted (37 bytes plus extension outputs).
const MAX_AUTH_DATA_LEN: usize = 1024;
/// Longest user handle (WebAuthn: at most 64 bytes).
const MAX_USER_HANDLE_LEN: usize = 64;
/// Authenticator data without extensions: rpIdHash ‖ flags ‖ signCount.
pub const PLAIN_AUTH_DATA_LEN: usize = 37;

/// authData flag bits.
pub mod flag {
    pub const USER_PRESENT: u8 = 0x01;
    pub const USER_VERIFIED: u8 = 0x04;
}

/// How the assertion proves the user was verified, when it must.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// No user verification asked for.
    None,
    /// The key's built-in UV (`"uv": true` option).
    BuiltIn,
    /// A PIN/UV auth token: pinUvAuthParam = authenticate(token, clientDataHash), and its protocol.
    Token { param: Vec<u8>, protocol: u64 },
}

/// One getAssertion request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionParams {
    /// The RP ID — for a U2F-registered credential, the appId string.
    pub rp_id: String,
    pub client_data_hash: [u8; 32],
    /// Credential ids to look for; empty for discoverable credentials.
    pub allow_list: Vec<Vec<u8>>,
    /// false: a silent check whether the key holds a credential (no touch, no blink).
    pub user_presence: bool,
    pub verification: Verification,
}

impl AssertionParams {
    /// The request map. `up` is sent only when false and `uv` only when true: CTAP2's defaults
    /// cover the rest, and some CTAP 2.0 keys refuse options they were not asked to honour.
    pub fn to_cbor(&self) -> Value {
        let mut entries = vec![
            (0x01, Value::Text(self.rp_id.clone())),
            (0x02, Value::Bytes(self.client_data_hash.to_vec())),
        ];
        if !self.allow_list.is_empty() {
            let list = self
                .allow_list
                .iter()
                .map(|id| {
                    cbor::text_map([
                        ("id", Value::Bytes(id.clone())),
                        ("type", Value::Text("public-key".into())),
                    ])
                })
                .collect();
            entries.push((0x03, Value::Array(list)));
        }
        let mut options = Vec::new();
        if !self.user_presence {
            options.push(("up", Value::Bool(false)));
        }
        if self.verification == Verification::BuiltIn {
            options.push(("uv", Value::Bool(true)));
        }
        if !options.is_empty() {
            entries.push((0x05, cbor::text_map(options)));
        }
        if let Verification::Token { param, protocol } = &self.verification {
            entries.push((0x06, Value::Bytes(param.clone())));
            entries.push((0x07, Value::from(*protocol)));
        }
        cbor::int_map(entries)
    }

    /// SHA-256(rpId): what the key's answer must carry as rpIdHash.
    pub fn rp_id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.rp_id.as_bytes()).into()
    }
}

/// The start of authenticator data: rpIdHash, flags, signature counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub counter: u32,
}

impl AuthenticatorData {
    /// Parses the fixed 37-byte start; later bytes (attested data, extensions) are left alone.
    pub fn parse(bytes: &[u8]) -> Result<Self, CborError> {
        let fixed: &[u8; PLAIN_AUTH_DATA_LEN] =
            bytes.get(..PLAIN_AUTH_DATA_LEN).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                CborError::from_message(format!("authData of {} bytes is too short", bytes.len()))
            })?;
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&fixed[..32]);
        Ok(AuthenticatorData {
            rp_id_hash,
            flags: fixed[32],
            counter: u32::from_be_bytes([fixed[33], fixed[34], fixed[35], fixed[36]]),
        })
    }

    pub fn user_present(&self) -> bool {
        self.flags & flag::USER_PRESENT != 0
    }

    pub fn user_verified(&self) -> bool {
        self.flags & flag::USER_VERIFIED != 0
    }
}

/// A getAssertion answer, shape-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionResponse {
    /// The credential used; may be absent when the allowList had exactly one entry.
    pub credential_id: Option<Vec<u8>>,
    pub auth_data: Vec<u8>,
    pub signature: Vec<u8>,
    /// The user handle (discoverable credentials).
    pub user_handle: Option<Vec<u8>>,
    pub number_of_credentials: Option<u64>,
}

impl AssertionResponse {
    pub fn parse(value: &Value) -> Result<AssertionResponse, CborError> {
        let map = MapView::new(value, "getAssertion answer")?;
        let credential_id = match map.opt_map(0x01, "getAssertion credential")? {
            None => None,
            Some(credential) => {
                match credential.opt_text_at("type", 64)? {
                    Some("public-key") | None => {}
                    Some(other) => {
                        return Err(CborError::from_message(format!("a credential of type {other:?}")))
                    }
                }
                let id = credential
                    .opt_bytes_at("id", MAX_CREDENTIAL_ID_LEN)?
                    .ok_or_else(|| CborError::from_message("the getAssertion credential has no id"))?;
                if id.is_empty() {
                    // As in a request's allowList: an id is 1 to MAX_CREDENTIAL_ID_LEN bytes.
                    return Err(CborError::from_message("the getAssertion credential id is empty"));
                }
                Some(id.to_vec())
            }
        };
        let auth_data = map.bytes(0x02, MAX_AUTH_DATA_LEN)?.to_vec();
        AuthenticatorData::parse(&auth_data)?;
        let signature = map.bytes(0x03, MAX_SIGNATURE_LEN)?.to_vec();
        let user_handle = match map.opt_map(0x04, "getAssertion user")? {
            None => None,
            Some(user) => user.opt_bytes_at("id", MAX_USER_HANDLE_LEN)?.map(<[u8]>::to_vec),
        };
        Ok(AssertionResponse {
            credential_id,
            auth_data,
            signature,
            user_handle,
            number_of_credentials: map.opt_uint(0x05)?,
        })
    }

    /// The parsed start of the authenticator data (checked in `parse`).
    pub fn authenticator_data(&self) -> AuthenticatorData {
        // `parse` refused anything shorter than 37 bytes.
        AuthenticatorData::parse(&self.auth_data).unwrap_or(AuthenticatorData {
            rp_id_hash: [0; 32],
            flags: 0,
            counter: 0,
        })
    }

    /// Checks the answer against the request it answers and returns the credential id used:
    /// rpIdHash = SHA-256(rpId), user present when asked, user verified when UV was asked for, a
    /// credential from the allowList (named, or implied by a one-entry list), a DER signature.
    pub fn check(&self, request: &AssertionParams) -> Result<Vec<u8>, String> {
        let data = self.authenticator_data();
        if data.rp_id_hash != request.rp_id_hash() {
            return Err("the assertion's rpIdHash is not SHA-256 of the rpId asked for".into());
        }
        if request.user_presence && !data.user_present() {
            return Err("the assertion does not assert user presence".into());
        }
        if request.verification != Verification::None && !data.user_verified() {
            return Err("the assertion does not assert the user verification asked for".into());
        }
        let credential = match (&self.credential_id, request.allow_list.as_slice()) {
            (Some(id), list) if list.is_empty() || list.contains(id) => id.clone(),
            (Some(_), _) => return Err("the assertion names a credential that was not asked for".into()),
            (None, [only]) => only.clone(),
            (None, _) => return Err("the assertion names no credential".into()),
        };
        p256::ecdsa::Signature::from_der(&self.signature)
            .map_err(|_| "the assertion's signature is not a DER ECDSA P-256 signature".to_string())?;
        Ok(credential)
    }

    /// The U2F signatureData this assertion stands for: flags ‖ counter ‖ signature. A CTAP2
    /// assertion signs authData ‖ clientDataHash, which for 37-byte authData is byte for byte the
    /// U2F signed message appParam ‖ presence ‖ counter ‖ challengeParam; with extension data
    /// the identity does not hold, so such answers are refused.
    pub fn u2f_signature_data(&self) -> Result<Vec<u8>, String> {
        if self.auth_data.len() != PLAIN_AUTH_DATA_LEN {
            return Err(format!(
                "authData of {} bytes (with extensions) has no U2F equivalent",
                self.auth_data.len()
            ));
        }
        let mut data = self.auth_data[32..].to_vec();
        data.extend_from_slice(&self.signature);
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido::cbor::decode;
    use crate::fido::test_support::{ctap2_vector, hex};

    fn vector_response() -> AssertionResponse {
        AssertionResponse::parse(
            &decode(&hex(ctap2_vector("get_assertion")["cbor"].as_str().unwrap())).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn parses_the_ctap2_spec_get_assertion_example() {
        let vector = ctap2_vector("get_assertion");
        let response = vector_response();
        assert_eq!(response.credential_id, Some(hex(vector["credential_id"].as_str().unwrap())));
        assert_eq!(response.auth_data, hex(vector["auth_data"].as_str().unwrap()));
        assert_eq!(response.signature, hex(vector["signature"].as_str().unwrap()));
        assert_eq!(response.user_handle, None);
        assert_eq!(response.number_of_credentials, None);
        let data = response.authenticator_data();
        assert_eq!(data.rp_id_hash.to_vec(), hex(vector["rp_id_hash"].as_str().unwrap()));
        assert_eq!(u64::from(data.flags), vector["flags"].as_u64().unwrap());
        assert_eq!(u64::from(data.counter), vector["counter"].as_u64().unwrap());
        assert!(data.user_present() && !data.user_verified());
        // The U2F identity: flags ‖ counter ‖ signature.
        let u2f = response.u2f_signature_data().unwrap();
        assert_eq!(u2f[..5], hex("010000001d")[..]);
        assert_eq!(u2f[5..], response.signature[..]);
    }

    #[test]
    fn checks_the_answer_against_the_request() {
        let response = vector_response();
        let id = response.credential_id.clone().unwrap();
        let mut request = AssertionParams {
            rp_id: "unknown".into(),
            client_data_hash: [0; 32],
            allow_list: vec![id.clone()],
            user_presence: true,
            verification: Verification::None,
        };
        // The vector's rpId is not published: its hash does not match ours.
        assert!(response.check(&request).unwrap_err().contains("rpIdHash"));
        let mut matching = response.clone();
        matching.auth_data[..32].copy_from_slice(&request.rp_id_hash());
        assert_eq!(matching.check(&request).unwrap(), id);
        request.verification = Verification::BuiltIn;
        assert!(matching.check(&request).unwrap_err().contains("verification"));
        request.verification = Verification::None;
        request.allow_list = vec![vec![1; 16]];
        assert!(matching.check(&request).unwrap_err().contains("not asked for"));
        let mut unnamed = matching.clone();
        unnamed.credential_id = None;
        assert_eq!(unnamed.check(&request).unwrap(), vec![1; 16]);
        request.allow_list.push(vec![2; 16]);
        assert!(unnamed.check(&request).unwrap_err().contains("names no credential"));
        let mut extended = matching.clone();
        extended.auth_data.push(0xa0);
        assert!(extended.u2f_signature_data().is_err());
    }

    #[test]
    fn requests_carry_only_the_options_that_differ_from_the_defaults() {
        let request = AssertionParams {
            rp_id: "https://aa.example.com".into(),
            client_data_hash: [7; 32],
            allow_list: vec![vec![1, 2]],
            user_presence: true,
            verification: Verification::None,
        };
        let encoded = cbor::encode(&request.to_cbor());
        let expected = [
            "a3".to_owned(),
            format!("0176{}", hex_of(b"https://aa.example.com")),
            format!("025820{}", "07".repeat(32)),
            format!("0381a262696442010264747970656a{}", hex_of(b"public-key")),
        ]
        .concat();
        assert_eq!(encoded, hex(&expected));
        let silent = AssertionParams { user_presence: false, allow_list: Vec::new(), ..request.clone() };
        assert!(cbor::encode(&silent.to_cbor()).ends_with(&hex("05a1627570f4")));
        let pin = AssertionParams {
            verification: Verification::Token { param: vec![9; 16], protocol: 2 },
            ..request.clone()
        };
        assert!(cbor::encode(&pin.to_cbor()).ends_with(&hex(&format!("0650{}0702", "09".repeat(16)))));
        let uv = AssertionParams { verification: Verification::BuiltIn, ..request };
        assert!(cbor::encode(&uv.to_cbor()).ends_with(&hex("05a1627576f5")));
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn refuses_malformed_answers() {
        for bad in [
            "a0",                                                                                 // nothing
            "a2024100034100", // authData too short
            "a102582500000000000000000000000000000000000000000000000000000000000000000100000001", // no signature
        ] {
            assert!(AssertionResponse::parse(&decode(&hex(bad)).unwrap()).is_err(), "{bad}");
        }
    }

    /// Found by the ctap2_answers fuzz target: an empty credential id was taken (and would have
    /// gone to the server), though a request's allowList ids must be 1 to 1023 bytes.
    #[test]
    fn refuses_an_empty_credential_id() {
        let vector = ctap2_vector("get_assertion");
        let answer = |id: Vec<u8>| {
            let credential =
                cbor::text_map([("id", Value::Bytes(id)), ("type", Value::Text("public-key".into()))]);
            let auth_data = Value::Bytes(hex(vector["auth_data"].as_str().unwrap()));
            let signature = Value::Bytes(hex(vector["signature"].as_str().unwrap()));
            cbor::int_map([(1, credential), (2, auth_data), (3, signature)])
        };
        assert_eq!(AssertionResponse::parse(&answer(vec![1])).unwrap().credential_id, Some(vec![1]));
        let error = AssertionResponse::parse(&answer(Vec::new())).unwrap_err();
        assert!(error.to_string().contains("empty"), "{error}");
    }
}
