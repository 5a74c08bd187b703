//! FIDO2:1 through the HTTP API (HTTPS on loopback) with assertions made by the virtual key's
//! CTAP2 layer — over its 64-byte CTAPHID reports or its direct CBOR interface — and the CTAP2 →
//! U2F identity: a U2F:1 sign response built from a CTAP2 assertion verifies like a CTAP1 one.

mod common;

use std::time::Duration;

use aa_sim::{demo, SimConfig, Simulator};
use aa_virtual_key::ctaphid::{self, command, BROADCAST_CID};
use aa_virtual_key::{Protocols, VirtualKey};
use ciborium::value::Value as Cbor;
use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const READ_TIMEOUT: Duration = Duration::from_secs(10);

fn simulator() -> (Simulator, Client) {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let client = Client::new(&sim);
    (sim, client)
}

/// `https://127.0.0.1:PORT`: the server's origin as this client addresses it.
fn server_origin(client: &Client) -> String {
    client.base.trim_end_matches('/').to_owned()
}

fn start(client: &Client, session: &str, user: &str, event: &str, method: &str) -> String {
    let (status, body) = client.post(
        "/api/v1/logon",
        &json!({ "method_id": method, "user_name": user, "event": event, "endpoint_session_id": session }),
    );
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")), "{body}");
    body["logon_process_id"].as_str().unwrap().to_owned()
}

fn login_url(process: &str) -> String {
    format!("/api/v1/logon_method/FIDO2:1/login/{process}")
}

/// Steps (1) and (2) of §4.2: do_logon → MORE_DATA, then the request options.
fn fetch_options(client: &Client, session: &str, process: &str, user: &str) -> Value {
    let (status, body) = client.do_logon(session, process, None);
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")), "{body}");
    assert_eq!(body["reason"], "FIDO2_WAITING_AUTH_RESPONSE");
    let (status, options) =
        client.post(&login_url(process), &json!({ "username": user, "displayName": user }));
    assert_eq!((status, options["status"].as_str()), (200, Some("ok")), "{options}");
    options
}

/// How the key is asked: over CTAPHID reports or through its CBOR layer directly.
#[derive(Clone, Copy)]
enum Path {
    Reports,
    Direct,
}

fn cbor_request(command_byte: u8, entries: Vec<(i64, Cbor)>) -> Vec<u8> {
    let map = Cbor::Map(entries.into_iter().map(|(k, v)| (Cbor::Integer(k.into()), v)).collect());
    let mut out = vec![command_byte];
    ciborium::ser::into_writer(&map, &mut out).unwrap();
    out
}

/// One CTAPHID_CBOR exchange over reports: INIT for a channel, the request, KEEPALIVEs skipped.
fn over_reports(key: &VirtualKey, request: &[u8]) -> Vec<u8> {
    let nonce = [7u8; 8];
    for report in ctaphid::frames(BROADCAST_CID, command::INIT, &nonce) {
        key.write_report(&report).unwrap();
    }
    let init = key.read_report(READ_TIMEOUT).unwrap().expect("INIT answer");
    assert_eq!(&init[7..15], &nonce);
    let cid = u32::from_be_bytes(init[15..19].try_into().unwrap());
    for report in ctaphid::frames(cid, command::CBOR, request) {
        key.write_report(&report).unwrap();
    }
    loop {
        let first = key.read_report(READ_TIMEOUT).unwrap().expect("an answer");
        let len = usize::from(u16::from_be_bytes([first[5], first[6]]));
        let mut payload = first[7..7 + len.min(ctaphid::INIT_PAYLOAD_LEN)].to_vec();
        while payload.len() < len {
            let next = key.read_report(READ_TIMEOUT).unwrap().expect("a continuation");
            let take = (len - payload.len()).min(ctaphid::CONT_PAYLOAD_LEN);
            payload.extend_from_slice(&next[5..5 + take]);
        }
        match first[4] & 0x7F {
            command::KEEPALIVE => continue,
            command::CBOR => return payload,
            other => panic!("unexpected CTAPHID command {other:#x}"),
        }
    }
}

/// getAssertion for `rp_id` with `ids` as allowList; returns (authData, signature, credential id).
fn get_assertion(
    key: &VirtualKey,
    path: Path,
    rp_id: &str,
    cdh: &[u8],
    ids: &[Vec<u8>],
    uv: bool,
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let allow = ids
        .iter()
        .map(|id| {
            Cbor::Map(vec![
                (Cbor::Text("id".into()), Cbor::Bytes(id.clone())),
                (Cbor::Text("type".into()), Cbor::Text("public-key".into())),
            ])
        })
        .collect();
    let mut entries =
        vec![(1, Cbor::Text(rp_id.into())), (2, Cbor::Bytes(cdh.to_vec())), (3, Cbor::Array(allow))];
    if uv {
        entries.push((5, Cbor::Map(vec![(Cbor::Text("uv".into()), Cbor::Bool(true))])));
    }
    let request = cbor_request(0x02, entries);
    let answer = match path {
        Path::Reports => over_reports(key, &request),
        Path::Direct => key.cbor(&request),
    };
    assert_eq!(answer[0], 0, "CTAP2 status {:#x}", answer[0]);
    let map: Cbor = ciborium::de::from_reader(&answer[1..]).unwrap();
    let get = |k: i64| {
        map.as_map().unwrap().iter().find(|(key, _)| *key == Cbor::Integer(k.into())).unwrap().1.clone()
    };
    let credential = get(1);
    let id = credential.as_map().unwrap().iter().find(|(k, _)| k.as_text() == Some("id")).unwrap().1.clone();
    (get(2).into_bytes().unwrap(), get(3).into_bytes().unwrap(), id.into_bytes().unwrap())
}

fn webauthn_client_data(challenge: &str, origin: &str) -> String {
    format!(r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#)
}

/// Step (3): the assertion for `options`, signed by `key`, as the web client posts it.
fn signed_assertion(key: &VirtualKey, path: Path, options: &Value, origin: &str, uv: bool) -> Value {
    let challenge = options["challenge"].as_str().unwrap();
    let rp_id = options["rpId"].as_str().unwrap();
    let ids: Vec<Vec<u8>> = options["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| unb64u(c["id"].as_str().unwrap()))
        .collect();
    let client_data = webauthn_client_data(challenge, origin);
    let cdh = Sha256::digest(client_data.as_bytes());
    let (auth_data, signature, id) = get_assertion(key, path, rp_id, &cdh, &ids, uv);
    json!({
        "id": b64u(&id), "rawId": b64u(&id), "type": "public-key",
        "response": {
            "clientDataJSON": b64u(client_data.as_bytes()),
            "authenticatorData": b64u(&auth_data),
            "signature": b64u(&signature),
            "userHandle": "",
        },
    })
}

fn post_assertion(client: &Client, process: &str, assertion: &Value) -> Value {
    let (status, body) = client.post(&login_url(process), assertion);
    assert_eq!(status, 200, "{body}");
    body
}

/// Step (4): do_logon until the status is no longer MORE_DATA (bounded).
fn poll(client: &Client, session: &str, process: &str) -> Value {
    for _ in 0..10 {
        let (status, body) = client.do_logon(session, process, None);
        assert_eq!(status, 200, "{body}");
        if body["status"] != "MORE_DATA" {
            return body;
        }
    }
    panic!("do_logon stayed MORE_DATA");
}

#[test]
fn fido2_only_logon_with_a_ctap2_only_key_over_its_reports() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::with_protocols(demo::VIRTUAL_KEY_SEED.as_bytes(), Protocols::Ctap2Only);
    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER);
    assert_eq!(options["rpId"], demo::FIDO2_RP_ID);
    assert_eq!(options["userVerification"], "discouraged");
    let credential = key.make_credential(demo::FIDO2_RP_ID, b"denis");
    assert_eq!(options["allowCredentials"][0]["id"], b64u(&credential.credential_id));
    assert_eq!(unb64u(options["challenge"].as_str().unwrap()).len(), 32);
    // Before the assertion arrives the process keeps waiting.
    let (_, waiting) = client.do_logon(&session, &process, None);
    assert_eq!(waiting["status"], "MORE_DATA");

    let assertion = signed_assertion(&key, Path::Reports, &options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion), json!({ "status": "ok", "errorMessage": "" }));
    let done = poll(&client, &session, &process);
    assert_eq!(done["status"], "OK", "{done}");
    assert_eq!(done["completed_chain"]["name"], "FIDO2 only");
    assert!(done["login_session_id"].as_str().is_some_and(|id| id.len() == 32));
}

#[test]
fn the_rp_origin_is_accepted_too_and_other_origins_fail_the_process() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER);
    let assertion = signed_assertion(&key, Path::Direct, &options, "https://aa-sim.local", false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "ok");
    assert_eq!(poll(&client, &session, &process)["status"], "OK");

    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER);
    let assertion = signed_assertion(&key, Path::Direct, &options, "https://evil.example", false);
    let answer = post_assertion(&client, &process, &assertion);
    assert_eq!(answer["status"], "failed");
    assert!(answer["errorMessage"].as_str().unwrap().contains("evil.example"), "{answer}");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_failed(status, &body, "FIDO2_WRONG_ORIGIN", "AUCORE-2092");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_error(status, &body, 444, "AUCORE-1001");
}

#[test]
fn counters_must_increase_across_processes() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    for _ in 0..2 {
        let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
        let options = fetch_options(&client, &session, &process, demo::USER);
        let assertion = signed_assertion(&key, Path::Direct, &options, &server_origin(&client), false);
        assert_eq!(post_assertion(&client, &process, &assertion)["status"], "ok");
        assert_eq!(poll(&client, &session, &process)["status"], "OK");
    }
    // A clone of the key (same seed, fresh counter) replays counter 1.
    let clone = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER);
    let assertion = signed_assertion(&clone, Path::Direct, &options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "failed");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_failed(status, &body, "FIDO2_COUNTER_REPLAY", "AUCORE-2098");
}

#[test]
fn a_policy_requiring_uv_refuses_assertions_without_it() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::with_protocols(demo::FIDO2_UV_KEY_SEED.as_bytes(), Protocols::Ctap2Only);
    let process = start(&client, &session, demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER_FIDO2_UV);
    assert_eq!(options["userVerification"], "required");
    let assertion = signed_assertion(&key, Path::Direct, &options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "failed");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_failed(status, &body, "FIDO2_USER_NOT_VERIFIED", "AUCORE-2097");

    key.set_uv(true, true);
    let process = start(&client, &session, demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER_FIDO2_UV);
    let assertion = signed_assertion(&key, Path::Reports, &options, &server_origin(&client), true);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "ok");
    assert_eq!(poll(&client, &session, &process)["status"], "OK");
}

/// A U2F:1 sign response from CTAP2: signatureData = flags ‖ counter ‖ signature of a getAssertion
/// with rpId = appId and clientDataHash = SHA-256(U2F clientData).
fn ctap2_sign_response(key: &VirtualKey, gather: &Value) -> Value {
    let request = &gather["signRequests"][0];
    let app_id = request["appId"].as_str().unwrap();
    let data = client_data("navigator.id.getAssertion", request["challenge"].as_str().unwrap(), app_id);
    let handle = unb64u(request["keyHandle"].as_str().unwrap());
    let (auth_data, signature, id) = get_assertion(
        key,
        Path::Reports,
        app_id,
        &Sha256::digest(data.as_bytes()),
        std::slice::from_ref(&handle),
        false,
    );
    assert_eq!((auth_data.len(), id), (37, handle));
    let signature_data = [&auth_data[32..37], &signature[..]].concat();
    json!({ "signResponse": {
        "keyHandle": request["keyHandle"],
        "clientData": b64u(data.as_bytes()),
        "signatureData": b64u(&signature_data),
    } })
}

#[test]
fn u2f_answers_made_over_ctap2_verify_exactly_like_ctap1_ones() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    // A key that speaks both: one logon by CTAP1, the next by CTAP2, same credential and counter.
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    for ctap2 in [false, true, false] {
        let process = client.logon_process(&session, "U2F:1", demo::USER);
        let (_, gather) = client.do_logon(&session, &process, None);
        let response =
            if ctap2 { ctap2_sign_response(&key, &gather) } else { sign_first_request(&key, &gather) };
        let (status, body) = client.do_logon(&session, &process, Some(response));
        assert_eq!((status, body["status"].as_str()), (200, Some("OK")), "ctap2 {ctap2}: {body}");
    }
    // A CTAP2-only key with the same seed owns the enrolled U2F credential.
    let ctap2_only = VirtualKey::with_protocols(b"demo", Protocols::Ctap2Only);
    ctap2_only.set_presence(aa_virtual_key::Presence::Always);
    let process = client.logon_process(&session, "U2F:1", demo::USER);
    let (_, gather) = client.do_logon(&session, &process, None);
    // Its counter starts at 1, below the 3 accepted: refused as a replay like any CTAP1 answer.
    let (status, body) = client.do_logon(&session, &process, Some(ctap2_sign_response(&ctap2_only, &gather)));
    assert_failed(status, &body, "U2F_COUNTER_REPLAY", "AUCORE-2065");
}

#[test]
fn the_fido2_and_u2f_chain_runs_fido2_then_u2f() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let process = start(&client, &session, demo::USER, demo::EVENT, "FIDO2:1");
    let options = fetch_options(&client, &session, &process, demo::USER);
    let assertion = signed_assertion(&key, Path::Direct, &options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "ok");
    let next = poll(&client, &session, &process);
    assert_eq!(next["status"], "NEXT", "{next}");
    let (status, body) = client.post(
        &format!("/api/v1/logon/{process}/next"),
        &json!({ "method_id": "U2F:1", "endpoint_session_id": session }),
    );
    assert_eq!((status, body["current_method"].as_str()), (200, Some("U2F:1")), "{body}");
    let (_, gather) = client.do_logon(&session, &process, None);
    let (status, done) = client.do_logon(&session, &process, Some(ctap2_sign_response(&key, &gather)));
    assert_eq!((status, done["status"].as_str()), (200, Some("OK")), "{done}");
    assert_eq!(done["completed_chain"]["name"], "FIDO2 & U2F");
}

#[test]
fn the_exchange_is_strict_about_order_and_shape() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    // Options before do_logon started the step.
    let (status, body) = client.post(&login_url(&process), &json!({ "username": demo::USER }));
    assert_eq!(status, 400, "{body}");
    // The assertion never travels in do_logon.
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "assertion": {} })));
    assert_eq!(status, 400, "{body}");
    let options = fetch_options(&client, &session, &process, demo::USER);
    // Another user's name.
    let (status, body) = client.post(&login_url(&process), &json!({ "username": demo::USER_FIDO2_UV }));
    assert_eq!((status, body["status"].as_str()), (200, Some("failed")), "{body}");
    // A malformed assertion is a 400 and changes nothing.
    let (status, body) = client.post(&login_url(&process), &json!({ "id": "x", "response": "nope" }));
    assert_eq!(status, 400, "{body}");
    let (status, body) = client.post(&login_url("NoSuchProcess00000000000000000000"), &json!({}));
    assert_error(status, &body, 444, "AUCORE-1001");
    // A wrong endpoint session is refused when one is given.
    let (status, body) = client.post(&login_url(&process), &json!({ "endpoint_session_id": "nope" }));
    assert_eq!(status, 433, "{body}");
    // The latest options still work (the 400s changed nothing).
    let options = {
        let (status, fresh) = client.post(&login_url(&process), &json!({ "endpoint_session_id": session }));
        assert_eq!(status, 200, "{fresh}");
        assert_ne!(fresh["challenge"], options["challenge"], "a fresh challenge");
        fresh
    };
    let assertion = signed_assertion(&key, Path::Direct, &options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "ok");
    assert_eq!(poll(&client, &session, &process)["status"], "OK");
}

#[test]
fn an_assertion_without_options_fails_the_process() {
    let (_sim, client) = simulator();
    let session = client.endpoint_session();
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let process = start(&client, &session, demo::USER, demo::EVENT_FIDO2, "FIDO2:1");
    let (_, body) = client.do_logon(&session, &process, None);
    assert_eq!(body["status"], "MORE_DATA");
    let forged_options = json!({
        "challenge": b64u(&[1; 32]), "rpId": demo::FIDO2_RP_ID,
        "allowCredentials": [{ "id": b64u(&key.make_credential(demo::FIDO2_RP_ID, b"d").credential_id) }],
    });
    let assertion = signed_assertion(&key, Path::Direct, &forged_options, &server_origin(&client), false);
    assert_eq!(post_assertion(&client, &process, &assertion)["status"], "failed");
    let (status, body) = client.do_logon(&session, &process, None);
    assert_failed(status, &body, "FIDO2_WRONG_CHALLENGE", "AUCORE-2091");
}

#[test]
fn enroll_virtual_key_prints_the_fido2_credential_of_an_rp_id() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aa-sim"))
        .args(["enroll-virtual-key", "--seed", "demo", "--rp-id", demo::FIDO2_RP_ID])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let credential = VirtualKey::new(b"demo").make_credential(demo::FIDO2_RP_ID, b"any");
    assert_eq!(printed["credential_id"], b64u(&credential.credential_id));
    assert_eq!(printed["public_key"], b64u(&credential.public_key_sec1));
    assert_eq!(printed["public_key_cose"], b64u(&credential.public_key_cose));
    assert_eq!(printed["rp_id"], demo::FIDO2_RP_ID);
}
