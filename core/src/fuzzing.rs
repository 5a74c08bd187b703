//! Fuzzing entry points (feature `fuzzing`; no workspace member enables it, so no shipped build
//! contains this module). Each function takes arbitrary bytes, feeds them to the real parsers or
//! to the real FIDO host stack, and asserts what must hold whatever the input. The cargo-fuzz
//! targets in `fuzz/` call them; the tests at the bottom replay the committed seed corpora
//! (`fuzz/corpus/<target>/`) in every `cargo test --all-features`.
//!
//! The FIDO entry points drive [`sign`] and [`describe`] through the transport seam with a
//! scripted key. Nothing waits on the wall clock: the key answers from the input, serves at most
//! [`MAX_REPORTS`] reports per run, fails its transport once the input is used up, and cancels the
//! operation before any of the flow's pauses (CHANNEL_BUSY back-off, touch polling, re-scans)
//! could begin, so every run ends after a bounded number of reports. The deadline handed to the
//! flow ([`SAFETY_TIMEOUT`]) is only a backstop, and reaching it is itself reported as a failure.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value as Cbor;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::aa::{ChainsInfo, LoginSessionInfo, LogonResponse, U2fChallenge};
use crate::fido::{
    describe, get_assertion, sign, Assertion, AssertionRequest, Ctap2Info, DeviceInfo, DeviceProvider,
    HidTransport, PinCallback, PinRequest, Prompt, Report, SignOptions, SignRequest, SignResponse,
    UserVerification, REPORT_LEN,
};
use crate::{CancelToken, Client, ClientConfig, DeviceCode, Error, ErrorKind, Result, Secret, TlsOptions};

/// Most reports a scripted key serves in one run (a full-size reply takes 129).
pub const MAX_REPORTS: usize = 1024;
/// The backstop deadline of a fuzzed sign; a run that reaches it has waited on the clock.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(5);

/// The channel the scripted key allocates (the one of the libfido2 INIT capture).
const KEY_CID: u32 = 0x0022_0002;
const INIT_DATA_LEN: usize = REPORT_LEN - 7;
const CONT_DATA_LEN: usize = REPORT_LEN - 5;
const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + 128 * CONT_DATA_LEN;

const CMD_MSG: u8 = 0x03;
const CMD_INIT: u8 = 0x06;
const CMD_CANCEL: u8 = 0x11;
const CMD_KEEPALIVE: u8 = 0x3B;
const CMD_ERROR: u8 = 0x3F;
const ERR_CHANNEL_BUSY: u8 = 0x06;
/// INIT capabilities of the U2F-only scripted keys (WINK, no CBOR): their input is U2F traffic.
/// The `host_stack` key picks its capabilities from the input, CTAP2 (CBOR) included.
const U2F_ONLY: u8 = 0x01;

const INS_AUTHENTICATE: u8 = 0x02;
const INS_VERSION: u8 = 0x03;
const ENFORCE_PRESENCE: u8 = 0x03;
const CHECK_ONLY: u8 = 0x07;

/// The Google U2F sign vector (testdata/u2f-test-vectors.json) as AA would send it.
const VECTOR_APP_ID: &str = "https://gstatic.com/securitykey/a/example.com";
const VECTOR_CHALLENGE: &str = "opsXqUifDriAAmWclinfbS0e-USY0CgyJHe_Otd7z8o";
const VECTOR_KEY_HANDLE: &str =
    "KlUt_bdHftZf2EEz-GGWAQsiFbV9p10xW3uej-LjklpgGVUbq2HRZZFlnLrwC0lQ96v-ZmDi4Ab3aGi3ctcMJQ";
/// The sign request of the recorded AA gather answer (core/src/aa/model.rs tests).
const GATHER_APP_ID: &str = "https://164.99.184.45";
const GATHER_CHALLENGE: &str = "4ooKcq6hH4u3sG7IbF3GbPSL29Vm8bv08a3qmhBmz-Y";
const GATHER_KEY_HANDLE: &str =
    "UI_fGzKv4EJyl3cmIAzLGi3BXczy7sLOBmkhL-JS5Fs4pDpDwhKVnAkqwNg3M9wepdde0ywtrrYoh-QjTt7QYg";

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// CTAPHID reassembly: `data` is a stream of 64-byte reports (the last one zero-padded) that a key
/// sends after a correct INIT reply, read by a real U2F sign as the answers to its requests. The
/// key answers every INIT itself (the nonce is random), everything else comes from the stream.
pub fn ctaphid_reassembly(data: &[u8]) {
    let bench = Bench::new(1, 0, Box::new(RawStream { data: data.to_vec(), pos: 0 }));
    let outcome = bench.sign(&requests(1));
    outcome.check_common();
}

/// The whole host stack through the transport seam: the first byte picks 1–2 devices, 1–2 sign
/// requests and which devices fail to open; the rest is a script of key behaviours (INIT replies,
/// status words, payloads, signatures, CTAPHID errors, KEEPALIVEs, raw reports, silent reads,
/// transport failures), one per report read.
pub fn host_stack(data: &[u8]) {
    let Some((&header, script)) = data.split_first() else { return };
    let devices = 1 + usize::from(header & 1);
    let request_count = 1 + usize::from((header >> 1) & 1);
    let failing_open = (header >> 2) & 0b11;
    let bench = Bench::new(devices, failing_open, Box::new(Ops { script: Cursor::new(script) }));
    let outcome = bench.sign(&requests(request_count));
    outcome.check_common();
    if let Ok(response) = &outcome.result {
        let handles = [VECTOR_KEY_HANDLE, GATHER_KEY_HANDLE];
        assert!(handles[..request_count].contains(&response.key_handle.as_str()), "{response:?}");
    }
}

/// U2F reply parsing. An even first byte: the rest is the key's reply (data ‖ SW1 SW2) to the
/// enforce-presence AUTHENTICATE of a real sign, after a key that owns the handle; the sign must
/// succeed exactly when the reply is `9000` with a well-formed signatureData, and then carry
/// those bytes. An odd first byte: the rest is the reply to VERSION in a real `describe`.
pub fn u2f_reply(data: &[u8]) {
    let Some((&mode, payload)) = data.split_first() else { return };
    let payload = &payload[..payload.len().min(MAX_MESSAGE_LEN)];
    let behaviour = Box::new(U2fKey { reply: payload.to_vec() });
    if mode & 1 == 0 {
        let outcome = Bench::new(1, 0, behaviour).sign(&requests(1));
        outcome.check_common();
        let signature = expected_signature(payload);
        match (&outcome.result, signature) {
            (Ok(response), Some(signature)) => {
                assert_eq!(response.signature_data, URL_SAFE_NO_PAD.encode(signature));
                assert_eq!(response.key_handle, VECTOR_KEY_HANDLE);
                let client_data =
                    URL_SAFE_NO_PAD.decode(&response.client_data).expect("clientData base64url");
                let client_data: Value = serde_json::from_slice(&client_data).expect("clientData JSON");
                assert_eq!(client_data["typ"], "navigator.id.getAssertion");
                assert_eq!(client_data["challenge"], VECTOR_CHALLENGE);
                // The vector's appId has a path: clientData's origin is its facet.
                assert_eq!(client_data["origin"], "https://gstatic.com");
            }
            (Err(_), None) => {}
            (result, expected) => {
                panic!("sign gave {result:?} for a reply whose signature is {expected:02x?}")
            }
        }
    } else {
        let bench = Bench::new(1, 0, behaviour);
        let details = describe(&bench.devices(), &device_path(0));
        match (details, expected_version(payload)) {
            (Ok(details), Some(version)) => assert_eq!(details.u2f_version.as_deref(), Some(&*version)),
            (Err(e), None) => assert_eq!(e.kind(), ErrorKind::DeviceProtocol, "{e}"),
            (result, expected) => panic!("describe gave {result:?} where {expected:?} was expected"),
        }
    }
}

/// CTAP2 answers, parsed by the real host stack. The first byte picks which answer of a scripted
/// CTAP2 key the rest of the input is, and in which situation; the rest is that answer as the key
/// sends it: status byte ‖ CBOR. Every other answer of the key is correct, and the key does its
/// side of the PIN protocol for real (ECDH, KDF, AES, HMAC), so a sign can succeed. The first
/// byte, bits 0–2 (modulo 6):
///
/// - 0: getInfo, in [`describe`] (bit 3: the key also speaks U2F, so VERSION comes first);
/// - 1: getAssertion of the credential in the allowList; bit 3: in AA's U2F:1 sign on a key
///   without U2F, else in a FIDO2 assertion; bit 4 (FIDO2): user verification required, done by
///   the key's built-in UV;
/// - 2: getAssertion without allowList (discoverable credentials): the first answer of those a
///   key goes on with through getNextAssertion (0x08), whose answers have the same layout (the
///   host takes the first credential and never sends 0x08);
/// - 3, 4, 5: clientPIN getKeyAgreement, getPinRetries, getPinToken (or
///   getPinUvAuthTokenUsingPinWithPermissions), within a FIDO2 assertion whose user verification
///   needs the PIN; bit 3: PIN/UV auth protocol 1, else 2; bit 4: the key offers
///   `pinUvAuthToken` (so the host asks for a token with the getAssertion permission); bit 5
///   with 4: getPinRetries in [`describe`] instead.
///
/// What must hold: the answer is used exactly when it is acceptable by the rules written out
/// independently here ([`expected_info`] and the other `expected_*` functions) — never with a
/// status other than 0x00, nor with CBOR outside the host decoder's limits (one data item, at
/// most 8 levels and 2048 items, no tags or floats) — and then gives exactly the values it
/// carries, within their documented limits: credential id 1–1023 bytes, authData 37–1024 bytes
/// starting with SHA-256 of the rpId and carrying the flags asked for, a DER ECDSA P-256
/// signature of at most 256 bytes, a user handle of at most 64 bytes, getInfo texts of at most
/// 64 bytes. A PIN sign succeeds only with the token the key sent; the key gets the PIN hash
/// only after a key agreement the host accepted, never when 0 retries are left; no error
/// message carries the PIN.
pub fn ctap2_answers(data: &[u8]) {
    ctap2_answer_taken(data);
}

/// [`ctap2_answers`], telling whether the answer was taken (the operation succeeded with it).
fn ctap2_answer_taken(data: &[u8]) -> bool {
    let Some((&mode, answer)) = data.split_first() else { return false };
    let answer = &answer[..answer.len().min(MAX_MESSAGE_LEN)];
    let scenario = Scenario::from_mode(mode);
    let log = Arc::new(Mutex::new(KeyLog::default()));
    let key = Ctap2Script { scenario, answer: answer.to_vec(), served: false, log: log.clone() };
    let bench = Bench::new(1, 0, Box::new(key));
    let wire = Wire::parse(answer);
    match scenario.answer {
        Ctap2Answer::GetInfo => {
            let details = describe(&bench.devices(), &device_path(0))
                .unwrap_or_else(|e| panic!("describe failed, though only getInfo was wrong: {e}"));
            let expected = expected_info(&wire);
            assert_eq!(details.ctap2, expected, "getInfo answer {answer:02x?}");
            let retries = expected
                .as_ref()
                .filter(|info| info.pin_set() == Some(true) && pin_protocol_of(info).is_some())
                .map(|_| FIXED_RETRIES);
            assert_eq!(details.pin_retries, retries);
            assert_eq!(details.u2f_version.as_deref(), scenario.speaks_u2f.then_some(U2F_VERSION));
            details.ctap2.is_some()
        }
        Ctap2Answer::PinRetries if scenario.describe => {
            match (describe(&bench.devices(), &device_path(0)), expected_retries(&wire)) {
                (Ok(details), Some(retries)) => {
                    assert_eq!(details.pin_retries, Some(retries));
                    true
                }
                (Err(e), None) => {
                    if let Some(&status) = answer.first().filter(|&&status| status != CTAP2_OK) {
                        assert_eq!(e.device_code(), Some(DeviceCode::Ctap2(status)), "{e}");
                    }
                    false
                }
                (result, expected) => panic!("describe gave {result:?} for {expected:?} retries"),
            }
        }
        Ctap2Answer::Assertion | Ctap2Answer::DiscoverableAssertion => {
            check_assertion(&bench, scenario, &wire)
        }
        Ctap2Answer::KeyAgreement | Ctap2Answer::PinRetries | Ctap2Answer::PinToken => {
            check_pin_sign(&bench, scenario, &wire, &log)
        }
    }
}

/// The do_logon answer model: `data` parsed as JSON, then every typed view of it, the U2F
/// challenge extraction, and the sign requests prepared by a sign that is already cancelled.
pub fn logon_model(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    if let Err(e) = ChainsInfo::from_json(&value) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    if let Err(e) = LoginSessionInfo::from_json(value.clone()) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    let response = match LogonResponse::from_json(value) {
        Ok(response) => response,
        Err(e) => return assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}"),
    };
    assert_eq!(Some(response.status.as_str()), response.raw["status"].as_str());
    assert_ne!(response.login_session_id.as_deref(), Some(""));
    let _ = response.is_final();
    let challenge = match U2fChallenge::from_response(&response) {
        Ok(challenge) => challenge,
        Err(e) => return assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}"),
    };
    assert!(!challenge.sign_requests.is_empty());
    // The appId policy of a client for the recorded server (its appId is the server's host).
    if let Err(e) = gather_client().app_ids().check_all(&challenge.sign_requests) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    // Preparing the requests (keyHandle base64url, clientData) happens before any device is asked.
    let cancel = CancelToken::new();
    cancel.cancel();
    let options = SignOptions { timeout: SAFETY_TIMEOUT, prompt: None, cancel, pin: None };
    let error = sign(&NoDevices, &challenge.sign_requests, &options).expect_err("a cancelled sign signed");
    assert!(matches!(error.kind(), ErrorKind::Cancelled | ErrorKind::MalformedServerData), "{error}");
}

/// The configuration checks of [`ClientConfig`] (base URL, user agent, Accept-Language, proxy URL,
/// appId hosts), [`Client::new`] (which also parses the extra CA PEM), the appId policy of the
/// client built, the log redactor, and the certificate parser of
/// [`spki_sha256`](crate::aa::spki_sha256). Fields
/// are separated by NUL bytes: flags, servers, endpoint id, secret, proxy, user agent, language,
/// allowed appId host, appId, CA PEM; whatever follows is a DER certificate. The servers field
/// is the base URL, then failover URLs, each after a 0x1F (unit separator), added one by one
/// with [`ClientConfig::add_failover_url`]: an added URL passes `check_base_url`, one is refused
/// exactly when it fails that check, names a server of the list again (case, spaces and
/// trailing `/` aside) or the list is full, and `validate` then says what it says without them.
/// No message and no `Debug` output shows the password of a URL's `user:password@` part.
pub fn config_parsers(data: &[u8]) {
    let mut fields = data.splitn(11, |&b| b == 0);
    let flags = fields.next().and_then(|f| f.first().copied()).unwrap_or(0);
    let mut text = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let servers = text();
    let mut servers = servers.split('\u{1f}').map(str::to_owned);
    let base_url = servers.next().unwrap_or_default();
    // A few more than the list holds, so that its limit is reached too.
    let failover_urls: Vec<String> = servers.take(crate::aa::MAX_SERVERS + 2).collect();
    let (endpoint_id, secret) = (text(), text());
    let (proxy, user_agent, language) = (text(), text(), text());
    let (allowed_host, app_id) = (text(), text());
    let pem = fields.next().map(<[u8]>::to_vec);
    let der = fields.next().unwrap_or_default();

    // The log redactor (every log line passes it): the whole input as text, and the secret field
    // in the shapes it must always mask.
    check_redactor(&String::from_utf8_lossy(data));
    if secret.len() >= 8 && secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        for shape in [
            format!("password={secret}&x=1"),
            format!("{{\"endpoint_secret\": \"{secret}\"}}"),
            format!("https://user:{secret}@aa.example.com/api/v1"),
            format!("POST /api/v1/logon/{secret}/do_logon"),
        ] {
            let redacted = check_redactor(&shape);
            assert!(!redacted.contains(&secret), "{shape:?} redacted to {redacted:?}");
        }
    }

    let config_error = |result: Result<()>| {
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        }
    };
    config_error(ClientConfig::check_base_url(&base_url));
    config_error(ClientConfig::check_user_agent(&user_agent));
    config_error(ClientConfig::check_accept_language(&language));
    config_error(ClientConfig::check_proxy_url(&proxy));
    let normalized_host = ClientConfig::check_app_id_host(&allowed_host);
    match &normalized_host {
        Ok(host) => assert_eq!(ClientConfig::check_app_id_host(host).as_ref(), Ok(host), "not idempotent"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
    }

    let mut config = ClientConfig::new(base_url.clone(), endpoint_id, Secret::new(secret));
    config.proxy = (flags & 0x01 != 0).then_some(proxy);
    if flags & 0x02 != 0 {
        config.user_agent = user_agent;
    }
    config.accept_language = (flags & 0x04 != 0).then_some(language);
    if flags & 0x08 != 0 {
        config.connect_timeout = Duration::ZERO;
    }
    if flags & 0x10 != 0 {
        config.max_response_bytes = u64::from(flags >> 5);
    }
    let allowed = flags & 0x20 != 0 && normalized_host.is_ok();
    if allowed {
        config.allow_app_id_host(&allowed_host).expect("a host check_app_id_host accepted");
    }
    config.danger_disable_app_id_check = flags & 0x40 != 0;
    // Verification stays off: with it on, every run would load the whole OS trust store. The
    // extra CA PEM is parsed either way.
    config.tls = TlsOptions {
        extra_ca_pem: pem.filter(|_| flags & 0x80 != 0),
        danger_disable_tls_verification: true,
        ..TlsOptions::default()
    };
    let valid_alone = config.validate();
    let input = String::from_utf8_lossy(data);
    add_failover_urls(&mut config, &failover_urls, &input);
    let valid = config.validate();
    assert_eq!(valid, valid_alone, "validate disagrees with add_failover_url");
    config_error(valid.clone());
    let passwords: Vec<&str> = std::iter::once(&base_url)
        .chain(&failover_urls)
        .filter_map(|url| url_password(url, &input))
        .collect();
    let shown = format!("{config:?}");
    assert!(!passwords.iter().any(|password| shown.contains(password)), "a URL password in {shown}");
    let servers: Vec<String> = config.server_urls().map(|url| url.trim_matches(' ').to_owned()).collect();
    match Client::new(config) {
        Ok(client) => {
            assert!(valid.is_ok(), "Client::new accepted what validate refused");
            assert_eq!(client.server_urls(), servers);
            assert_eq!(
                client.current_server(),
                servers[0],
                "before any call the preferred server is current"
            );
            let policy = client.app_ids();
            if let Err(e) = policy.check(&app_id) {
                assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
                assert!(flags & 0x40 == 0, "the appId check is off, yet {app_id:?} was refused");
            }
            // The server's own origin, and an allowed host's, are always acceptable appIds.
            if base_url.starts_with("https://")
                && base_url.trim_matches(' ') == base_url
                && has_host(&base_url)
            {
                policy.check(&base_url).unwrap_or_else(|e| panic!("own base URL refused as appId: {e}"));
            }
            if let (true, Ok(host)) = (allowed, &normalized_host) {
                let origin = format!("https://{host}/u2f");
                policy.check(&origin).unwrap_or_else(|e| panic!("allowed host refused: {e}"));
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(!passwords.iter().any(|password| e.message().contains(password)), "{e}");
        }
    }
    if let Err(e) = crate::aa::spki_sha256(der) {
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/// Adds `urls` one by one as failover URLs of `config` (see [`config_parsers`]), then checks
/// that no server is in the list twice.
fn add_failover_urls(config: &mut ClientConfig, urls: &[String], input: &str) {
    for url in urls {
        let before = config.failover_urls.clone();
        let again = config.server_urls().any(|known| server_key(known) == server_key(url));
        let full = before.len() + 2 > crate::aa::MAX_SERVERS;
        let checked = ClientConfig::check_base_url(url);
        match config.add_failover_url(url) {
            Ok(()) => {
                assert!(checked.is_ok(), "{url:?} was added, yet check_base_url says {checked:?}");
                assert!(!again && !full, "{url:?} was added to {:?}", config.failover_urls);
                assert_eq!(config.failover_urls[..before.len()], before[..]);
                assert_eq!(config.failover_urls.last(), Some(&url.trim_matches(' ').to_owned()));
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Config, "{e}");
                assert_eq!(config.failover_urls, before, "the refused {url:?} changed the list");
                assert!(checked.is_err() || again || full, "{url:?} was refused: {e}");
                check_no_password(url, input, e.message());
            }
        }
        if let Err(e) = checked {
            check_no_password(url, input, e.message());
        }
    }
    let keys: Vec<String> = config.server_urls().map(server_key).collect();
    for (index, key) in keys.iter().enumerate() {
        assert!(!keys[..index].contains(key), "{key:?} twice in {:?}", config.failover_urls);
    }
}

/// What names one server, worked out on the text (the configuration parses the URL instead):
/// lowercase, without surrounding spaces, trailing `/`, the `/api/v1` prefix and a default port.
fn server_key(url: &str) -> String {
    let url = url.trim_matches(' ').to_ascii_lowercase();
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix("/api/v1").unwrap_or(url).trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(authority);
    let host_end = authority.rfind(':').filter(|_| !authority.ends_with(']')).unwrap_or(authority.len());
    let (host, port) = authority.split_at(host_end);
    format!("{scheme}://{}{port}{path}", host.trim_end_matches('.'))
}

/// The password of `url`'s `user:password@` part (`url` starting with its scheme), when it is one
/// no message shows by chance: at least 6 letters or digits, appearing nowhere else in `input`
/// (the whole fuzz input: another field may legitimately show it).
fn url_password<'a>(url: &'a str, input: &str) -> Option<&'a str> {
    let (scheme, rest) = url.trim_matches(' ').split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None; // not a URL, only text with a `://` inside
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let (user_info, _) = authority.rsplit_once('@')?;
    if user_info.contains(char::is_whitespace) {
        return None;
    }
    let (_, password) = user_info.split_once(':')?;
    let distinct = password.len() >= 6
        && password.bytes().all(|b| b.is_ascii_alphanumeric())
        && input.matches(password).count() == 1;
    distinct.then_some(password)
}

fn check_no_password(url: &str, input: &str, message: &str) {
    if let Some(password) = url_password(url, input) {
        assert!(!message.contains(password), "the password of {url:?} in {message:?}");
    }
}

/// Redacts `text`, checks that redacting again changes nothing, and returns the redacted text.
fn check_redactor(text: &str) -> String {
    let once = crate::aa::redact::redact(text).into_owned();
    let twice = crate::aa::redact::redact(&once);
    assert_eq!(twice, once, "redacting {text:?} twice changed it again");
    once
}

/// Whether `url` names a host that is more than dots: `https://.` passes the base URL check but
/// leaves the appId policy no server host, so it refuses every appId (fails closed; reported).
fn has_host(url: &str) -> bool {
    url.parse::<ureq::http::Uri>()
        .is_ok_and(|uri| uri.host().is_some_and(|h| !h.trim_end_matches('.').is_empty()))
}

/// A client for the server of the recorded gather answer (built once: no request is ever sent).
fn gather_client() -> &'static Client {
    static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut config =
            ClientConfig::new(GATHER_APP_ID, "178fa64ebafe11eaa1fb0242ac110003", Secret::from("s"));
        config.tls.danger_disable_tls_verification = true;
        Client::new(config).expect("the gather answer's client")
    })
}

/// What a sign's signatureData must be for `reply` to an enforce-presence AUTHENTICATE: the data
/// before a `9000`, with user presence, a counter and a DER ECDSA P-256 signature.
fn expected_signature(reply: &[u8]) -> Option<&[u8]> {
    let (data, sw) = split_status(reply)?;
    let well_formed =
        data.len() >= 5 + 8 && data[0] & 0x01 != 0 && p256::ecdsa::Signature::from_der(&data[5..]).is_ok();
    (sw == 0x9000 && well_formed).then_some(data)
}

/// The U2F version `describe` must report for `reply` to VERSION (given again to the retry).
fn expected_version(reply: &[u8]) -> Option<String> {
    match split_status(reply)? {
        (data, 0x9000) if !data.is_empty() && data.len() <= 32 && data.is_ascii() => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        (_, 0x6D00) => Some("U2F_V1".into()),
        _ => None,
    }
}

fn split_status(reply: &[u8]) -> Option<(&[u8], u16)> {
    let split = reply.len().checked_sub(2)?;
    let (data, sw) = reply.split_at(split);
    Some((data, u16::from_be_bytes([sw[0], sw[1]])))
}

/// The first `count` (1 or 2) sign requests.
fn requests(count: usize) -> Vec<SignRequest> {
    let request = |app_id: &str, challenge: &str, key_handle: &str| SignRequest {
        version: "U2F_V2".into(),
        challenge: challenge.into(),
        key_handle: key_handle.into(),
        app_id: app_id.into(),
    };
    let all = [
        request(VECTOR_APP_ID, VECTOR_CHALLENGE, VECTOR_KEY_HANDLE),
        request(GATHER_APP_ID, GATHER_CHALLENGE, GATHER_KEY_HANDLE),
    ];
    all[..count.min(2)].to_vec()
}

/// How a fuzzed sign (or FIDO2 assertion) ended.
struct Outcome<T = SignResponse> {
    result: Result<T>,
    last_prompt: Option<Prompt>,
    elapsed: Duration,
}

impl<T: std::fmt::Debug> Outcome<T> {
    /// What holds for every fuzzed sign: it ended without waiting for the clock, and it said
    /// "touched" exactly when it signed.
    fn check_common(&self) {
        assert!(self.elapsed < SAFETY_TIMEOUT, "the sign waited for its deadline: {:?}", self.result);
        match &self.result {
            Ok(_) => assert_eq!(self.last_prompt, Some(Prompt::Touched)),
            Err(e) => assert_ne!(self.last_prompt, Some(Prompt::Touched), "{e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scripted key behind the transport seam
// ---------------------------------------------------------------------------------------------

/// One thing a scripted key does when the host reads.
enum Answer {
    Report(Report),
    /// The read times out without a report.
    Silence,
    /// The transport fails (device unplugged).
    Failure,
}

/// The last message the host began (its initialization packet).
#[derive(Clone, Copy, Debug, Default)]
struct Request {
    cid: u32,
    command: u8,
    nonce: [u8; 8],
    ins: u8,
    p1: u8,
}

impl Request {
    fn parse(report: &Report) -> Option<Request> {
        if report[4] & 0x80 == 0 {
            return None;
        }
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&report[7..15]);
        Some(Request { cid: cid_of(report), command: report[4] & 0x7F, nonce, ins: report[8], p1: report[9] })
    }

    fn is_authenticate(&self, control: u8) -> bool {
        self.command == CMD_MSG && self.ins == INS_AUTHENTICATE && self.p1 == control
    }
}

/// Where a scripted key's answers come from.
trait Behaviour: Send {
    /// Queues what the key answers at once to a request the host just began.
    fn on_request(&mut self, _request: &Request, _answers: &mut VecDeque<Answer>) {}
    /// Queues what the key answers to a whole message of the host (its payload reassembled).
    fn on_message(&mut self, _request: &Request, _payload: &[u8], _answers: &mut VecDeque<Answer>) {}
    /// Queues the next answers when none are pending; false once the script is used up.
    fn next(&mut self, request: &Request, answers: &mut VecDeque<Answer>) -> bool;
}

struct BenchState {
    behaviour: Box<dyn Behaviour>,
    cancel: CancelToken,
    request: Request,
    /// Announced length and bytes so far of the reply being served to `request`.
    reply: Option<(usize, usize)>,
    served: usize,
    pending: Vec<VecDeque<Answer>>,
    /// The message the host is sending: its first packet, announced length and payload so far.
    incoming: Option<(Request, usize, Vec<u8>)>,
}

impl BenchState {
    fn written(&mut self, device: usize, report: &Report) {
        let Some(request) = Request::parse(report) else {
            return self.continued(device, report);
        };
        if request.command == CMD_CANCEL {
            return;
        }
        self.request = request;
        self.reply = None;
        self.behaviour.on_request(&request, &mut self.pending[device]);
        let length = usize::from(u16::from_be_bytes([report[5], report[6]]));
        let first = report[7..7 + length.min(INIT_DATA_LEN)].to_vec();
        self.incoming = Some((request, length, first));
        self.deliver(device);
    }

    /// A continuation packet of the host's message: the host's encoder numbers them 0, 1, 2…
    fn continued(&mut self, device: usize, report: &Report) {
        let Some((request, length, payload)) = self.incoming.as_mut() else { return };
        if cid_of(report) != request.cid {
            return;
        }
        let sequence = (payload.len() - INIT_DATA_LEN) / CONT_DATA_LEN;
        assert_eq!(usize::from(report[4]), sequence, "the host numbered its continuation packets wrongly");
        let take = (*length - payload.len()).min(CONT_DATA_LEN);
        payload.extend_from_slice(&report[5..5 + take]);
        self.deliver(device);
    }

    /// Hands a complete message to the behaviour.
    fn deliver(&mut self, device: usize) {
        if let Some((request, length, payload)) = self.incoming.take() {
            if payload.len() < length {
                self.incoming = Some((request, length, payload));
                return;
            }
            self.behaviour.on_message(&request, &payload, &mut self.pending[device]);
        }
    }

    fn read(&mut self, device: usize) -> Result<Option<Report>> {
        if self.served >= MAX_REPORTS {
            return Err(self.exhausted());
        }
        if self.pending[device].is_empty() {
            let request = self.request;
            let more = self.behaviour.next(&request, &mut self.pending[device]);
            if !more && self.pending[device].is_empty() {
                return Err(self.exhausted());
            }
        }
        self.served += 1;
        match self.pending[device].pop_front() {
            Some(Answer::Report(report)) => {
                self.observe(&report);
                Ok(Some(report))
            }
            Some(Answer::Silence) | None => Ok(None),
            Some(Answer::Failure) => {
                if self.request.is_authenticate(ENFORCE_PRESENCE) {
                    self.cancel.cancel();
                }
                Err(Error::new(ErrorKind::DeviceProtocol, "scripted key: transport failure"))
            }
        }
    }

    /// The script is used up: stop the operation (no pause may follow) and fail the read.
    fn exhausted(&mut self) -> Error {
        self.cancel.cancel();
        Error::new(ErrorKind::DeviceProtocol, "scripted key: script used up")
    }

    /// Cancels the operation when the report served makes the host pause next: CHANNEL_BUSY
    /// (back-off), or the end of the answer to an enforce-presence AUTHENTICATE (touch polling,
    /// or a re-scan once the key is dropped). Errs on the early side: a cancel only ends the run.
    fn observe(&mut self, report: &Report) {
        if cid_of(report) != self.request.cid {
            return;
        }
        let enforce = self.request.is_authenticate(ENFORCE_PRESENCE);
        let stop = if report[4] & 0x80 != 0 {
            let command = report[4] & 0x7F;
            let length = usize::from(u16::from_be_bytes([report[5], report[6]]));
            match command {
                CMD_ERROR => enforce || (length >= 1 && report[7] == ERR_CHANNEL_BUSY),
                CMD_KEEPALIVE => false,
                command if command == self.request.command => {
                    self.reply = Some((length, length.min(INIT_DATA_LEN)));
                    enforce && (length > MAX_MESSAGE_LEN || length <= INIT_DATA_LEN)
                }
                _ => enforce,
            }
        } else if let Some((length, received)) = self.reply.as_mut() {
            *received += CONT_DATA_LEN;
            enforce && *received >= *length
        } else {
            false
        };
        if stop {
            self.cancel.cancel();
        }
    }
}

/// The shared state of a run's scripted keys (one host thread talks to one key at a time).
#[derive(Clone)]
struct Bench {
    state: Arc<Mutex<BenchState>>,
    devices: usize,
    failing_open: u8,
}

impl Bench {
    fn new(devices: usize, failing_open: u8, behaviour: Box<dyn Behaviour>) -> Bench {
        let state = BenchState {
            behaviour,
            cancel: CancelToken::new(),
            request: Request::default(),
            reply: None,
            served: 0,
            pending: (0..devices).map(|_| VecDeque::new()).collect(),
            incoming: None,
        };
        Bench { state: Arc::new(Mutex::new(state)), devices, failing_open }
    }

    fn lock(&self) -> MutexGuard<'_, BenchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn devices(&self) -> ScriptedDevices {
        ScriptedDevices { bench: self.clone() }
    }

    fn sign(&self, requests: &[SignRequest]) -> Outcome {
        self.run(None, |devices, options| sign(devices, requests, options))
    }

    fn get_assertion(&self, request: &AssertionRequest, pin: Option<PinCallback>) -> Outcome<Assertion> {
        self.run(pin, |devices, options| get_assertion(devices, request, options))
    }

    /// Runs one operation of the sign flow on the scripted devices, recording its last prompt.
    fn run<T>(
        &self,
        pin: Option<PinCallback>,
        operation: impl FnOnce(&ScriptedDevices, &SignOptions) -> Result<T>,
    ) -> Outcome<T> {
        let last_prompt = Arc::new(Mutex::new(None));
        let recorder = last_prompt.clone();
        let options = SignOptions {
            timeout: SAFETY_TIMEOUT,
            prompt: Some(Arc::new(move |prompt| {
                *recorder.lock().unwrap_or_else(PoisonError::into_inner) = Some(prompt)
            })),
            cancel: self.lock().cancel.clone(),
            pin,
        };
        let started = std::time::Instant::now();
        let result = operation(&self.devices(), &options);
        let elapsed = started.elapsed();
        let last_prompt = *last_prompt.lock().unwrap_or_else(PoisonError::into_inner);
        Outcome { result, last_prompt, elapsed }
    }
}

fn device_path(index: usize) -> String {
    format!("fuzz:{index}")
}

struct ScriptedDevices {
    bench: Bench,
}

impl DeviceProvider for ScriptedDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        Ok((0..self.bench.devices)
            .map(|index| DeviceInfo {
                path: device_path(index),
                vendor_id: 0x1050,
                product_id: 0x0407,
                product: Some("scripted key".into()),
                ..DeviceInfo::default()
            })
            .collect())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        let device = (0..self.bench.devices)
            .find(|&index| device_path(index) == path)
            .ok_or_else(|| Error::new(ErrorKind::NoDevice, format!("no scripted key at {path}")))?;
        if self.bench.failing_open & (1 << device) != 0 {
            return Err(Error::new(ErrorKind::DeviceProtocol, format!("{path}: cannot open")));
        }
        Ok(Box::new(ScriptedKey { bench: self.bench.clone(), device }))
    }
}

struct ScriptedKey {
    bench: Bench,
    device: usize,
}

impl HidTransport for ScriptedKey {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        self.bench.lock().written(self.device, report);
        Ok(())
    }

    fn read_report(&mut self, _timeout: Duration) -> Result<Option<Report>> {
        self.bench.lock().read(self.device)
    }
}

/// No device at all (the sign of [`logon_model`] stops before it looks).
struct NoDevices;

impl DeviceProvider for NoDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        Err(Error::new(ErrorKind::NoDevice, format!("no device at {path}")))
    }
}

/// Answers INIT correctly; everything else is the raw report stream.
struct RawStream {
    data: Vec<u8>,
    pos: usize,
}

impl Behaviour for RawStream {
    fn on_request(&mut self, request: &Request, answers: &mut VecDeque<Answer>) {
        if request.command == CMD_INIT {
            answers.push_back(Answer::Report(init_reply(request, standard_init_fields(U2F_ONLY), false)));
        }
    }

    fn next(&mut self, _request: &Request, answers: &mut VecDeque<Answer>) -> bool {
        if self.pos >= self.data.len() {
            return false;
        }
        let end = (self.pos + REPORT_LEN).min(self.data.len());
        let mut report = [0u8; REPORT_LEN];
        report[..end - self.pos].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        answers.push_back(Answer::Report(report));
        true
    }
}

/// A correct key that owns the vector's handle; its one reply to AUTHENTICATE (enforce
/// presence) and to VERSION is the input.
struct U2fKey {
    reply: Vec<u8>,
}

impl Behaviour for U2fKey {
    fn on_request(&mut self, request: &Request, answers: &mut VecDeque<Answer>) {
        let reply: &[u8] = match request.command {
            CMD_INIT => {
                answers.push_back(Answer::Report(init_reply(request, standard_init_fields(U2F_ONLY), false)));
                return;
            }
            CMD_MSG if request.is_authenticate(CHECK_ONLY) => &[0x69, 0x85],
            CMD_MSG if request.is_authenticate(ENFORCE_PRESENCE) || request.ins == INS_VERSION => {
                &self.reply[..]
            }
            _ => return,
        };
        answers.extend(fragment(request.cid, request.command, reply).into_iter().map(Answer::Report));
    }

    fn next(&mut self, _request: &Request, _answers: &mut VecDeque<Answer>) -> bool {
        false
    }
}

/// A key whose every answer is one operation of the script (see [`host_stack`]).
struct Ops {
    script: Cursor,
}

impl Behaviour for Ops {
    fn next(&mut self, request: &Request, answers: &mut VecDeque<Answer>) -> bool {
        let Some(op) = self.script.byte() else { return false };
        let s = &mut self.script;
        let reply = |answers: &mut VecDeque<Answer>, payload: &[u8]| {
            answers.extend(fragment(request.cid, request.command, payload).into_iter().map(Answer::Report))
        };
        match op % 12 {
            0 => {
                let fields: [u8; 9] = s.array();
                let corrupt_nonce = s.byte().unwrap_or(0) & 1 != 0;
                answers.push_back(Answer::Report(init_reply(request, fields, corrupt_nonce)));
            }
            1 => {
                let capabilities = s.byte().unwrap_or(0x05);
                answers.push_back(Answer::Report(init_reply(
                    request,
                    standard_init_fields(capabilities),
                    false,
                )));
            }
            2 => reply(answers, &s.array::<2>()),
            3 => {
                let len = usize::from(s.byte().unwrap_or(0));
                reply(answers, s.take(len));
            }
            4 => {
                let mut payload = vec![s.byte().unwrap_or(1)];
                payload.extend_from_slice(&s.array::<4>());
                let (r, sig) = (s.array::<32>(), s.array::<32>());
                payload.extend_from_slice(&der_signature(&r, &sig));
                payload.extend_from_slice(&[0x90, 0x00]);
                reply(answers, &payload);
            }
            5 => {
                answers.push_back(Answer::Report(packet(request.cid, CMD_ERROR, 1, &[s.byte().unwrap_or(0)])))
            }
            6 => {
                let status = s.byte().unwrap_or(0x02);
                answers.push_back(Answer::Report(packet(request.cid, CMD_KEEPALIVE, 1, &[status])));
            }
            7 => answers.push_back(Answer::Report(s.array::<REPORT_LEN>())),
            8 => {
                let mut report = s.array::<REPORT_LEN>();
                report[..4].copy_from_slice(&request.cid.to_be_bytes());
                answers.push_back(Answer::Report(report));
            }
            9 => {
                let mut report = [0u8; REPORT_LEN];
                report[..4].copy_from_slice(&request.cid.to_be_bytes());
                report[4] = s.byte().unwrap_or(0) & 0x7F;
                report[5..].copy_from_slice(&s.array::<CONT_DATA_LEN>());
                answers.push_back(Answer::Report(report));
            }
            10 => answers.push_back(Answer::Silence),
            _ => answers.push_back(Answer::Failure),
        }
        true
    }
}

/// Reads a script; past its end every read gives zeros (or nothing).
struct Cursor {
    data: Vec<u8>,
    pos: usize,
}

impl Cursor {
    fn new(data: &[u8]) -> Cursor {
        Cursor { data: data.to_vec(), pos: 0 }
    }

    fn byte(&mut self) -> Option<u8> {
        let byte = self.data.get(self.pos).copied();
        self.pos += usize::from(byte.is_some());
        byte
    }

    fn take(&mut self, len: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + len).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let bytes = self.take(N);
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }
}

fn cid_of(report: &Report) -> u32 {
    u32::from_be_bytes([report[0], report[1], report[2], report[3]])
}

/// An initialization packet announcing `length` and carrying the start of `data`.
fn packet(cid: u32, command: u8, length: u16, data: &[u8]) -> Report {
    let mut report = [0u8; REPORT_LEN];
    report[..4].copy_from_slice(&cid.to_be_bytes());
    report[4] = 0x80 | command;
    report[5..7].copy_from_slice(&length.to_be_bytes());
    let len = data.len().min(INIT_DATA_LEN);
    report[7..7 + len].copy_from_slice(&data[..len]);
    report
}

/// The reports of one message from the key (the key's own encoder, independent of the host's).
fn fragment(cid: u32, command: u8, payload: &[u8]) -> Vec<Report> {
    let payload = &payload[..payload.len().min(MAX_MESSAGE_LEN)];
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let first = payload.len().min(INIT_DATA_LEN);
    let mut reports = vec![packet(cid, command, length, &payload[..first])];
    for (seq, chunk) in payload[first..].chunks(CONT_DATA_LEN).enumerate() {
        let mut report = [0u8; REPORT_LEN];
        report[..4].copy_from_slice(&cid.to_be_bytes());
        report[4] = (seq & 0x7F) as u8;
        report[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(report);
    }
    reports
}

/// The INIT reply fields of the libfido2 capture: channel, protocol 2, version 5.2.1, flags.
fn standard_init_fields(capabilities: u8) -> [u8; 9] {
    let mut fields = [0, 0, 0, 0, 2, 5, 2, 1, capabilities];
    fields[..4].copy_from_slice(&KEY_CID.to_be_bytes());
    fields
}

/// The INIT reply to `request` on its channel: its nonce (or a corrupted one), then `fields`.
fn init_reply(request: &Request, fields: [u8; 9], corrupt_nonce: bool) -> Report {
    let mut payload = [0u8; 17];
    payload[..8].copy_from_slice(&request.nonce);
    payload[0] ^= u8::from(corrupt_nonce);
    payload[8..].copy_from_slice(&fields);
    packet(request.cid, CMD_INIT, 17, &payload)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from two big-endian 32-byte values.
fn der_signature(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    fn integer(value: &[u8]) -> Vec<u8> {
        let skip = value.iter().take_while(|&&b| b == 0).count().min(value.len() - 1);
        let value = &value[skip..];
        let pad = value[0] & 0x80 != 0;
        let mut out = vec![0x02, (value.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
        out
    }
    let body = [integer(r), integer(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

// ---------------------------------------------------------------------------------------------
// The CTAP2 key of `ctap2_answers`, and what its answers must give
// ---------------------------------------------------------------------------------------------

const CMD_CBOR: u8 = 0x10;
const CAPABILITY_WINK: u8 = 0x01;
const CAPABILITY_CBOR: u8 = 0x04;
const CAPABILITY_NMSG: u8 = 0x08;
const U2F_VERSION: &str = "U2F_V2";

const CTAP2_GET_ASSERTION: u8 = 0x02;
const CTAP2_GET_INFO: u8 = 0x04;
const CTAP2_CLIENT_PIN: u8 = 0x06;
const CTAP2_OK: u8 = 0x00;
const CTAP2_PIN_INVALID: u8 = 0x31;
const CTAP2_PIN_AUTH_INVALID: u8 = 0x33;
const FLAG_USER_PRESENT: u8 = 0x01;
const FLAG_USER_VERIFIED: u8 = 0x04;
const PERMISSION_GET_ASSERTION: u64 = 0x02;

/// The limits the host's CTAP2 decoder and parsers document (fido::cbor, fido::get_assertion,
/// fido::get_info, fido::pin), restated for the expectations.
const CBOR_MAX_NESTING: usize = 8;
const CBOR_MAX_ITEMS: usize = 2048;
const MAX_CREDENTIAL_ID_LEN: usize = 1023;
const PLAIN_AUTH_DATA_LEN: usize = 37;
const MAX_AUTH_DATA_LEN: usize = 1024;
const MAX_SIGNATURE_LEN: usize = 256;
const MAX_USER_HANDLE_LEN: usize = 64;
const MAX_INFO_TEXT_LEN: usize = 64;
const MAX_TOKEN_CIPHERTEXT_LEN: usize = 64;

/// What the PIN callback gives: no error message may ever show it.
const FUZZ_PIN: &str = "pin-of-the-fuzzed-key";
/// getPinRetries of the key when that answer is not the fuzzed one.
const FIXED_RETRIES: u32 = 8;
/// The key's key-agreement private key: the platform key of the CTAP2 PIN protocol 1 example
/// (testdata/ctap2-vectors.json), so the seeds can carry its public half.
const KEY_AGREEMENT_SCALAR: &str = "7452e599fee739d8a653f6a507343d12d382249108a651402520b72f24fe7684";
/// The pinUvAuthToken the key issues when that answer is not the fuzzed one.
const KEY_TOKEN: [u8; 32] = [0x7b; 32];
/// The IV of the key's protocol-2 encryptions (a fixed one keeps runs reproducible).
const KEY_IV: [u8; 16] = [0xa5; 16];
/// The Google vector's challenge parameter (SHA-256 of its clientData), the clientDataHash of
/// the FIDO2 assertions, and its DER signature, which the key's own assertions carry (the host
/// checks the signature's form, not its value).
const VECTOR_CLIENT_DATA_HASH: &str = "ccd6ee2e47baef244d49a222db496bad0ef5b6f93aa7cc4d30c4821b3b9dbc57";
const VECTOR_SIGNATURE: &str = "304402204b5f0cd17534cedd8c34ee09570ef542a353df4436030ce43d406de870b847780220267bb998fac9b7266eb60e7cb0b5eabdfd5ba9614f53c7b22272ec10047a923f";

/// Which answer of the key is the fuzzed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ctap2Answer {
    GetInfo,
    Assertion,
    DiscoverableAssertion,
    KeyAgreement,
    PinRetries,
    PinToken,
}

/// The situation of the fuzzed answer (see [`ctap2_answers`]).
#[derive(Clone, Copy, Debug)]
struct Scenario {
    answer: Ctap2Answer,
    /// GetInfo: the key speaks U2F too (no NMSG).
    speaks_u2f: bool,
    /// Assertion: AA's U2F:1 sign, answered over CTAP2 by a key without U2F.
    u2f_job: bool,
    /// Assertion (FIDO2): user verification required; the key has built-in UV.
    built_in_uv: bool,
    /// The PIN answers: the key's (only) PIN/UV auth protocol.
    protocol: Option<u64>,
    /// The PIN answers: the key offers pinUvAuthToken (subcommand 0x09).
    permissions: bool,
    /// PinRetries: in `describe`, not in a sign.
    describe: bool,
}

impl Scenario {
    fn from_mode(mode: u8) -> Scenario {
        use Ctap2Answer::*;
        let answer = [GetInfo, Assertion, DiscoverableAssertion, KeyAgreement, PinRetries, PinToken]
            [usize::from(mode & 0x07) % 6];
        let bit = |n: u8| mode & (1 << n) != 0;
        let pin = matches!(answer, KeyAgreement | PinRetries | PinToken);
        Scenario {
            answer,
            speaks_u2f: answer == GetInfo && bit(3),
            u2f_job: answer == Assertion && bit(3),
            built_in_uv: answer == Assertion && !bit(3) && bit(4),
            protocol: pin.then_some(if bit(3) { 1 } else { 2 }),
            permissions: pin && bit(4),
            describe: answer == PinRetries && bit(5),
        }
    }
}

/// What the key saw of the host's PIN protocol.
#[derive(Debug, Default)]
struct KeyLog {
    /// Token requests (they carry the PIN hash).
    token_requests: usize,
    /// A token request carried the right PIN hash, encrypted under the secret the key derived.
    pin_accepted: bool,
    /// The token the host holds if it decrypted the key's answer right, as the key decrypts it.
    token: Option<Vec<u8>>,
    /// A getAssertion carried pinUvAuthParam = authenticate(token, clientDataHash).
    token_used: bool,
}

/// A CTAP2 key whose one fuzzed answer is the input; getAssertion answers are served once.
struct Ctap2Script {
    scenario: Scenario,
    answer: Vec<u8>,
    served: bool,
    log: Arc<Mutex<KeyLog>>,
}

impl Behaviour for Ctap2Script {
    fn on_request(&mut self, request: &Request, answers: &mut VecDeque<Answer>) {
        let reply = match request.command {
            CMD_INIT => {
                let mut capabilities = CAPABILITY_WINK | CAPABILITY_CBOR;
                if !self.scenario.speaks_u2f {
                    capabilities |= CAPABILITY_NMSG;
                }
                let fields = standard_init_fields(capabilities);
                answers.push_back(Answer::Report(init_reply(request, fields, false)));
                return;
            }
            CMD_MSG if request.ins == INS_VERSION => [U2F_VERSION.as_bytes(), &[0x90, 0x00]].concat(),
            CMD_MSG => vec![0x6D, 0x00],
            _ => return,
        };
        answers.extend(fragment(request.cid, request.command, &reply).into_iter().map(Answer::Report));
    }

    fn on_message(&mut self, request: &Request, payload: &[u8], answers: &mut VecDeque<Answer>) {
        if request.command != CMD_CBOR {
            return;
        }
        if let Some(reply) = self.ctap2(payload) {
            answers.extend(fragment(request.cid, CMD_CBOR, &reply).into_iter().map(Answer::Report));
        }
    }

    fn next(&mut self, _request: &Request, _answers: &mut VecDeque<Answer>) -> bool {
        false
    }
}

impl Ctap2Script {
    /// The key's answer to one CTAP2 request of the host (`None`: it says nothing more).
    fn ctap2(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let (&command, parameters) = payload.split_first().expect("the host sent an empty CTAP2 request");
        let parameters: Cbor = if parameters.is_empty() {
            Cbor::Map(Vec::new())
        } else {
            ciborium::from_reader(parameters).expect("the host's CTAP2 parameters are CBOR")
        };
        match command {
            CTAP2_GET_INFO if self.scenario.answer == Ctap2Answer::GetInfo => Some(self.answer.clone()),
            CTAP2_GET_INFO => Some(ctap2_success(&self.info())),
            CTAP2_CLIENT_PIN => Some(self.client_pin(&parameters)),
            CTAP2_GET_ASSERTION => self.get_assertion(&parameters),
            other => panic!("the host sent CTAP2 command {other:#04x}"),
        }
    }

    /// The key's getInfo when it is not the fuzzed answer.
    fn info(&self) -> Cbor {
        let scenario = self.scenario;
        let versions: &[&str] = if scenario.u2f_job { &["FIDO_2_0"] } else { &["FIDO_2_0", "FIDO_2_1"] };
        let mut options = vec![("rk", true), ("up", true)];
        if scenario.built_in_uv {
            options.push(("uv", true));
        }
        let mut entries = vec![(1, Cbor::Array(versions.iter().map(|v| Cbor::Text((*v).into())).collect()))];
        if let Some(protocol) = scenario.protocol {
            options.extend([("clientPin", true), ("pinUvAuthToken", scenario.permissions)]);
            entries.push((6, Cbor::Array(vec![Cbor::from(protocol)])));
        }
        let options = options.into_iter().map(|(name, set)| (Cbor::Text(name.into()), Cbor::Bool(set)));
        entries.push((4, Cbor::Map(options.collect())));
        int_map(entries)
    }

    fn client_pin(&mut self, parameters: &Cbor) -> Vec<u8> {
        let protocol = field(parameters, 1).and_then(unsigned).expect("clientPIN without a protocol");
        if let Some(offered) = self.scenario.protocol {
            assert_eq!(protocol, offered, "the host used a PIN/UV auth protocol the key does not offer");
        }
        match field(parameters, 2).and_then(unsigned) {
            Some(0x01) if self.scenario.answer == Ctap2Answer::PinRetries => self.answer.clone(),
            Some(0x01) => ctap2_success(&int_map(vec![(3, Cbor::from(FIXED_RETRIES))])),
            Some(0x02) if self.scenario.answer == Ctap2Answer::KeyAgreement => self.answer.clone(),
            Some(0x02) => ctap2_success(&int_map(vec![(1, cose_key(&agreement_key().public_key()))])),
            Some(sub @ (0x05 | 0x09)) => self.token(sub, protocol, parameters),
            other => panic!("the host sent clientPIN subcommand {other:?}"),
        }
    }

    /// getPinToken (0x05) / getPinUvAuthTokenUsingPinWithPermissions (0x09): the key derives the
    /// shared secret from the host's key-agreement key, checks the PIN hash, and issues a token
    /// (or serves the fuzzed answer, remembering the token the host will find in it).
    fn token(&mut self, sub: u64, protocol: u64, parameters: &Cbor) -> Vec<u8> {
        assert_eq!(sub == 0x09, self.scenario.permissions, "subcommand {sub:#04x} for this key");
        if sub == 0x09 {
            assert_eq!(field(parameters, 9).and_then(unsigned), Some(PERMISSION_GET_ASSERTION));
            assert_eq!(field(parameters, 0x0A).and_then(Cbor::as_text), Some(VECTOR_APP_ID), "token rpId");
        }
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.token_requests += 1;
        let platform = field(parameters, 3)
            .and_then(cose_point)
            .expect("the host's key-agreement key is a P-256 point in a COSE key");
        let shared = p256::ecdh::diffie_hellman(agreement_key().to_nonzero_scalar(), platform.as_affine());
        let aes_key = pin_aes_key(protocol, shared.raw_secret_bytes());
        let pin_hash_enc =
            field(parameters, 6).and_then(Cbor::as_bytes).expect("a token request without pinHashEnc");
        let pin_hash = Sha256::digest(FUZZ_PIN.as_bytes());
        if pin_decrypt(protocol, &aes_key, pin_hash_enc).as_deref() != Some(&pin_hash[..16]) {
            log.token = None;
            return vec![CTAP2_PIN_INVALID];
        }
        log.pin_accepted = true;
        if self.scenario.answer == Ctap2Answer::PinToken {
            log.token = Wire::parse(&self.answer).map().and_then(|map| match int_entry(map, 2) {
                Some(Cbor::Bytes(encrypted)) => pin_decrypt(protocol, &aes_key, encrypted),
                _ => None,
            });
            return self.answer.clone();
        }
        log.token = Some(KEY_TOKEN.to_vec());
        ctap2_success(&int_map(vec![(2, Cbor::Bytes(pin_encrypt(protocol, &aes_key, &KEY_TOKEN)))]))
    }

    fn get_assertion(&mut self, parameters: &Cbor) -> Option<Vec<u8>> {
        let options = field(parameters, 5);
        let option = |name: &str| options.and_then(|o| text_field(o, name)).and_then(Cbor::as_bool);
        if option("up") == Some(false) {
            // The silent probe: "the key holds the credential".
            return Some(vec![CTAP2_OK]);
        }
        let scenario = self.scenario;
        let rp_id = field(parameters, 1).and_then(Cbor::as_text).expect("a getAssertion without rpId");
        assert_eq!(rp_id, VECTOR_APP_ID);
        let allow_list = field(parameters, 3).and_then(Cbor::as_array);
        assert_eq!(allow_list.is_none(), scenario.answer == Ctap2Answer::DiscoverableAssertion, "allowList");
        assert_eq!(option("uv") == Some(true), scenario.built_in_uv, "the uv option");
        if matches!(scenario.answer, Ctap2Answer::Assertion | Ctap2Answer::DiscoverableAssertion) {
            let first = !self.served;
            self.served = true;
            return first.then(|| self.answer.clone());
        }
        let client_data_hash = field(parameters, 2).and_then(Cbor::as_bytes).expect("no clientDataHash");
        let param =
            field(parameters, 6).and_then(Cbor::as_bytes).expect("a PIN assertion without pinUvAuthParam");
        let protocol = field(parameters, 7).and_then(unsigned).expect("a PIN assertion without its protocol");
        assert_eq!(Some(protocol), scenario.protocol, "pinUvAuthProtocol");
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let expected = log.token.as_ref().map(|token| pin_authenticate(protocol, token, client_data_hash));
        if expected.as_deref() != Some(param) {
            return Some(vec![CTAP2_PIN_AUTH_INVALID]);
        }
        log.token_used = true;
        let credential = allow_list
            .and_then(|list| list.first())
            .and_then(|descriptor| text_field(descriptor, "id"))
            .cloned()
            .expect("a PIN assertion names its credential");
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAG_USER_PRESENT | FLAG_USER_VERIFIED);
        auth_data.extend_from_slice(&1u32.to_be_bytes());
        let descriptor = Cbor::Map(vec![
            (Cbor::Text("id".into()), credential),
            (Cbor::Text("type".into()), Cbor::Text("public-key".into())),
        ]);
        Some(ctap2_success(&int_map(vec![
            (1, descriptor),
            (2, Cbor::Bytes(auth_data)),
            (3, Cbor::Bytes(unhex(VECTOR_SIGNATURE))),
        ])))
    }
}

/// Modes 1 and 2 of [`ctap2_answers`]: the sign or assertion succeeds exactly when
/// [`expected_assertion`] accepts the answer, and then gives what it carries.
fn check_assertion(bench: &Bench, scenario: Scenario, wire: &Wire) -> bool {
    let allow_list = match scenario.answer {
        Ctap2Answer::DiscoverableAssertion => Vec::new(),
        _ => vec![vector_key_handle()],
    };
    if scenario.u2f_job {
        let outcome = bench.sign(&requests(1));
        outcome.check_common();
        let expected = expected_assertion(wire, &allow_list, false)
            .filter(|assertion| assertion.authenticator_data.len() == PLAIN_AUTH_DATA_LEN);
        match (&outcome.result, expected) {
            (Ok(response), Some(expected)) => {
                assert_eq!(response.key_handle, VECTOR_KEY_HANDLE);
                // U2F signatureData: flags ‖ counter ‖ signature, the CTAP2 answer's bytes.
                let signature_data = [&expected.authenticator_data[32..], &expected.signature[..]].concat();
                assert_eq!(response.signature_data, URL_SAFE_NO_PAD.encode(signature_data));
            }
            (Err(_), None) => {}
            (result, expected) => panic!("the U2F sign gave {result:?} where {expected:?} was expected"),
        }
        return outcome.result.is_ok();
    }
    let request = AssertionRequest {
        rp_id: VECTOR_APP_ID.into(),
        client_data_hash: vector_client_data_hash(),
        allow_credentials: allow_list.clone(),
        user_verification: if scenario.built_in_uv {
            UserVerification::Required
        } else {
            UserVerification::Discouraged
        },
    };
    let outcome = bench.get_assertion(&request, None);
    outcome.check_common();
    match (outcome.result, expected_assertion(wire, &allow_list, scenario.built_in_uv)) {
        (Ok(assertion), Some(expected)) => {
            assert_eq!(assertion, expected);
            true
        }
        (Err(_), None) => false,
        (result, expected) => panic!("get_assertion gave {result:?} where {expected:?} was expected"),
    }
}

/// Modes 3–5 of [`ctap2_answers`]: a FIDO2 assertion with the PIN.
fn check_pin_sign(bench: &Bench, scenario: Scenario, wire: &Wire, log: &Mutex<KeyLog>) -> bool {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let recorder = asked.clone();
    let pin: PinCallback = Arc::new(move |request: &PinRequest| {
        recorder.lock().unwrap_or_else(PoisonError::into_inner).push(request.retries_left);
        Some(Secret::from(FUZZ_PIN))
    });
    let request = AssertionRequest {
        rp_id: VECTOR_APP_ID.into(),
        client_data_hash: vector_client_data_hash(),
        allow_credentials: vec![vector_key_handle()],
        user_verification: UserVerification::Required,
    };
    let outcome = bench.get_assertion(&request, Some(pin));
    outcome.check_common();
    let log = log.lock().unwrap_or_else(PoisonError::into_inner);
    let asked = asked.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match &outcome.result {
        Ok(assertion) => {
            assert!(log.token_used, "signed without the key's token: {log:?}");
            assert_ne!(assertion.authenticator_data[32] & FLAG_USER_VERIFIED, 0);
            assert_eq!(assertion.credential_id, vector_key_handle());
        }
        Err(e) => assert!(!e.message().contains(FUZZ_PIN), "the PIN in a message: {e}"),
    }
    let protocol = scenario.protocol.unwrap_or(2);
    match scenario.answer {
        Ctap2Answer::KeyAgreement => match (&outcome.result, expected_key_agreement(wire)) {
            (Ok(_), Some(true)) => {}
            // The PIN hash went out under another key's secret: the key cannot read it.
            (Err(e), Some(false)) => assert_eq!(e.kind(), ErrorKind::PinInvalid, "{e}"),
            (Err(_), None) => {
                assert_eq!(log.token_requests, 0, "the PIN hash went out after a bad key agreement")
            }
            (result, expected) => panic!("key agreement {expected:?} (own key?) gave {result:?}"),
        },
        Ctap2Answer::PinRetries => match (&outcome.result, expected_retries(wire)) {
            (Ok(_), Some(retries)) if retries > 0 => assert_eq!(asked.first(), Some(&retries)),
            (Err(e), Some(0)) => {
                assert_eq!(e.kind(), ErrorKind::PinBlocked, "{e}");
                assert!(asked.is_empty() && log.token_requests == 0, "asked for a blocked PIN: {log:?}");
            }
            (Err(_), None) => assert!(asked.is_empty() && log.token_requests == 0, "{log:?}"),
            (result, expected) => panic!("{expected:?} retries gave {result:?}"),
        },
        _ => match (&outcome.result, expected_token(wire, protocol)) {
            (Ok(_), true) => {}
            (Err(_), false) => assert!(!log.token_used, "{log:?}"),
            (result, expected) => panic!("a token answer acceptable: {expected}, gave {result:?}"),
        },
    }
    outcome.result.is_ok()
}

/// The fuzzed answer as the expectations see it: decoded by plain ciborium, independently of
/// the host's decoder.
struct Wire {
    status: Option<u8>,
    /// The CBOR data item after the status: `None` when there is none, or when it is not one
    /// data item filling the rest within the documented limits.
    body: Option<Cbor>,
}

impl Wire {
    fn parse(answer: &[u8]) -> Wire {
        let Some((&status, mut body)) = answer.split_first() else {
            return Wire { status: None, body: None };
        };
        let decoded = match ciborium::from_reader::<Cbor, _>(&mut body) {
            Ok(value) if body.is_empty() && within_limits(&value) => Some(value),
            _ => None,
        };
        Wire { status: Some(status), body: decoded }
    }

    /// The answer map, when the status is 0x00 and the body a map whose keys are all integers or
    /// text, none twice.
    fn map(&self) -> Option<&[(Cbor, Cbor)]> {
        if self.status != Some(CTAP2_OK) {
            return None;
        }
        plain_map(self.body.as_ref()?)
    }
}

/// At most [`CBOR_MAX_NESTING`] levels (a lone item is one) and [`CBOR_MAX_ITEMS`] items, map
/// keys included; no tags or floats (no CTAP2 answer has either).
fn within_limits(value: &Cbor) -> bool {
    fn walk(value: &Cbor, depth: usize, items: &mut usize) -> bool {
        *items += 1;
        if *items > CBOR_MAX_ITEMS || depth > CBOR_MAX_NESTING {
            return false;
        }
        match value {
            Cbor::Tag(..) | Cbor::Float(_) => false,
            Cbor::Array(values) => values.iter().all(|v| walk(v, depth + 1, items)),
            Cbor::Map(entries) => {
                entries.iter().all(|(k, v)| walk(k, depth + 1, items) && walk(v, depth + 1, items))
            }
            _ => true,
        }
    }
    walk(value, 1, &mut 0)
}

fn plain_map(value: &Cbor) -> Option<&[(Cbor, Cbor)]> {
    let Cbor::Map(entries) = value else { return None };
    let keys_ok = entries.iter().enumerate().all(|(index, (key, _))| {
        matches!(key, Cbor::Integer(_) | Cbor::Text(_)) && !entries[..index].iter().any(|(k, _)| k == key)
    });
    keys_ok.then_some(entries.as_slice())
}

fn int_entry(entries: &[(Cbor, Cbor)], key: i64) -> Option<&Cbor> {
    let key = Cbor::from(key);
    entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn text_entry<'a>(entries: &'a [(Cbor, Cbor)], key: &str) -> Option<&'a Cbor> {
    entries.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
}

/// The value under integer key `key` of a map (the key reading the host's requests).
fn field(map: &Cbor, key: i64) -> Option<&Cbor> {
    map.as_map().and_then(|entries| int_entry(entries, key))
}

fn text_field<'a>(map: &'a Cbor, key: &str) -> Option<&'a Cbor> {
    map.as_map().and_then(|entries| text_entry(entries, key))
}

fn unsigned(value: &Cbor) -> Option<u64> {
    value.as_integer().and_then(|n| u64::try_from(n).ok())
}

/// The getInfo a host must read from the answer, or `None` when it must refuse it: versions (a
/// non-empty list of texts), extensions, a 16-byte aaguid, options (name → boolean), the PIN/UV
/// auth protocols and the numeric limits; texts at most 64 bytes; other keys ignored.
fn expected_info(wire: &Wire) -> Option<Ctap2Info> {
    let map = wire.map()?;
    let texts = |key: i64| -> Option<Vec<String>> {
        match int_entry(map, key) {
            None => Some(Vec::new()),
            Some(Cbor::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Cbor::Text(text) if text.len() <= MAX_INFO_TEXT_LEN => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            Some(_) => None,
        }
    };
    let number = |key: i64| -> Option<Option<u64>> {
        int_entry(map, key).map_or(Some(None), |v| unsigned(v).map(Some))
    };
    let versions = texts(0x01)?;
    if versions.is_empty() {
        return None;
    }
    let aaguid = match int_entry(map, 0x03) {
        None => None,
        Some(Cbor::Bytes(bytes)) => Some(<[u8; 16]>::try_from(bytes.as_slice()).ok()?),
        Some(_) => return None,
    };
    let mut options = std::collections::BTreeMap::new();
    if let Some(value) = int_entry(map, 0x04) {
        for (name, set) in plain_map(value)? {
            match (name, set) {
                (Cbor::Text(name), Cbor::Bool(set)) if name.len() <= MAX_INFO_TEXT_LEN => {
                    options.insert(name.clone(), *set);
                }
                _ => return None,
            }
        }
    }
    let pin_uv_auth_protocols = match int_entry(map, 0x06) {
        None => Vec::new(),
        Some(Cbor::Array(items)) => items.iter().map(unsigned).collect::<Option<_>>()?,
        Some(_) => return None,
    };
    Some(Ctap2Info {
        versions,
        extensions: texts(0x02)?,
        aaguid,
        options,
        max_msg_size: number(0x05)?,
        pin_uv_auth_protocols,
        max_credential_count_in_list: number(0x07)?,
        max_credential_id_length: number(0x08)?,
        min_pin_length: number(0x0D)?,
        firmware_version: number(0x0E)?,
    })
}

/// The PIN/UV auth protocol a host speaks with a key of `info`: 2 when offered, else 1 (keys
/// listing none speak 1).
fn pin_protocol_of(info: &Ctap2Info) -> Option<u64> {
    let offered = &info.pin_uv_auth_protocols;
    if offered.contains(&2) {
        Some(2)
    } else if offered.is_empty() || offered.contains(&1) {
        Some(1)
    } else {
        None
    }
}

/// The assertion a host must take from a getAssertion answer to a request with `allow_list`
/// (user presence asked for, user verification when `uv`), or `None` when it must refuse it.
fn expected_assertion(wire: &Wire, allow_list: &[Vec<u8>], uv: bool) -> Option<Assertion> {
    let map = wire.map()?;
    let bytes = |value: Option<&Cbor>, lengths: std::ops::RangeInclusive<usize>| match value {
        Some(Cbor::Bytes(bytes)) if lengths.contains(&bytes.len()) => Some(bytes.clone()),
        _ => None,
    };
    let named = match int_entry(map, 0x01) {
        None => None,
        Some(credential) => {
            let credential = plain_map(credential)?;
            match text_entry(credential, "type") {
                None => {}
                Some(Cbor::Text(kind)) if kind == "public-key" => {}
                Some(_) => return None,
            }
            Some(bytes(text_entry(credential, "id"), 1..=MAX_CREDENTIAL_ID_LEN)?)
        }
    };
    let auth_data = bytes(int_entry(map, 0x02), PLAIN_AUTH_DATA_LEN..=MAX_AUTH_DATA_LEN)?;
    let signature = bytes(int_entry(map, 0x03), 0..=MAX_SIGNATURE_LEN)?;
    let user_handle = match int_entry(map, 0x04) {
        None => None,
        Some(user) => match text_entry(plain_map(user)?, "id") {
            None => None,
            id => Some(bytes(id, 0..=MAX_USER_HANDLE_LEN)?),
        },
    };
    if let Some(count) = int_entry(map, 0x05) {
        unsigned(count)?;
    }
    let flags = auth_data[32];
    let rp_id_hash = Sha256::digest(VECTOR_APP_ID.as_bytes());
    if auth_data[..32] != rp_id_hash[..]
        || flags & FLAG_USER_PRESENT == 0
        || (uv && flags & FLAG_USER_VERIFIED == 0)
    {
        return None;
    }
    let credential_id = match (named, allow_list) {
        (Some(id), list) if list.is_empty() || list.contains(&id) => id,
        (None, [only]) => only.clone(),
        _ => return None,
    };
    p256::ecdsa::Signature::from_der(&signature).ok()?;
    Some(Assertion { credential_id, authenticator_data: auth_data, signature, user_handle })
}

/// The retries a host must read from a getPinRetries answer (kept to `u32`).
fn expected_retries(wire: &Wire) -> Option<u32> {
    let retries = unsigned(int_entry(wire.map()?, 0x03)?)?;
    Some(u32::try_from(retries).unwrap_or(u32::MAX))
}

/// Whether a getKeyAgreement answer is an EC2 P-256 COSE key (kty 2, crv 1, 32-byte coordinates
/// of a point on the curve): `Some(true)` when it is the key's own, `Some(false)` another's.
fn expected_key_agreement(wire: &Wire) -> Option<bool> {
    let cose = plain_map(int_entry(wire.map()?, 0x01)?)?;
    let small =
        |key: i64| int_entry(cose, key).and_then(Cbor::as_integer).and_then(|n| i64::try_from(n).ok());
    if small(1) != Some(2) || small(-1) != Some(1) {
        return None;
    }
    let coordinate = |key: i64| match int_entry(cose, key) {
        Some(Cbor::Bytes(bytes)) if bytes.len() == 32 => Some(bytes.as_slice()),
        _ => None,
    };
    let point = [&[0x04][..], coordinate(-2)?, coordinate(-3)?].concat();
    let device = PublicKey::from_sec1_bytes(&point).ok()?;
    Some(device == agreement_key().public_key())
}

/// Whether a getPinToken answer carries an encrypted token of an acceptable length (protocol 1:
/// 16 or 32 bytes; protocol 2: a 16-byte IV and 32 bytes).
fn expected_token(wire: &Wire, protocol: u64) -> bool {
    let Some(Cbor::Bytes(encrypted)) = wire.map().and_then(|map| int_entry(map, 0x02)) else { return false };
    let length = encrypted.len();
    length <= MAX_TOKEN_CIPHERTEXT_LEN
        && if protocol == 1 { length == 16 || length == 32 } else { length == 48 }
}

fn agreement_key() -> SecretKey {
    SecretKey::from_slice(&unhex(KEY_AGREEMENT_SCALAR)).expect("the example's scalar is a P-256 key")
}

/// `{1: 2, 3: -25, -1: 1, -2: x, -3: y}`.
fn cose_key(public: &PublicKey) -> Cbor {
    let point = public.to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| Cbor::Bytes(c.map(|c| c.to_vec()).unwrap_or_default());
    int_map(vec![
        (1, Cbor::from(2)),
        (3, Cbor::from(-25)),
        (-1, Cbor::from(1)),
        (-2, coordinate(point.x())),
        (-3, coordinate(point.y())),
    ])
}

fn cose_point(value: &Cbor) -> Option<PublicKey> {
    let x = field(value, -2).and_then(Cbor::as_bytes)?;
    let y = field(value, -3).and_then(Cbor::as_bytes)?;
    PublicKey::from_sec1_bytes(&[&[0x04][..], x, y].concat()).ok()
}

/// The AES key of the PIN protocol's shared secret: protocol 1 SHA-256(Z), protocol 2 the HKDF
/// "CTAP2 AES key" half.
fn pin_aes_key(protocol: u64, z: &[u8]) -> [u8; 32] {
    if protocol == 1 {
        return Sha256::digest(z).into();
    }
    let mut key = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), z)
        .expand(b"CTAP2 AES key", &mut key)
        .expect("32 bytes are within HKDF's limit");
    key
}

fn pin_encrypt(protocol: u64, key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    use cbc::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
    let iv = if protocol == 1 { [0u8; 16] } else { KEY_IV };
    let mut buffer = plaintext.to_vec();
    let length = buffer.len();
    cbc::Encryptor::<aes::Aes256>::new(key.into(), &iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buffer, length)
        .expect("whole AES blocks");
    if protocol == 1 {
        buffer
    } else {
        [&iv[..], &buffer].concat()
    }
}

fn pin_decrypt(protocol: u64, key: &[u8; 32], ciphertext: &[u8]) -> Option<Vec<u8>> {
    use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
    let (iv, body) = if protocol == 1 {
        ([0u8; 16], ciphertext)
    } else {
        ciphertext.split_first_chunk::<16>().map(|(iv, body)| (*iv, body))?
    };
    let mut buffer = body.to_vec();
    let length = cbc::Decryptor::<aes::Aes256>::new(key.into(), &iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buffer)
        .ok()?
        .len();
    buffer.truncate(length);
    Some(buffer)
}

/// authenticate(token, message): HMAC-SHA-256, truncated to 16 bytes for protocol 1.
fn pin_authenticate(protocol: u64, token: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(token).expect("HMAC takes any key length");
    mac.update(message);
    let tag = mac.finalize().into_bytes();
    tag[..if protocol == 1 { 16 } else { 32 }].to_vec()
}

fn int_map(entries: Vec<(i64, Cbor)>) -> Cbor {
    Cbor::Map(entries.into_iter().map(|(key, value)| (Cbor::from(key), value)).collect())
}

/// A CTAP2 answer: status 0x00 ‖ CBOR.
fn ctap2_success(value: &Cbor) -> Vec<u8> {
    let mut answer = vec![CTAP2_OK];
    ciborium::into_writer(value, &mut answer).expect("writing CBOR to a Vec cannot fail");
    answer
}

fn vector_key_handle() -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(VECTOR_KEY_HANDLE).expect("the vector's key handle is base64url")
}

fn vector_client_data_hash() -> [u8; 32] {
    unhex(VECTOR_CLIENT_DATA_HASH).try_into().expect("32 bytes")
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Runs `entry` on every seed of fuzz/corpus/`target` (there must be some); FUZZ_REPLAY_DIR
    /// names another corpus root instead (e.g. the corpora a long fuzz run grew).
    fn replay(target: &str, entry: fn(&[u8])) {
        let base = std::env::var("FUZZ_REPLAY_DIR")
            .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus").into());
        let dir = PathBuf::from(base).join(target);
        let mut seeds = 0;
        for file in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = file.unwrap().path();
            // Shown with the test's output when it fails: the last one is the failing seed.
            println!("seed {}", path.display());
            entry(&std::fs::read(&path).unwrap());
            seeds += 1;
        }
        assert!(seeds > 0, "no seeds in {}", dir.display());
    }

    #[test]
    fn seeds_of_ctaphid_reassembly() {
        replay("ctaphid_reassembly", ctaphid_reassembly);
    }

    #[test]
    fn seeds_of_host_stack() {
        replay("host_stack", host_stack);
    }

    #[test]
    fn seeds_of_u2f_parse() {
        replay("u2f_parse", u2f_reply);
    }

    #[test]
    fn seeds_of_logon_model() {
        replay("logon_model", logon_model);
    }

    #[test]
    fn seeds_of_config_parsers() {
        replay("config_parsers", config_parsers);
    }

    #[test]
    fn seeds_of_ctap2_answers() {
        replay("ctap2_answers", ctap2_answers);
    }

    /// The real answers (and the odd but valid ones) are taken, all other seeds refused: the
    /// scripted key and the expectations do not simply fail alike.
    #[test]
    fn the_good_ctap2_answers_are_taken_and_no_other() {
        let taken = [
            "info_virtual_key_u2f_too",
            "info_virtual_key_ctap2_only",
            "info_virtual_key_pin_and_uv",
            "info_spec_example",
            "info_spec_example_extra_key",
            "info_nested_deepest",
            "info_indefinite_versions",
            "info_odd_pin_protocol",
            "assertion_virtual_key",
            "assertion_virtual_key_u2f_sign",
            "assertion_built_in_uv",
            "assertion_credential_implied",
            "discoverable_first",
            "discoverable_next",
            "key_agreement_own_p2",
            "key_agreement_own_p1",
            "key_agreement_own_p2_permissions",
            "retries_virtual_key",
            "retries_3_p1",
            "retries_in_describe",
            "retries_blocked_in_describe",
            "retries_huge",
            "token_virtual_key_p2_permissions",
            "token_virtual_key_p1",
            "token_virtual_key_p2",
            "token_p1_16_bytes",
        ];
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ctap2_answers");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|file| file.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in taken {
            assert!(names.iter().any(|n| n == name), "no seed {name}");
        }
        for name in &names {
            let expected = taken.contains(&name.as_str());
            assert_eq!(ctap2_answer_taken(&seed("ctap2_answers", name)), expected, "{name}");
        }
    }

    #[test]
    fn the_vector_signature_signs_and_a_touch_request_does_not() {
        let response = hex("0100000001304402204b5f0cd17534cedd8c34ee09570ef542a353df4436030ce43d406de870b847780220267bb998fac9b7266eb60e7cb0b5eabdfd5ba9614f53c7b22272ec10047a923f9000");
        let outcome = Bench::new(1, 0, Box::new(U2fKey { reply: response.clone() })).sign(&requests(1));
        let signed = outcome.result.unwrap();
        assert_eq!(signed.signature_data, "AQAAAAEwRAIgS18M0XU0zt2MNO4JVw71QqNT30Q2AwzkPUBt6HC4R3gCICZ7uZj6ybcmbrYOfLC16r39W6lhT1PHsiJy7BAEepI_");
        let start = std::time::Instant::now();
        let outcome = Bench::new(1, 0, Box::new(U2fKey { reply: vec![0x69, 0x85] })).sign(&requests(1));
        assert_eq!(outcome.result.unwrap_err().kind(), ErrorKind::Cancelled);
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
        u2f_reply(&[0, 0x69, 0x85]);
        u2f_reply(&[[0].as_slice(), &response].concat());
    }

    #[test]
    fn a_busy_key_and_an_empty_script_end_at_once() {
        let start = std::time::Instant::now();
        // INIT reply, then CHANNEL_BUSY on the check-only AUTHENTICATE, forever.
        let mut script = vec![0x00, 1, 0x05];
        for _ in 0..200 {
            script.extend_from_slice(&[5, ERR_CHANNEL_BUSY]);
        }
        host_stack(&script);
        host_stack(&[0x03]);
        ctaphid_reassembly(&[]);
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    }

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_signing_seeds_sign() {
        for name in ["one_key_signs", "two_keys_two_requests", "first_key_fails_to_open"] {
            let data = seed("host_stack", name);
            let header = data[0];
            let bench = Bench::new(
                1 + usize::from(header & 1),
                (header >> 2) & 0b11,
                Box::new(Ops { script: Cursor::new(&data[1..]) }),
            );
            let outcome = bench.sign(&requests(1 + usize::from((header >> 1) & 1)));
            assert!(outcome.result.is_ok(), "{name}: {:?}", outcome.result);
        }
        for name in [
            "presence_then_libfido2_signature",
            "presence_then_vector_signature",
            "keepalive_stray_frames_then_signature",
            "busy_then_presence",
        ] {
            let data = seed("ctaphid_reassembly", name);
            let outcome = Bench::new(1, 0, Box::new(RawStream { data, pos: 0 })).sign(&requests(1));
            match name {
                "busy_then_presence" => assert_eq!(outcome.result.unwrap_err().kind(), ErrorKind::Cancelled),
                _ => assert!(outcome.result.is_ok(), "{name}: {:?}", outcome.result),
            }
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }
}
