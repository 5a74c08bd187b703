//! Server side of FIDO2:1 (WebAuthn assertions, aa-rest-api.md §4.2): the enrolled credentials,
//! the request options a client gets, and the full verification of an assertion. Pure functions
//! without I/O, usable outside the server.

use std::fmt;

use p256::ecdsa::{signature::Verifier, Signature};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fixture::Fixture;
use crate::u2f::{decode_b64url, encode_b64url, parse_public_key};

/// `type` of the clientDataJSON of an assertion.
pub const WEBAUTHN_GET: &str = "webauthn.get";
/// The timeout (ms) put into the request options, as the AA web client uses.
pub const OPTIONS_TIMEOUT_MS: u64 = 30_000;
const FLAG_USER_PRESENT: u8 = 0x01;
const FLAG_USER_VERIFIED: u8 = 0x04;
const FLAG_ATTESTED_DATA: u8 = 0x40;
const FLAG_EXTENSION_DATA: u8 = 0x80;

/// One enrolled FIDO2 credential.
pub struct Fido2Key {
    pub credential_id: Vec<u8>,
    pub public_key: [u8; 65],
    pub initial_counter: u32,
}

/// A user's FIDO2 enrollment and policy.
#[derive(Default)]
pub struct Fido2User {
    pub keys: Vec<Fido2Key>,
    /// The policy wants user verification (the UV flag) in every assertion.
    pub require_uv: bool,
}

/// The FIDO2 view of the fixture: the relying party and each user's credentials (same order as
/// the directory's users).
pub struct Fido2Directory {
    /// The RP ID: the host of the fixture's App ID.
    pub rp_id: String,
    users: Vec<Fido2User>,
}

impl Fido2Directory {
    /// `fixture` must be validated.
    pub fn new(fixture: &Fixture) -> Fido2Directory {
        let users = fixture
            .users
            .iter()
            .map(|user| match &user.fido2 {
                None => Fido2User::default(),
                Some(fido2) => Fido2User {
                    keys: fido2
                        .credentials
                        .iter()
                        .map(|c| Fido2Key {
                            credential_id: decode_b64url(&c.credential_id).expect("validated fixture"),
                            public_key: decode_b64url(&c.public_key)
                                .and_then(|bytes| bytes.try_into().ok())
                                .expect("validated fixture"),
                            initial_counter: c.counter,
                        })
                        .collect(),
                    require_uv: fido2.user_verification == "required",
                },
            })
            .collect();
        Fido2Directory { rp_id: rp_id_of(&fixture.u2f_app_id), users }
    }

    pub fn user(&self, index: usize) -> &Fido2User {
        &self.users[index]
    }

    pub fn is_enrolled(&self, user: usize) -> bool {
        !self.users[user].keys.is_empty()
    }

    /// The accepted clientDataJSON origins: the server's https origin as the client addressed it
    /// (the `Host` of the request) and the RP's own https origin.
    pub fn allowed_origins(&self, host: Option<&str>) -> Vec<String> {
        let mut origins = vec![format!("https://{}", self.rp_id)];
        if let Some(host) = host {
            origins.push(format!("https://{host}"));
        }
        origins
    }
}

/// The RP ID a fixture's App ID gives: its host (`https://aa-sim.local` → `aa-sim.local`).
pub fn rp_id_of(app_id: &str) -> String {
    let rest = app_id.strip_prefix("https://").unwrap_or(app_id);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority.split(':').next().unwrap_or(authority).to_owned()
}

/// The per-user, per-credential counters last accepted (kept across logon processes).
pub struct Fido2Counters {
    counters: Vec<Vec<u32>>,
}

impl Fido2Counters {
    pub fn new(directory: &Fido2Directory) -> Self {
        let counters =
            directory.users.iter().map(|u| u.keys.iter().map(|k| k.initial_counter).collect()).collect();
        Fido2Counters { counters }
    }

    pub fn get(&self, user: usize, key: usize) -> u32 {
        self.counters[user][key]
    }

    pub fn set(&mut self, user: usize, key: usize, counter: u32) {
        self.counters[user][key] = counter;
    }
}

/// Where a FIDO2:1 step stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fido2Phase {
    /// do_logon started the step; the client fetches the options next.
    AwaitingOptions,
    /// Options were issued with this challenge (base64url).
    Challenged { challenge: String },
    /// The assertion verified; the next do_logon passes the method.
    Verified,
    /// The assertion was refused; the next do_logon fails the process with this.
    Rejected(Fido2Rejection),
}

/// The request options (PublicKeyCredentialRequestOptions, base64url ids) for a user.
pub fn request_options(rp_id: &str, challenge: &str, user: &Fido2User) -> Value {
    let credentials: Vec<Value> = user
        .keys
        .iter()
        .map(
            |k| json!({ "type": "public-key", "id": encode_b64url(&k.credential_id), "transports": ["usb"] }),
        )
        .collect();
    json!({
        "status": "ok",
        "errorMessage": "",
        "challenge": challenge,
        "rpId": rp_id,
        "timeout": OPTIONS_TIMEOUT_MS,
        "allowCredentials": credentials,
        "userVerification": if user.require_uv { "required" } else { "discouraged" },
    })
}

/// A fresh random challenge (32 bytes, base64url).
pub fn new_challenge() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    encode_b64url(&bytes)
}

/// Why an assertion was refused. Each kind maps to its own FAILED reason and msgid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fido2Rejection {
    /// The assertion is not an object with base64url `id`, `rawId`, `type: public-key` and
    /// `response.{clientDataJSON, authenticatorData, signature}` (HTTP 400, no FAILED).
    Malformed(String),
    /// clientDataJSON is not JSON, or its `type` is not `webauthn.get`.
    BadClientData(String),
    /// clientDataJSON `challenge` is not the one issued (or none was issued).
    WrongChallenge,
    /// clientDataJSON `origin` is not an accepted origin.
    WrongOrigin(String),
    /// The credential id is none of the user's.
    UnknownCredential,
    /// authenticatorData is not for this RP ID, or is malformed.
    WrongRpId,
    /// The ES256 signature does not verify.
    BadSignature,
    /// The user-presence flag is clear.
    UserNotPresent,
    /// The policy requires user verification and the UV flag is clear.
    UserNotVerified,
    /// The counter is not greater than the last accepted one.
    CounterReplay { received: u32, last_accepted: u32 },
}

impl Fido2Rejection {
    /// The `reason` of the FAILED reply (simulator choice; the real server's is undocumented).
    pub fn reason(&self) -> &'static str {
        match self {
            Fido2Rejection::Malformed(_) => "FIDO2_MALFORMED_ASSERTION",
            Fido2Rejection::BadClientData(_) => "FIDO2_BAD_CLIENT_DATA",
            Fido2Rejection::WrongChallenge => "FIDO2_WRONG_CHALLENGE",
            Fido2Rejection::WrongOrigin(_) => "FIDO2_WRONG_ORIGIN",
            Fido2Rejection::UnknownCredential => "FIDO2_UNKNOWN_CREDENTIAL",
            Fido2Rejection::WrongRpId => "FIDO2_WRONG_RP_ID",
            Fido2Rejection::BadSignature => "FIDO2_BAD_SIGNATURE",
            Fido2Rejection::UserNotPresent => "FIDO2_USER_NOT_PRESENT",
            Fido2Rejection::UserNotVerified => "FIDO2_USER_NOT_VERIFIED",
            Fido2Rejection::CounterReplay { .. } => "FIDO2_COUNTER_REPLAY",
        }
    }

    /// The `msgid` of the FAILED reply, AUCORE-2090…2098 (simulator choice).
    pub fn msgid(&self) -> &'static str {
        match self {
            Fido2Rejection::Malformed(_) | Fido2Rejection::BadClientData(_) => "AUCORE-2090",
            Fido2Rejection::WrongChallenge => "AUCORE-2091",
            Fido2Rejection::WrongOrigin(_) => "AUCORE-2092",
            Fido2Rejection::UnknownCredential => "AUCORE-2093",
            Fido2Rejection::WrongRpId => "AUCORE-2094",
            Fido2Rejection::BadSignature => "AUCORE-2095",
            Fido2Rejection::UserNotPresent => "AUCORE-2096",
            Fido2Rejection::UserNotVerified => "AUCORE-2097",
            Fido2Rejection::CounterReplay { .. } => "AUCORE-2098",
        }
    }
}

impl fmt::Display for Fido2Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fido2Rejection::Malformed(detail) => write!(f, "Malformed FIDO2 assertion: {detail}"),
            Fido2Rejection::BadClientData(detail) => write!(f, "Invalid FIDO2 client data: {detail}"),
            Fido2Rejection::WrongChallenge => f.write_str("FIDO2 client data carries a challenge that was not issued"),
            Fido2Rejection::WrongOrigin(origin) => write!(f, "FIDO2 client data origin {origin:?} is not accepted"),
            Fido2Rejection::UnknownCredential => f.write_str("The FIDO2 credential is not enrolled for this user"),
            Fido2Rejection::WrongRpId => f.write_str("The FIDO2 authenticator data is not for this relying party"),
            Fido2Rejection::BadSignature => f.write_str("The FIDO2 signature is invalid"),
            Fido2Rejection::UserNotPresent => f.write_str("The security key did not confirm user presence"),
            Fido2Rejection::UserNotVerified => f.write_str("The policy requires user verification (PIN or biometrics)"),
            Fido2Rejection::CounterReplay { received, last_accepted } => write!(
                f,
                "FIDO2 counter {received} is not greater than the last accepted {last_accepted} (cloned key or replay)"
            ),
        }
    }
}

impl std::error::Error for Fido2Rejection {}

/// The decoded parts of an assertion body.
struct Parts {
    credential_id: Vec<u8>,
    client_data_json: Vec<u8>,
    authenticator_data: Vec<u8>,
    signature: Vec<u8>,
}

fn b64_field(
    object: &serde_json::Map<String, Value>,
    name: &str,
    prefix: &str,
) -> Result<Vec<u8>, Fido2Rejection> {
    let text = object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Fido2Rejection::Malformed(format!("{prefix}{name} must be a string")))?;
    decode_b64url(text).ok_or_else(|| Fido2Rejection::Malformed(format!("{prefix}{name} is not base64url")))
}

fn parts(assertion: &Value) -> Result<Parts, Fido2Rejection> {
    let object = assertion.as_object().ok_or_else(|| Fido2Rejection::Malformed("not an object".into()))?;
    if object.get("type").and_then(Value::as_str) != Some("public-key") {
        return Err(Fido2Rejection::Malformed("type must be \"public-key\"".into()));
    }
    let raw_id = b64_field(object, "rawId", "")?;
    if b64_field(object, "id", "")? != raw_id || raw_id.is_empty() {
        return Err(Fido2Rejection::Malformed(
            "id and rawId must be the same non-empty credential id".into(),
        ));
    }
    let response = object
        .get("response")
        .and_then(Value::as_object)
        .ok_or_else(|| Fido2Rejection::Malformed("response must be an object".into()))?;
    Ok(Parts {
        credential_id: raw_id,
        client_data_json: b64_field(response, "clientDataJSON", "response.")?,
        authenticator_data: b64_field(response, "authenticatorData", "response.")?,
        signature: b64_field(response, "signature", "response.")?,
    })
}

/// The credential id an assertion claims (to find the enrolled key), or why it is malformed.
pub fn assertion_credential_id(assertion: &Value) -> Result<Vec<u8>, Fido2Rejection> {
    parts(assertion).map(|p| p.credential_id)
}

/// What the verification needs to know about the RP and the user's credential.
pub struct Expected<'a> {
    pub rp_id: &'a str,
    pub origins: &'a [String],
    pub challenge: &'a str,
    pub public_key: &'a [u8; 65],
    pub last_counter: u32,
    pub require_uv: bool,
}

/// Verifies an assertion fully; returns the counter to store. Checks, in order: clientDataJSON
/// (type, challenge, origin), authenticatorData (rpIdHash, layout), the ES256 signature over
/// `authenticatorData ‖ SHA-256(clientDataJSON)`, UP, UV as the policy requires, the counter.
pub fn verify_assertion(expected: &Expected<'_>, assertion: &Value) -> Result<u32, Fido2Rejection> {
    let parts = parts(assertion)?;
    check_client_data(&parts.client_data_json, expected)?;

    let auth_data = &parts.authenticator_data;
    if auth_data.len() < 37 || auth_data[..32] != Sha256::digest(expected.rp_id.as_bytes())[..] {
        return Err(Fido2Rejection::WrongRpId);
    }
    let flags = auth_data[32];
    // An assertion carries no attested credential data; extension data only with its flag.
    if flags & FLAG_ATTESTED_DATA != 0 || (auth_data.len() > 37 && flags & FLAG_EXTENSION_DATA == 0) {
        return Err(Fido2Rejection::WrongRpId);
    }
    let counter = u32::from_be_bytes([auth_data[33], auth_data[34], auth_data[35], auth_data[36]]);
    let signature = Signature::from_der(&parts.signature).map_err(|_| Fido2Rejection::BadSignature)?;
    let key = parse_public_key(expected.public_key).ok_or(Fido2Rejection::BadSignature)?;
    let signed = [&auth_data[..], &Sha256::digest(&parts.client_data_json)[..]].concat();
    key.verify(&signed, &signature).map_err(|_| Fido2Rejection::BadSignature)?;

    if flags & FLAG_USER_PRESENT == 0 {
        return Err(Fido2Rejection::UserNotPresent);
    }
    if expected.require_uv && flags & FLAG_USER_VERIFIED == 0 {
        return Err(Fido2Rejection::UserNotVerified);
    }
    if counter <= expected.last_counter {
        return Err(Fido2Rejection::CounterReplay {
            received: counter,
            last_accepted: expected.last_counter,
        });
    }
    Ok(counter)
}

fn check_client_data(client_data: &[u8], expected: &Expected<'_>) -> Result<(), Fido2Rejection> {
    let parsed: Value = serde_json::from_slice(client_data)
        .map_err(|_| Fido2Rejection::BadClientData("clientDataJSON is not JSON".into()))?;
    let field = |name: &str| parsed.get(name).and_then(Value::as_str);
    match field("type") {
        Some(WEBAUTHN_GET) => {}
        Some(other) => {
            return Err(Fido2Rejection::BadClientData(format!("type {other:?} is not {WEBAUTHN_GET}")))
        }
        None => return Err(Fido2Rejection::BadClientData("type is missing".into())),
    }
    if field("challenge") != Some(expected.challenge) {
        return Err(Fido2Rejection::WrongChallenge);
    }
    match field("origin") {
        Some(origin) if expected.origins.iter().any(|o| o == origin) => Ok(()),
        Some(origin) => Err(Fido2Rejection::WrongOrigin(origin.to_owned())),
        None => Err(Fido2Rejection::WrongOrigin(String::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aa_virtual_key::VirtualKey;

    const RP_ID: &str = "aa-sim.local";

    fn cbor_get_assertion(rp_id: &str, cdh: &[u8], id: &[u8]) -> Vec<u8> {
        use ciborium::value::Value as C;
        let map = C::Map(vec![
            (C::Integer(1.into()), C::Text(rp_id.into())),
            (C::Integer(2.into()), C::Bytes(cdh.to_vec())),
            (
                C::Integer(3.into()),
                C::Array(vec![C::Map(vec![
                    (C::Text("id".into()), C::Bytes(id.to_vec())),
                    (C::Text("type".into()), C::Text("public-key".into())),
                ])]),
            ),
        ]);
        let mut out = vec![0x02];
        ciborium::ser::into_writer(&map, &mut out).unwrap();
        out
    }

    /// An assertion from the virtual key's CTAP2 layer, as a client posts it.
    fn assertion(key: &VirtualKey, rp_id: &str, client_data: &str, id: &[u8]) -> Value {
        let cdh = Sha256::digest(client_data.as_bytes());
        let answer = key.cbor(&cbor_get_assertion(rp_id, &cdh, id));
        assert_eq!(answer[0], 0, "CTAP2 status");
        let map: ciborium::value::Value = ciborium::de::from_reader(&answer[1..]).unwrap();
        let get = |k: i64| {
            map.as_map()
                .unwrap()
                .iter()
                .find(|(key, _)| key.as_integer() == Some(k.into()))
                .unwrap()
                .1
                .clone()
        };
        let auth_data = get(2).into_bytes().unwrap();
        let signature = get(3).into_bytes().unwrap();
        json!({
            "id": encode_b64url(id), "rawId": encode_b64url(id), "type": "public-key",
            "response": {
                "clientDataJSON": encode_b64url(client_data.as_bytes()),
                "authenticatorData": encode_b64url(&auth_data),
                "signature": encode_b64url(&signature),
                "userHandle": null,
            },
        })
    }

    #[test]
    fn a_virtual_key_assertion_verifies_and_every_defect_has_its_rejection() {
        let key = VirtualKey::new(b"demo");
        let credential = key.make_credential(RP_ID, b"denis");
        let origins = vec!["https://aa-sim.local".to_owned()];
        let challenge = new_challenge();
        let expected = |last_counter, require_uv| Expected {
            rp_id: RP_ID,
            origins: &origins,
            challenge: &challenge,
            public_key: &credential.public_key_sec1,
            last_counter,
            require_uv,
        };
        let client_data = |kind: &str, challenge: &str, origin: &str| {
            format!(
                r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
            )
        };
        let good_data = client_data(WEBAUTHN_GET, &challenge, "https://aa-sim.local");
        let good = assertion(&key, RP_ID, &good_data, &credential.credential_id);
        assert_eq!(verify_assertion(&expected(0, false), &good), Ok(1));
        assert_eq!(
            verify_assertion(&expected(1, false), &good),
            Err(Fido2Rejection::CounterReplay { received: 1, last_accepted: 1 })
        );
        assert_eq!(verify_assertion(&expected(0, true), &good), Err(Fido2Rejection::UserNotVerified));

        let cases = [
            (client_data("webauthn.create", &challenge, "https://aa-sim.local"), RP_ID),
            (client_data(WEBAUTHN_GET, "c3RhbGU", "https://aa-sim.local"), RP_ID),
            (client_data(WEBAUTHN_GET, &challenge, "https://evil.example"), RP_ID),
            (good_data.clone(), "other.example"),
        ];
        let expected_rejections = [
            Fido2Rejection::BadClientData("type \"webauthn.create\" is not webauthn.get".into()),
            Fido2Rejection::WrongChallenge,
            Fido2Rejection::WrongOrigin("https://evil.example".into()),
            Fido2Rejection::WrongRpId,
        ];
        let other_rp = key.make_credential("other.example", b"denis");
        for ((data, rp_id), rejection) in cases.iter().zip(expected_rejections) {
            let id = if *rp_id == RP_ID { &credential.credential_id } else { &other_rp.credential_id };
            let bad = assertion(&key, rp_id, data, id);
            assert_eq!(verify_assertion(&expected(0, false), &bad), Err(rejection));
        }
        let mut forged = good.clone();
        forged["response"]["clientDataJSON"] = json!(encode_b64url(
            client_data(WEBAUTHN_GET, &challenge, "https://aa-sim.local")
                .replace("false", "true ")
                .as_bytes()
        ));
        assert_eq!(verify_assertion(&expected(0, false), &forged), Err(Fido2Rejection::BadSignature));
        let mut malformed = good;
        malformed["rawId"] = json!("AAAA");
        assert!(matches!(
            verify_assertion(&expected(0, false), &malformed),
            Err(Fido2Rejection::Malformed(_))
        ));
    }

    #[test]
    fn rp_id_is_the_app_id_host() {
        assert_eq!(rp_id_of("https://aa-sim.local"), "aa-sim.local");
        assert_eq!(rp_id_of("https://aa.example.com:8443/path"), "aa.example.com");
    }
}
