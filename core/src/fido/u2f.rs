//! U2F (CTAP1) on top of a CTAPHID channel: clientData and parameters, AUTHENTICATE with its
//! check-only and enforce-presence forms, VERSION, and the signResponse AA expects.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::apdu::{self, ins, status};
use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::frame::command;
use super::request::{SignRequest, SignResponse};
use crate::{DeviceCode, Error, ErrorKind, Result};

/// base64url that accepts input with or without `=` padding but rejects any other deviation.
const B64U_LENIENT_PADDING: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Smallest DER ECDSA signature (`30 06 02 01 r 02 01 s`).
const MIN_DER_SIGNATURE_LEN: usize = 8;

/// AUTHENTICATE control byte (P1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// 0x07: only asks whether the key handle belongs to this key; never signs.
    CheckOnly = 0x07,
    /// 0x03: signs once the user touched the key; `6985` until then.
    EnforcePresence = 0x03,
}

/// The clientData JSON of a U2F sign, serialised once; its exact bytes are hashed and sent.
#[derive(Serialize)]
struct ClientData<'a> {
    typ: &'static str,
    challenge: &'a str,
    origin: &'a str,
}

/// clientData's `origin` for `app_id`: the appId itself (as AA's Device Service sends it), but
/// for an appId URL with a path or a trailing slash only its facet `scheme://host[:port]`, which is
/// what an origin is (a web origin never has a path).
fn facet_origin(app_id: &str) -> &str {
    let Some((_, rest)) = app_id.split_once("://") else { return app_id };
    match rest.find(['/', '?', '#']) {
        Some(end) => &app_id[..app_id.len() - rest.len() + end],
        None => app_id,
    }
}

/// A sign request checked and turned into the bytes the key needs.
#[derive(Clone, Debug)]
pub struct PreparedRequest {
    key_handle: Vec<u8>,
    /// The appId: a CTAP2 key answering U2F gets it as the rpId.
    app_id: String,
    application_parameter: [u8; 32],
    client_data: Vec<u8>,
    challenge_parameter: [u8; 32],
}

impl PreparedRequest {
    /// Decodes the key handle and builds clientData (`origin` = the appId's facet, see
    /// [`facet_origin`]; the challenge verbatim).
    pub fn new(request: &SignRequest) -> Result<Self> {
        if !request.version.is_empty() && request.version != "U2F_V2" {
            log::debug!("sign request version {:?} treated as U2F_V2", request.version);
        }
        if request.challenge.is_empty() {
            return Err(malformed("a sign request has an empty challenge"));
        }
        if request.app_id.is_empty() {
            return Err(malformed("a sign request has an empty appId"));
        }
        let key_handle = decode_b64u(&request.key_handle)
            .map_err(|e| malformed(format!("a sign request's keyHandle is not base64url: {e}")))?;
        let client_data = serde_json::to_vec(&ClientData {
            typ: "navigator.id.getAssertion",
            challenge: &request.challenge,
            origin: facet_origin(&request.app_id),
        })
        .map_err(|e| malformed(format!("cannot serialise clientData: {e}")))?;
        Self::from_parts(key_handle, &request.app_id, client_data)
    }

    /// Builds the request from already decoded parts (also used with the spec's clientData bytes).
    pub fn from_parts(key_handle: Vec<u8>, app_id: &str, client_data: Vec<u8>) -> Result<Self> {
        if key_handle.is_empty() || key_handle.len() > 255 {
            return Err(malformed(format!(
                "a keyHandle of {} bytes is not 1 to 255 bytes",
                key_handle.len()
            )));
        }
        Ok(PreparedRequest {
            key_handle,
            app_id: app_id.to_owned(),
            application_parameter: Sha256::digest(app_id.as_bytes()).into(),
            challenge_parameter: Sha256::digest(&client_data).into(),
            client_data,
        })
    }

    /// SHA-256(appId).
    #[cfg(test)]
    pub fn application_parameter(&self) -> &[u8; 32] {
        &self.application_parameter
    }

    /// SHA-256(clientData bytes): a CTAP2 key answering U2F gets it as the clientDataHash.
    pub fn challenge_parameter(&self) -> &[u8; 32] {
        &self.challenge_parameter
    }

    /// The appId string.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The decoded key handle.
    pub fn key_handle(&self) -> &[u8] {
        &self.key_handle
    }

    /// The clientData bytes exactly as hashed.
    #[cfg(test)]
    pub fn client_data(&self) -> &[u8] {
        &self.client_data
    }

    /// The AUTHENTICATE APDU: challenge parameter ‖ application parameter ‖ L ‖ key handle.
    pub fn authenticate_apdu(&self, control: Control) -> Vec<u8> {
        let mut data = Vec::with_capacity(65 + self.key_handle.len());
        data.extend_from_slice(&self.challenge_parameter);
        data.extend_from_slice(&self.application_parameter);
        data.push(self.key_handle.len() as u8); // 1..=255, checked in from_parts
        data.extend_from_slice(&self.key_handle);
        // At most 320 bytes of data: always fits an extended APDU.
        apdu::extended(ins::AUTHENTICATE, control as u8, &data).unwrap_or_default()
    }

    /// The signResponse for AA from a key's signatureData.
    pub fn sign_response(&self, signature: &SignatureData) -> SignResponse {
        SignResponse {
            key_handle: URL_SAFE_NO_PAD.encode(&self.key_handle),
            client_data: URL_SAFE_NO_PAD.encode(&self.client_data),
            signature_data: URL_SAFE_NO_PAD.encode(signature.as_bytes()),
        }
    }
}

/// A key's AUTHENTICATE answer: user presence ‖ counter ‖ DER signature, checked for shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureData {
    bytes: Vec<u8>,
}

impl SignatureData {
    /// Checks the layout: presence byte with bit 0 set, 4-byte counter, a well-formed DER signature.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.len() < 5 + MIN_DER_SIGNATURE_LEN {
            return Err(format!("signature data of {} bytes is too short", bytes.len()));
        }
        if bytes[0] & 0x01 == 0 {
            return Err("signature data does not assert user presence".into());
        }
        p256::ecdsa::Signature::from_der(&bytes[5..])
            .map_err(|_| "signature data does not carry a DER ECDSA P-256 signature".to_string())?;
        Ok(SignatureData { bytes: bytes.to_vec() })
    }

    /// The signature counter.
    pub fn counter(&self) -> u32 {
        u32::from_be_bytes([self.bytes[1], self.bytes[2], self.bytes[3], self.bytes[4]])
    }

    /// The DER signature.
    #[cfg(test)]
    pub fn der_signature(&self) -> &[u8] {
        &self.bytes[5..]
    }

    /// The whole signatureData as AA wants it (without the status word).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// What a key said to an AUTHENTICATE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// 9000 on enforce-presence: the user touched the key.
    Signed(SignatureData),
    /// 6985: the handle is this key's (check-only) / the key waits for a touch (enforce-presence).
    PresenceRequired,
    /// 6A80 (or 6984, 6700): the handle is not from this key or not for this appId.
    NotThisKey,
}

/// Sends one AUTHENTICATE and classifies the answer.
pub fn authenticate(
    channel: &mut Channel,
    control: Control,
    request: &PreparedRequest,
    deadline: &Deadline,
) -> std::result::Result<Authentication, ExchangeError> {
    let reply = channel.transact(command::MSG, &request.authenticate_apdu(control), deadline)?;
    let (data, sw) = apdu::split_reply(&reply)
        .ok_or_else(|| channel.error(format!("U2F reply of {} bytes has no status word", reply.len())))?;
    match sw {
        status::NO_ERROR if control == Control::CheckOnly => {
            Err(channel.error("the key signed a check-only AUTHENTICATE").into())
        }
        // 9000 on enforce-presence means the user touched the key: a bad signature after that is
        // the key's fault, never a reason to keep waiting for another touch.
        status::NO_ERROR => SignatureData::parse(data).map(Authentication::Signed).map_err(|e| {
            channel.error(format!("the key was touched but answered bad signature data: {e}")).into()
        }),
        status::CONDITIONS_NOT_SATISFIED => Ok(Authentication::PresenceRequired),
        status::WRONG_DATA | status::WRONG_DATA_LEGACY | status::WRONG_LENGTH => {
            Ok(Authentication::NotThisKey)
        }
        other => Err(channel
            .error(format!("AUTHENTICATE answered {} ({other:04x})", apdu::status_name(other)))
            .with_device_code(DeviceCode::StatusWord(other))
            .into()),
    }
}

/// Asks the key for its U2F version string (`U2F_V2`), with the fallbacks old keys need.
pub fn version(channel: &mut Channel, deadline: &Deadline) -> std::result::Result<String, ExchangeError> {
    let mut reply = channel.transact(command::MSG, &apdu::extended_no_data(ins::VERSION, 0), deadline)?;
    if apdu::split_reply(&reply).map(|(_, sw)| sw) == Some(status::WRONG_LENGTH) {
        reply = channel.transact(command::MSG, &apdu::legacy_no_data(ins::VERSION, 0), deadline)?;
    }
    match apdu::split_reply(&reply) {
        Some((data, status::NO_ERROR)) if !data.is_empty() && data.len() <= 32 && data.is_ascii() => {
            Ok(String::from_utf8_lossy(data).into_owned())
        }
        // Pre-standard keys do not know VERSION (Chrome's reading of 6D00).
        Some((_, status::INS_NOT_SUPPORTED)) => Ok("U2F_V1".into()),
        Some((_, sw)) => Err(channel
            .error(format!("VERSION answered {} ({sw:04x})", apdu::status_name(sw)))
            .with_device_code(DeviceCode::StatusWord(sw))
            .into()),
        None => Err(channel.error("VERSION reply has no status word").into()),
    }
}

/// Decodes base64url, with or without padding.
pub fn decode_b64u(text: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    B64U_LENIENT_PADDING.decode(text)
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::MalformedServerData, message)
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};

    use super::*;
    use crate::fido::test_support::{hex, sign_vector};

    fn vector_request() -> PreparedRequest {
        let vector = sign_vector();
        PreparedRequest::from_parts(
            hex(vector["key_handle"].as_str().unwrap()),
            vector["app_id"].as_str().unwrap(),
            vector["client_data"].as_str().unwrap().as_bytes().to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn hashes_the_vector_client_data_and_app_id() {
        let vector = sign_vector();
        let request = vector_request();
        assert_eq!(
            request.challenge_parameter().to_vec(),
            hex(vector["challenge_parameter"].as_str().unwrap())
        );
        assert_eq!(
            request.application_parameter().to_vec(),
            hex(vector["application_parameter"].as_str().unwrap())
        );
    }

    #[test]
    fn builds_the_vector_apdu() {
        let apdu = vector_request().authenticate_apdu(Control::EnforcePresence);
        assert_eq!(apdu, hex(sign_vector()["derived_extended_apdu"].as_str().unwrap()));
        let check = vector_request().authenticate_apdu(Control::CheckOnly);
        assert_eq!(check[2], 0x07);
        assert_eq!(check[3..], apdu[3..]);
    }

    #[test]
    fn signature_data_has_the_vector_layout_and_verifies() {
        let vector = sign_vector();
        let response = hex(vector["response_data"].as_str().unwrap());
        let signature = SignatureData::parse(&response).unwrap();
        assert_eq!(signature.counter(), 1);
        assert_eq!(signature.der_signature(), &hex(vector["signature"].as_str().unwrap())[..]);

        let request = vector_request();
        let mut signed = request.application_parameter().to_vec();
        signed.extend_from_slice(&response[..5]);
        signed.extend_from_slice(request.challenge_parameter());
        assert_eq!(signed, hex(vector["signed_bytes"].as_str().unwrap()));
        let public_key =
            VerifyingKey::from_sec1_bytes(&hex(vector["user_public_key"].as_str().unwrap())).unwrap();
        let der = Signature::from_der(signature.der_signature()).unwrap();
        public_key.verify(&signed, &der).unwrap();

        let expected = &vector["derived_sign_response"];
        let sign_response = request.sign_response(&signature);
        assert_eq!(sign_response.key_handle, expected["keyHandle"].as_str().unwrap());
        assert_eq!(sign_response.client_data, expected["clientData"].as_str().unwrap());
        assert_eq!(sign_response.signature_data, expected["signatureData"].as_str().unwrap());
    }

    #[test]
    fn client_data_is_typ_challenge_origin_with_the_challenge_verbatim() {
        let vector = sign_vector();
        let request = SignRequest {
            version: "U2F_V2".into(),
            challenge: vector["server_challenge_b64u"].as_str().unwrap().into(),
            key_handle: vector["derived_sign_response"]["keyHandle"].as_str().unwrap().into(),
            app_id: "https://aa.example.com".into(),
        };
        let prepared = PreparedRequest::new(&request).unwrap();
        assert_eq!(
            std::str::from_utf8(prepared.client_data()).unwrap(),
            r#"{"typ":"navigator.id.getAssertion","challenge":"opsXqUifDriAAmWclinfbS0e-USY0CgyJHe_Otd7z8o","origin":"https://aa.example.com"}"#
        );
        assert_eq!(prepared.challenge_parameter(), &<[u8; 32]>::from(Sha256::digest(prepared.client_data())));
        assert_eq!(prepared.key_handle, hex(vector["key_handle"].as_str().unwrap()));
    }

    #[test]
    fn origin_is_the_app_id_or_for_an_app_id_with_a_path_its_facet() {
        for (app_id, origin) in [
            ("https://aa.example.com", "https://aa.example.com"),
            ("https://aa.example.com:8443", "https://aa.example.com:8443"),
            ("https://164.99.184.45", "https://164.99.184.45"),
            ("https://aa.example.com/", "https://aa.example.com"),
            ("https://aa.example.com/u2f", "https://aa.example.com"),
            ("https://aa.example.com:8443/TOP/app-id.json", "https://aa.example.com:8443"),
            ("https://[::1]:8443/x", "https://[::1]:8443"),
            ("https://aa.example.com?x=1", "https://aa.example.com"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(facet_origin(app_id), origin, "{app_id}");
            let request = SignRequest {
                version: "U2F_V2".into(),
                challenge: "c2lnbg".into(),
                key_handle: "AAEC".into(),
                app_id: app_id.into(),
            };
            let prepared = PreparedRequest::new(&request).unwrap();
            let client_data: serde_json::Value = serde_json::from_slice(prepared.client_data()).unwrap();
            assert_eq!(client_data["origin"], origin, "{app_id}");
            // The application parameter stays the hash of the appId exactly as sent.
            assert_eq!(
                prepared.application_parameter(),
                &<[u8; 32]>::from(Sha256::digest(app_id.as_bytes()))
            );
        }
    }

    #[test]
    fn refuses_malformed_requests() {
        let good = SignRequest {
            version: "U2F_V2".into(),
            challenge: "c2lnbg".into(),
            key_handle: "AAEC".into(),
            app_id: "https://aa.example.com".into(),
        };
        assert!(PreparedRequest::new(&good).is_ok());
        assert!(PreparedRequest::new(&SignRequest { key_handle: "AAE=".into(), ..good.clone() }).is_ok());
        assert!(PreparedRequest::new(&SignRequest { key_handle: "AAE".into(), ..good.clone() }).is_ok());
        for bad in [
            SignRequest { key_handle: "not base64!".into(), ..good.clone() },
            SignRequest { key_handle: "AAEC+/".into(), ..good.clone() },
            SignRequest { key_handle: "AAEC==".into(), ..good.clone() },
            SignRequest { key_handle: String::new(), ..good.clone() },
            SignRequest { key_handle: URL_SAFE_NO_PAD.encode([7u8; 256]), ..good.clone() },
            SignRequest { challenge: String::new(), ..good.clone() },
            SignRequest { app_id: String::new(), ..good.clone() },
        ] {
            let error = PreparedRequest::new(&bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::MalformedServerData, "{bad:?}");
        }
    }

    #[test]
    fn refuses_malformed_signature_data() {
        let good = hex(sign_vector()["response_data"].as_str().unwrap());
        let mut no_presence = good.clone();
        no_presence[0] = 0x00;
        let mut broken_der = good.clone();
        broken_der[6] = 0x99;
        for bad in
            [&[][..], &good[..5], &good[..good.len() - 1], &no_presence[..], &broken_der[..], &[0x01; 80][..]]
        {
            assert!(SignatureData::parse(bad).is_err(), "{bad:02x?}");
        }
    }
}
