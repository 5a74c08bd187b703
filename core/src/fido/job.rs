//! What one sign operation asks of the keys — AA's U2F sign requests (U2F:1) or one FIDO2
//! assertion (FIDO2:1) — split into items a key is asked about one by one, and how an item is
//! put to a CTAP2 key and its assertion turned back into the answer the server wants.

use super::get_assertion::{AssertionParams, AssertionResponse, Verification};
use super::request::{Assertion, AssertionRequest, SignResponse, UserVerification};
use super::u2f::{PreparedRequest, SignatureData};

/// The work of one sign operation.
#[derive(Clone, Copy, Debug)]
pub enum Job<'a> {
    /// U2F:1: one item per sign request (key handle, appId, challenge).
    U2f(&'a [PreparedRequest]),
    /// FIDO2:1: one item per allowed credential (one item when the list is empty).
    Fido2(&'a AssertionRequest),
}

/// What a sign operation produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    U2f(SignResponse),
    Fido2(Assertion),
}

impl Job<'_> {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Job::U2f(requests) => requests.len(),
            Job::Fido2(request) => request.allow_credentials.len().max(1),
        }
    }

    /// Whether the job needs CTAP2 (FIDO2:1) or can also be done over U2F (U2F:1).
    pub fn needs_ctap2(&self) -> bool {
        matches!(self, Job::Fido2(_))
    }

    /// The relying party's wish for user verification (U2F credentials have none).
    pub fn user_verification(&self) -> UserVerification {
        match self {
            Job::U2f(_) => UserVerification::Discouraged,
            Job::Fido2(request) => request.user_verification,
        }
    }

    /// The getAssertion for `items` (U2F: one sign request — rpId = appId, clientDataHash =
    /// SHA-256 of its clientData, allowList = its key handle; FIDO2: the credentials of the items).
    pub fn params(&self, items: &[usize], user_presence: bool) -> AssertionParams {
        match self {
            Job::U2f(requests) => {
                let request = &requests[items[0]];
                AssertionParams {
                    rp_id: request.app_id().to_owned(),
                    client_data_hash: *request.challenge_parameter(),
                    allow_list: vec![request.key_handle().to_vec()],
                    user_presence,
                    verification: Verification::None,
                }
            }
            Job::Fido2(request) => AssertionParams {
                rp_id: request.rp_id.clone(),
                client_data_hash: request.client_data_hash,
                allow_list: items
                    .iter()
                    .filter_map(|&item| request.allow_credentials.get(item).cloned())
                    .collect(),
                user_presence,
                verification: Verification::None,
            },
        }
    }

    /// The answer to `items` from a key's assertion to `params`, checked against them.
    pub fn finish(
        &self,
        items: &[usize],
        params: &AssertionParams,
        response: &AssertionResponse,
    ) -> Result<Signed, String> {
        let credential_id = response.check(params)?;
        match self {
            Job::U2f(requests) => {
                let signature = SignatureData::parse(&response.u2f_signature_data()?)?;
                Ok(Signed::U2f(requests[items[0]].sign_response(&signature)))
            }
            Job::Fido2(_) => Ok(Signed::Fido2(Assertion {
                credential_id,
                authenticator_data: response.auth_data.clone(),
                signature: response.signature.clone(),
                user_handle: response.user_handle.clone(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};

    use super::*;
    use crate::fido::cbor::{self, Value};
    use crate::fido::test_support::{hex, sign_vector};
    use crate::fido::u2f::decode_b64u;

    /// The U2F spec vector's request, answered by a CTAP2 key that holds the same credential:
    /// the CTAP2 assertion, turned into U2F signatureData, verifies with the U2F public key over
    /// exactly the U2F signed bytes.
    #[test]
    fn a_ctap2_assertion_becomes_the_identical_u2f_sign_response() {
        let vector = sign_vector();
        let request = PreparedRequest::from_parts(
            hex(vector["key_handle"].as_str().unwrap()),
            vector["app_id"].as_str().unwrap(),
            vector["client_data"].as_str().unwrap().as_bytes().to_vec(),
        )
        .unwrap();
        let requests = [request];
        let job = Job::U2f(&requests);
        let params = job.params(&[0], true);
        assert_eq!(params.rp_id, "https://gstatic.com/securitykey/a/example.com");
        assert_eq!(params.rp_id_hash().to_vec(), hex(vector["application_parameter"].as_str().unwrap()));
        assert_eq!(params.client_data_hash.to_vec(), hex(vector["challenge_parameter"].as_str().unwrap()));

        // authData = appParam ‖ UP ‖ counter 1; the signature is the vector's (over the same bytes).
        let response_data = hex(vector["response_data"].as_str().unwrap());
        let mut auth_data = hex(vector["application_parameter"].as_str().unwrap());
        auth_data.extend_from_slice(&response_data[..5]);
        let answer = cbor::int_map([
            (
                1,
                cbor::text_map([
                    ("id", Value::Bytes(params.allow_list[0].clone())),
                    ("type", Value::Text("public-key".into())),
                ]),
            ),
            (2, Value::Bytes(auth_data.clone())),
            (3, Value::Bytes(response_data[5..].to_vec())),
        ]);
        let response = AssertionResponse::parse(&cbor::decode(&cbor::encode(&answer)).unwrap()).unwrap();
        let Signed::U2f(sign_response) = job.finish(&[0], &params, &response).unwrap() else { panic!() };
        let expected = &vector["derived_sign_response"];
        assert_eq!(sign_response.key_handle, expected["keyHandle"].as_str().unwrap());
        assert_eq!(sign_response.client_data, expected["clientData"].as_str().unwrap());
        assert_eq!(sign_response.signature_data, expected["signatureData"].as_str().unwrap());

        // And it verifies the way a U2F server checks it.
        let signature_data = decode_b64u(&sign_response.signature_data).unwrap();
        let mut signed = auth_data;
        signed.extend_from_slice(&params.client_data_hash);
        assert_eq!(signed, hex(vector["signed_bytes"].as_str().unwrap()));
        let key = VerifyingKey::from_sec1_bytes(&hex(vector["user_public_key"].as_str().unwrap())).unwrap();
        key.verify(&signed, &Signature::from_der(&signature_data[5..]).unwrap()).unwrap();
    }

    #[test]
    fn fido2_items_are_the_allowed_credentials() {
        let request = AssertionRequest {
            rp_id: "aa.example.com".into(),
            client_data_hash: [3; 32],
            allow_credentials: vec![vec![1], vec![2], vec![3]],
            user_verification: UserVerification::Required,
        };
        let job = Job::Fido2(&request);
        assert_eq!(job.len(), 3);
        assert_eq!(job.params(&[0, 2], true).allow_list, [vec![1], vec![3]]);
        assert_eq!(job.user_verification(), UserVerification::Required);
        let discoverable = AssertionRequest { allow_credentials: Vec::new(), ..request };
        assert_eq!(Job::Fido2(&discoverable).len(), 1);
        assert!(Job::Fido2(&discoverable).params(&[0], true).allow_list.is_empty());
    }
}
