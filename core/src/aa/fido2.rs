//! FIDO2:1 for a native client, as AA's own web client runs it (aa-rest-api.md §4.2):
//! `do_logon` without a response (MORE_DATA), `POST /logon_method/FIDO2:1/login/{id}` for the
//! WebAuthn request options, the security key's assertion posted to the same URL, then
//! `do_logon` polled until the status is no longer MORE_DATA. Only OK and NEXT are success.
//!
//! No native AA client documents what a non-browser client puts where a browser decides, so the
//! choices are made here, each in one place:
//! - **origin** ([`server_origin`]): the AA server's own origin, `scheme://host[:port]` of the
//!   configured base URL (default port left out, as a web origin is written) — the origin a
//!   browser shows when it runs AA's login page, which is what AA's web client signs.
//! - **rpId** ([`choose_rp_id`]): the options' `rpId`, else the server's host. Like a U2F appId it
//!   must name the AA server's host or a host the client allowed
//!   ([`ClientConfig::allow_app_id_host`](super::super::ClientConfig::allow_app_id_host)), so a
//!   hostile server cannot obtain assertions for another site.
//! - **clientDataJSON** ([`client_data_json`]): WebAuthn's serialisation
//!   `{"type":"webauthn.get","challenge":…,"origin":…,"crossOrigin":false}`, hashed and sent as is.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::super::call::SessionCall;
use super::super::config::parse_base_url;
use super::super::failover::Repeat;
use super::super::http::encode;
use super::super::model::{LogonResponse, LogonStatus};
use super::{Logon, Step};
use crate::fido::{self, AssertionRequest, DeviceProvider, SignOptions, UserVerification};
use crate::{CancelToken, Error, ErrorKind, Result};

/// The method this module runs.
pub(super) const METHOD_ID: &str = "FIDO2:1";
/// `do_logon` polls after the assertion was accepted, and their pace: the server usually has its
/// verdict at the first poll.
const VERDICT_POLLS: usize = 20;
const VERDICT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// WebAuthn challenges are at least 16 bytes; nothing sensible is longer than this.
const CHALLENGE_LEN: std::ops::RangeInclusive<usize> = 16..=1024;
const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// What the server's request options ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fido2Options {
    challenge: Vec<u8>,
    rp_id: Option<String>,
    allow_credentials: Vec<Vec<u8>>,
    user_verification: UserVerification,
}

/// The assertion posted to the server for FIDO2:1 (what [`Logon::last_fido2_assertion`] gives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fido2Assertion {
    /// The RP ID the key signed for.
    pub rp_id: String,
    pub credential_id: Vec<u8>,
    /// The exact clientDataJSON bytes whose SHA-256 the key signed.
    pub client_data_json: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    /// DER ECDSA signature over authenticatorData ‖ SHA-256(clientDataJSON).
    pub signature: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
}

/// The PublicKeyCredential JSON of an assertion, as AA's web client posts it (base64url).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialBody<'a> {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    response: AssertionBody,
    endpoint_session_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssertionBody {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    user_handle: Option<String>,
}

/// The options request: the user, as the web client names it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OptionsBody<'a> {
    username: &'a str,
    display_name: &'a str,
    endpoint_session_id: &'a str,
}

/// clientDataJSON of a WebAuthn assertion — built here and nowhere else. Key order and
/// spelling follow WebAuthn's serialisation (python-fido2's `CollectedClientData`); `challenge`
/// is the challenge bytes in base64url without padding, `origin` see [`server_origin`].
pub(super) fn client_data_json(challenge: &[u8], origin: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ClientData<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        challenge: String,
        origin: &'a str,
        cross_origin: bool,
    }
    let data = ClientData {
        kind: "webauthn.get",
        challenge: URL_SAFE_NO_PAD.encode(challenge),
        origin,
        cross_origin: false,
    };
    // Serialising a struct of strings and a bool cannot fail.
    serde_json::to_vec(&data).unwrap_or_default()
}

/// The AA server's origin: `scheme://host[:port]` of the base URL, without the default port.
pub(super) fn server_origin(base_url: &str) -> Result<String> {
    let (uri, _) = parse_base_url(base_url)?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match uri.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// The RP ID: the options' `rpId`, else the server's host; a host name only, and one the client
/// signs for (its appId policy).
pub(super) fn choose_rp_id(
    options: &Fido2Options,
    base_url: &str,
    allowed: impl Fn(&str) -> bool,
) -> Result<String> {
    let rp_id = match &options.rp_id {
        Some(rp_id) => rp_id.clone(),
        None => {
            let (uri, _) = parse_base_url(base_url)?;
            uri.host().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase()
        }
    };
    let is_host = !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    if !is_host {
        return Err(malformed(format!(
            "the FIDO2 rpId {:?} is not a host name",
            rp_id.escape_debug().to_string()
        )));
    }
    if !allowed(&rp_id) {
        return Err(malformed(format!(
            "the FIDO2 rpId {rp_id} is neither the AA server's host nor a host the client allows; allow it \
             with ClientConfig::allow_app_id_host (C: aa_client_options_allow_app_id_host)"
        )));
    }
    Ok(rp_id)
}

/// Parses the request options (`status: "ok"`, base64url `challenge` and credential ids).
pub(super) fn parse_options(answer: &Value) -> Result<Fido2Options> {
    let object = answer.as_object().ok_or_else(|| malformed("the FIDO2 options are not a JSON object"))?;
    check_status(object, "request options")?;
    let challenge = object
        .get("challenge")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the FIDO2 options have no challenge"))
        .and_then(|text| decode(text, "challenge"))?;
    if !CHALLENGE_LEN.contains(&challenge.len()) {
        return Err(malformed(format!("a FIDO2 challenge of {} bytes", challenge.len())));
    }
    let rp_id = match object.get("rpId") {
        None | Some(Value::Null) => None,
        Some(Value::String(rp_id)) => Some(rp_id.clone()),
        Some(_) => return Err(malformed("the FIDO2 rpId is not a string")),
    };
    let mut allow_credentials = Vec::new();
    match object.get("allowCredentials") {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries)) => {
            for entry in entries {
                let entry = entry
                    .as_object()
                    .ok_or_else(|| malformed("an allowCredentials entry is not an object"))?;
                match entry.get("type").and_then(Value::as_str) {
                    Some("public-key") => {}
                    // WebAuthn: credentials of unknown types are skipped.
                    _ => continue,
                }
                let id = entry
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("an allowCredentials entry has no id"))
                    .and_then(|text| decode(text, "credential id"))?;
                if id.is_empty() || id.len() > MAX_CREDENTIAL_ID_LEN {
                    return Err(malformed(format!("an allowed credential id of {} bytes", id.len())));
                }
                allow_credentials.push(id);
            }
        }
        Some(_) => return Err(malformed("allowCredentials is not a list")),
    }
    let user_verification = match object.get("userVerification") {
        None | Some(Value::Null) => UserVerification::Preferred,
        Some(Value::String(value)) => UserVerification::from_webauthn(value),
        Some(_) => return Err(malformed("userVerification is not a string")),
    };
    Ok(Fido2Options { challenge, rp_id, allow_credentials, user_verification })
}

/// `status` of a FIDO2 endpoint answer: `ok` goes on, `failed` is the server's refusal with its
/// `errorMessage`, anything else is not the documented answer.
fn check_status(object: &Map<String, Value>, what: &str) -> Result<()> {
    match object.get("status").and_then(Value::as_str) {
        Some("ok") => Ok(()),
        Some("failed") => {
            let message = object.get("errorMessage").and_then(Value::as_str).unwrap_or_default();
            Err(Error::new(
                ErrorKind::LogonFailed,
                if message.is_empty() {
                    format!("the server refused the FIDO2 {what}")
                } else {
                    message.to_owned()
                },
            ))
        }
        Some(other) => Err(malformed(format!("the FIDO2 {what} answer has the unknown status {other:?}"))),
        None => Err(malformed(format!("the FIDO2 {what} answer has no status"))),
    }
}

/// base64url, with or without `=` padding (nothing else is accepted).
fn decode(text: &str, what: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.strip_suffix("==").or_else(|| text.strip_suffix('=')).unwrap_or(text))
        .map_err(|_| malformed(format!("the FIDO2 {what} is not base64url")))
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::MalformedServerData, message)
}

fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Logon {
    /// FIDO2:1 through [`sign_with_device`](Logon::sign_with_device): see the module docs.
    pub(super) fn sign_fido2(
        &mut self,
        devices: &dyn DeviceProvider,
        options: &SignOptions,
    ) -> Result<&LogonResponse> {
        self.ensure_active()?;
        let started = self.do_logon::<()>(None, Step::Poll)?;
        if started.status != LogonStatus::MoreData {
            return Err(malformed(format!(
                "the server answered {} to the start of FIDO2:1, without any assertion; no security key is used",
                started.status.as_str()
            )));
        }
        let path = format!("/logon_method/{METHOD_ID}/login/{}", encode(&self.process_id));
        let user_name = self.user_name.clone();
        // Asks for a new challenge: safe to repeat.
        let answer = self.send(Repeat::Safe, |session| {
            SessionCall::post(
                "/logon_method/FIDO2:1/login/{id}",
                path.clone(),
                &OptionsBody { username: &user_name, display_name: &user_name, endpoint_session_id: session },
            )
        })?;
        let fido2_options = parse_options(&answer)?;
        // The server that gave the challenge: its origin is the one it checks.
        let base_url = self.server().to_owned();
        let policy = self.client.app_ids().clone();
        let rp_id =
            choose_rp_id(&fido2_options, &base_url, |host| policy.check(&format!("https://{host}")).is_ok())?;
        let client_data_json = client_data_json(&fido2_options.challenge, &server_origin(&base_url)?);
        let request = AssertionRequest {
            rp_id: rp_id.clone(),
            client_data_hash: Sha256::digest(&client_data_json).into(),
            allow_credentials: fido2_options.allow_credentials.clone(),
            user_verification: fido2_options.user_verification,
        };
        let linked =
            SignOptions { cancel: CancelToken::linked(&[&self.cancel, &options.cancel]), ..options.clone() };
        let signed = fido::get_assertion(devices, &request, &linked);
        self.cancel.reset();
        let signed = signed?;
        let assertion = Fido2Assertion {
            rp_id,
            credential_id: signed.credential_id,
            client_data_json,
            authenticator_data: signed.authenticator_data,
            signature: signed.signature,
            user_handle: signed.user_handle,
        };
        self.fido2_assertion = Some(assertion.clone());
        let verdict = self.send(Repeat::OnlyIfNotSent, |session| {
            SessionCall::post(
                "/logon_method/FIDO2:1/login/{id}",
                path.clone(),
                &CredentialBody {
                    id: b64u(&assertion.credential_id),
                    raw_id: b64u(&assertion.credential_id),
                    kind: "public-key",
                    response: AssertionBody {
                        client_data_json: b64u(&assertion.client_data_json),
                        authenticator_data: b64u(&assertion.authenticator_data),
                        signature: b64u(&assertion.signature),
                        user_handle: assertion.user_handle.as_deref().map(b64u),
                    },
                    endpoint_session_id: session,
                },
            )
        })?;
        let refused = verdict
            .as_object()
            .ok_or_else(|| malformed("the FIDO2 assertion answer is not a JSON object"))
            .and_then(|object| check_status(object, "assertion"))
            .err();
        if let Some(refusal) = refused {
            // The server's own verdict (FAILED with reason and msgid) says more, when it has one.
            self.do_logon::<()>(None, Step::Poll)?;
            return Err(refusal);
        }
        self.await_fido2_verdict(&options.cancel)
    }

    /// Polls `do_logon` until the status is no longer MORE_DATA: OK and NEXT are success.
    fn await_fido2_verdict(&mut self, cancel: &CancelToken) -> Result<&LogonResponse> {
        let stop = CancelToken::linked(&[&self.cancel, cancel]);
        for poll in 0..VERDICT_POLLS {
            if poll > 0 && stop.sleep(VERDICT_POLL_INTERVAL) {
                self.cancel.reset();
                return Err(Error::new(
                    ErrorKind::Cancelled,
                    "cancelled while waiting for the FIDO2 verdict",
                ));
            }
            if self.do_logon::<()>(None, Step::Poll)?.status != LogonStatus::MoreData {
                return Ok(&self.response);
            }
        }
        Err(Error::new(
            ErrorKind::LogonFailed,
            format!(
                "the server accepted the FIDO2 assertion but gave no verdict after {VERDICT_POLLS} polls"
            ),
        ))
    }

    /// The assertion last posted for FIDO2:1, if any (carries no secret).
    pub fn last_fido2_assertion(&self) -> Option<&Fido2Assertion> {
        self.fido2_assertion.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_client_data_json_is_webauthns_serialisation() {
        let json = client_data_json(b"0123456789abcdef", "https://aa.example.com");
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"type":"webauthn.get","challenge":"MDEyMzQ1Njc4OWFiY2RlZg","origin":"https://aa.example.com","crossOrigin":false}"#
        );
    }

    #[test]
    fn the_origin_is_the_servers_without_the_default_port() {
        assert_eq!(server_origin("https://AA.example.com/tenant").unwrap(), "https://aa.example.com");
        assert_eq!(server_origin("https://aa.example.com:443").unwrap(), "https://aa.example.com");
        assert_eq!(server_origin("https://127.0.0.1:4433/").unwrap(), "https://127.0.0.1:4433");
        assert_eq!(server_origin("https://[::1]:8443").unwrap(), "https://[::1]:8443");
    }

    fn options(value: Value) -> Result<Fido2Options> {
        parse_options(&value)
    }

    #[test]
    fn request_options_are_parsed_strictly() {
        let good = json!({
            "status": "ok", "errorMessage": "", "challenge": "MDEyMzQ1Njc4OWFiY2RlZg", "rpId": "aa-sim.local",
            "timeout": 30000, "userVerification": "required",
            "allowCredentials": [{"type": "public-key", "id": "AQID", "transports": ["usb"]}, {"type": "other", "id": "!"}],
        });
        let parsed = options(good.clone()).unwrap();
        assert_eq!(parsed.challenge, b"0123456789abcdef");
        assert_eq!(parsed.rp_id.as_deref(), Some("aa-sim.local"));
        assert_eq!(parsed.allow_credentials, [vec![1, 2, 3]]);
        assert_eq!(parsed.user_verification, UserVerification::Required);

        let refused =
            options(json!({"status": "failed", "errorMessage": "No FIDO2 key enrolled"})).unwrap_err();
        assert_eq!((refused.kind(), refused.message()), (ErrorKind::LogonFailed, "No FIDO2 key enrolled"));
        let mut cases = Vec::new();
        for (field, value) in [
            ("status", json!("maybe")),
            ("status", Value::Null),
            ("challenge", json!("c2hvcnQ")),
            ("challenge", json!("not base64!")),
            ("challenge", json!(7)),
            ("rpId", json!(["x"])),
            ("allowCredentials", json!({})),
            ("allowCredentials", json!([{"type": "public-key"}])),
            ("allowCredentials", json!([{"type": "public-key", "id": ""}])),
            ("userVerification", json!(true)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            cases.push(options(bad).unwrap_err());
        }
        assert!(cases.iter().all(|e| e.kind() == ErrorKind::MalformedServerData), "{cases:?}");
    }

    #[test]
    fn the_rp_id_is_a_host_the_client_signs_for() {
        let with = |rp_id: Option<&str>| Fido2Options {
            challenge: vec![0; 16],
            rp_id: rp_id.map(str::to_owned),
            allow_credentials: Vec::new(),
            user_verification: UserVerification::Preferred,
        };
        let allowed = |host: &str| host == "aa.example.com" || host == "aa-sim.local";
        assert_eq!(
            choose_rp_id(&with(None), "https://AA.example.com:8443", allowed).unwrap(),
            "aa.example.com"
        );
        assert_eq!(
            choose_rp_id(&with(Some("aa-sim.local")), "https://127.0.0.1", allowed).unwrap(),
            "aa-sim.local"
        );
        for bad in
            ["evil.example", "https://aa.example.com", "aa.example.com:443", "aa.example.com/x", "", "a b"]
        {
            let error = choose_rp_id(&with(Some(bad)), "https://aa.example.com", allowed).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::MalformedServerData, "{bad}");
        }
    }
}
