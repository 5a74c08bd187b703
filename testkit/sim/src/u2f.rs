//! Server side of U2F authentication (FIDO U2F raw messages, JS-API encodings): issuing sign
//! requests and verifying sign responses. Pure functions without I/O, usable outside the server.

use std::fmt;

use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
use base64::{alphabet, Engine};
use p256::ecdsa::{signature::Verifier, Signature, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// base64url as U2F uses it: emitted without padding, accepted with or without.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `typ` of the client data of an authentication.
pub const GET_ASSERTION_TYP: &str = "navigator.id.getAssertion";
const USER_PRESENCE_FLAG: u8 = 0x01;

/// base64url without padding.
pub fn encode_b64url(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}

/// base64url with or without padding; `None` when not base64url.
pub fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    B64URL.decode(text).ok()
}

/// Parses a 65-byte uncompressed SEC1 P-256 point.
pub fn parse_public_key(bytes: &[u8]) -> Option<VerifyingKey> {
    if bytes.len() != 65 || bytes[0] != 0x04 {
        return None;
    }
    VerifyingKey::from_sec1_bytes(bytes).ok()
}

/// Why a sign response was refused. Each kind maps to its own FAILED reason and msgid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum U2fRejection {
    /// `signResponse` is not an object of base64url strings `keyHandle`, `clientData`, `signatureData`.
    MalformedSignResponse(String),
    /// clientData is not base64url JSON of an object, or its `typ` is not `navigator.id.getAssertion`.
    BadClientData(String),
    /// clientData `challenge` is not the challenge this logon process issued.
    WrongChallenge,
    /// clientData `origin` is not the App ID (for an App ID with a path: not its facet origin).
    WrongOrigin(String),
    /// The key handle belongs to none of the user's enrolled keys.
    UnknownKeyHandle,
    /// The user-presence flag is not set.
    UserNotPresent,
    /// The counter is not greater than the last accepted one.
    CounterReplay { received: u32, last_accepted: u32 },
    /// signatureData does not parse, or the ECDSA signature does not verify with the enrolled key.
    BadSignature,
}

impl U2fRejection {
    /// The `reason` of the FAILED reply (simulator choice; the real server's is undocumented).
    pub fn reason(&self) -> &'static str {
        match self {
            U2fRejection::MalformedSignResponse(_) => "U2F_MALFORMED_SIGN_RESPONSE",
            U2fRejection::BadClientData(_) => "U2F_BAD_CLIENT_DATA",
            U2fRejection::WrongChallenge => "U2F_WRONG_CHALLENGE",
            U2fRejection::WrongOrigin(_) => "U2F_WRONG_ORIGIN",
            U2fRejection::UnknownKeyHandle => "U2F_UNKNOWN_KEY_HANDLE",
            U2fRejection::UserNotPresent => "U2F_USER_NOT_PRESENT",
            U2fRejection::CounterReplay { .. } => "U2F_COUNTER_REPLAY",
            U2fRejection::BadSignature => "U2F_BAD_SIGNATURE",
        }
    }

    /// The `msgid` of the FAILED reply, AUCORE-2060…2066 (simulator choice). A malformed sign
    /// response is a validation error (HTTP 400) and has none.
    pub fn msgid(&self) -> Option<&'static str> {
        Some(match self {
            U2fRejection::MalformedSignResponse(_) => return None,
            U2fRejection::BadClientData(_) => "AUCORE-2060",
            U2fRejection::WrongChallenge => "AUCORE-2061",
            U2fRejection::WrongOrigin(_) => "AUCORE-2062",
            U2fRejection::UnknownKeyHandle => "AUCORE-2063",
            U2fRejection::UserNotPresent => "AUCORE-2064",
            U2fRejection::CounterReplay { .. } => "AUCORE-2065",
            U2fRejection::BadSignature => "AUCORE-2066",
        })
    }
}

impl fmt::Display for U2fRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            U2fRejection::MalformedSignResponse(detail) => write!(f, "Malformed signResponse: {detail}"),
            U2fRejection::BadClientData(detail) => write!(f, "Invalid U2F client data: {detail}"),
            U2fRejection::WrongChallenge => f.write_str("U2F client data carries a challenge that was not issued"),
            U2fRejection::WrongOrigin(origin) => {
                write!(f, "U2F client data origin {origin:?} does not match the application ID")
            }
            U2fRejection::UnknownKeyHandle => f.write_str("The security key is not enrolled for this user"),
            U2fRejection::UserNotPresent => f.write_str("The security key did not confirm user presence"),
            U2fRejection::CounterReplay { received, last_accepted } => write!(
                f,
                "U2F counter {received} is not greater than the last accepted {last_accepted} (cloned key or replay)"
            ),
            U2fRejection::BadSignature => f.write_str("The U2F signature is invalid"),
        }
    }
}

impl std::error::Error for U2fRejection {}

fn random_32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
}

/// A fresh random challenge and one `signRequests` entry per key handle, all sharing it.
pub fn new_sign_requests(app_id: &str, key_handles: &[Vec<u8>]) -> (String, Value) {
    let challenge = encode_b64url(&random_32());
    let requests = key_handles
        .iter()
        .map(|handle| {
            json!({ "version": "U2F_V2", "appId": app_id, "keyHandle": encode_b64url(handle), "challenge": challenge })
        })
        .collect();
    (challenge, Value::Array(requests))
}

/// The WebAuthn-shaped `webauth_challenge` AA sends next to `signRequests`: its own random hex
/// challenge, credential ids = hex of the key handles.
pub fn new_webauth_challenge(key_handles: &[Vec<u8>]) -> Value {
    let credentials: Vec<Value> = key_handles
        .iter()
        .map(|handle| json!({ "type": "public-key", "id": data_encoding::HEXLOWER.encode(handle), "transports": ["usb"] }))
        .collect();
    json!({
        "challenge": data_encoding::HEXLOWER.encode(&random_32()),
        "allowCredentials": credentials,
        "userVerification": "discouraged",
        "extensions": { "appid": "NetIQ" },
    })
}

fn string_field<'a>(sign_response: &'a Value, name: &str) -> Result<&'a str, U2fRejection> {
    let object = sign_response
        .as_object()
        .ok_or_else(|| U2fRejection::MalformedSignResponse("signResponse must be an object".into()))?;
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| U2fRejection::MalformedSignResponse(format!("{name} must be a string")))
}

/// The decoded `keyHandle` of a sign response, to find the enrolled key it claims.
pub fn sign_response_key_handle(sign_response: &Value) -> Result<Vec<u8>, U2fRejection> {
    let text = string_field(sign_response, "keyHandle")?;
    decode_b64url(text)
        .filter(|handle| !handle.is_empty())
        .ok_or_else(|| U2fRejection::MalformedSignResponse("keyHandle is not base64url".into()))
}

/// Verifies a sign response against the issued challenge and the enrolled key; returns the new
/// counter to store. Checks: clientData typ/challenge/origin, ECDSA signature over
/// appParam ‖ flags ‖ counter ‖ SHA-256(clientData bytes as received), user presence, counter.
pub fn verify_sign_response(
    app_id: &str,
    challenge_b64u: &str,
    public_key: &[u8; 65],
    last_counter: u32,
    sign_response: &Value,
) -> Result<u32, U2fRejection> {
    let client_data_text = string_field(sign_response, "clientData")?;
    let signature_data_text = string_field(sign_response, "signatureData")?;
    let client_data = decode_b64url(client_data_text)
        .ok_or_else(|| U2fRejection::BadClientData("clientData is not base64url".into()))?;
    check_client_data(&client_data, app_id, challenge_b64u)?;

    let signature_data = decode_b64url(signature_data_text).ok_or(U2fRejection::BadSignature)?;
    if signature_data.len() < 5 {
        return Err(U2fRejection::BadSignature);
    }
    let flags = signature_data[0];
    let counter =
        u32::from_be_bytes([signature_data[1], signature_data[2], signature_data[3], signature_data[4]]);
    let signature = Signature::from_der(&signature_data[5..]).map_err(|_| U2fRejection::BadSignature)?;
    let verifying_key = parse_public_key(public_key).ok_or(U2fRejection::BadSignature)?;

    let mut signed = Vec::with_capacity(69);
    signed.extend_from_slice(&Sha256::digest(app_id.as_bytes()));
    signed.push(flags);
    signed.extend_from_slice(&counter.to_be_bytes());
    signed.extend_from_slice(&Sha256::digest(&client_data));
    verifying_key.verify(&signed, &signature).map_err(|_| U2fRejection::BadSignature)?;

    if flags & USER_PRESENCE_FLAG == 0 {
        return Err(U2fRejection::UserNotPresent);
    }
    if counter <= last_counter {
        return Err(U2fRejection::CounterReplay { received: counter, last_accepted: last_counter });
    }
    Ok(counter)
}

/// The origin a client must put into clientData for `app_id`: the App ID itself, or for an App
/// ID with a path (or a trailing slash) its facet `scheme://host[:port]`.
pub fn facet_origin(app_id: &str) -> &str {
    let Some((_, rest)) = app_id.split_once("://") else { return app_id };
    match rest.find(['/', '?', '#']) {
        Some(end) => &app_id[..app_id.len() - rest.len() + end],
        None => app_id,
    }
}

fn check_client_data(client_data: &[u8], app_id: &str, challenge_b64u: &str) -> Result<(), U2fRejection> {
    let parsed: Value = serde_json::from_slice(client_data)
        .map_err(|_| U2fRejection::BadClientData("clientData is not JSON".into()))?;
    let field = |name: &str| parsed.get(name).and_then(Value::as_str);
    match field("typ") {
        Some(GET_ASSERTION_TYP) => {}
        Some(other) => {
            return Err(U2fRejection::BadClientData(format!("typ {other:?} is not {GET_ASSERTION_TYP}")))
        }
        None => return Err(U2fRejection::BadClientData("typ is missing".into())),
    }
    if field("challenge") != Some(challenge_b64u) {
        return Err(U2fRejection::WrongChallenge);
    }
    match field("origin") {
        Some(origin) if origin == facet_origin(app_id) => Ok(()),
        Some(origin) => Err(U2fRejection::WrongOrigin(origin.to_owned())),
        None => Err(U2fRejection::WrongOrigin(String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aa_virtual_key::{application_parameter, keys::sign_der, KeyMaterial};

    const APP_ID: &str = "https://aa.example";

    fn signed_response(
        seed: &[u8],
        challenge: &str,
        flags: u8,
        counter: u32,
        origin: &str,
    ) -> (Value, [u8; 65]) {
        let material = KeyMaterial::from_seed(seed);
        let enrollment = material.enrollment(APP_ID);
        let client_data =
            format!(r#"{{"typ":"navigator.id.getAssertion","challenge":"{challenge}","origin":"{origin}"}}"#);
        let mut signed = application_parameter(APP_ID).to_vec();
        signed.push(flags);
        signed.extend_from_slice(&counter.to_be_bytes());
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let key = material.signing_key(&application_parameter(APP_ID), &enrollment.key_handle);
        let mut signature_data = vec![flags];
        signature_data.extend_from_slice(&counter.to_be_bytes());
        signature_data.extend_from_slice(&sign_der(&key, &signed));
        let response = json!({
            "keyHandle": encode_b64url(&enrollment.key_handle),
            "clientData": encode_b64url(client_data.as_bytes()),
            "signatureData": encode_b64url(&signature_data),
        });
        (response, enrollment.public_key)
    }

    #[test]
    fn a_good_response_verifies_and_every_defect_has_its_rejection() {
        let (challenge, requests) = new_sign_requests(APP_ID, &[vec![1, 2, 3]]);
        assert_eq!(requests[0]["challenge"], challenge);
        assert_eq!(decode_b64url(&challenge).unwrap().len(), 32);

        let (good, public_key) = signed_response(b"demo", &challenge, 1, 7, APP_ID);
        assert_eq!(verify_sign_response(APP_ID, &challenge, &public_key, 6, &good), Ok(7));
        assert!(matches!(
            verify_sign_response(APP_ID, &challenge, &public_key, 7, &good),
            Err(U2fRejection::CounterReplay { received: 7, last_accepted: 7 })
        ));
        let (absent, _) = signed_response(b"demo", &challenge, 0, 8, APP_ID);
        assert_eq!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &absent),
            Err(U2fRejection::UserNotPresent)
        );
        let (other_origin, _) = signed_response(b"demo", &challenge, 1, 8, "https://evil.example");
        assert!(matches!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &other_origin),
            Err(U2fRejection::WrongOrigin(_))
        ));
        let (other_key, _) = signed_response(b"other", &challenge, 1, 8, APP_ID);
        assert_eq!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &other_key),
            Err(U2fRejection::BadSignature)
        );
        let (stale, _) = signed_response(b"demo", "c3RhbGU", 1, 8, APP_ID);
        assert_eq!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &stale),
            Err(U2fRejection::WrongChallenge)
        );
        assert!(matches!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &json!("nope")),
            Err(U2fRejection::MalformedSignResponse(_))
        ));
        let mut garbage = good.clone();
        garbage["clientData"] = json!(encode_b64url(b"not json"));
        assert!(matches!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &garbage),
            Err(U2fRejection::BadClientData(_))
        ));
        let mut short = good;
        short["signatureData"] = json!("AQ");
        assert_eq!(
            verify_sign_response(APP_ID, &challenge, &public_key, 0, &short),
            Err(U2fRejection::BadSignature)
        );
    }

    #[test]
    fn webauth_challenge_ids_are_hex_key_handles() {
        let challenge = new_webauth_challenge(&[vec![0xab, 0x01]]);
        assert_eq!(challenge["allowCredentials"][0]["id"], "ab01");
        assert_eq!(challenge["challenge"].as_str().unwrap().len(), 64);
    }
}
