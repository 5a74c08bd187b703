//! SMARTPHONE (push approved, rejected, timing out; offline code), VOICE, VOICE_OTP, SECQUEST,
//! EMERG_PASSWORD, RADIUS with its Access-Challenge, CARD, FINGER, a password + smartphone chain,
//! both forms of `/logon/chains` (and a POST-only server), and an App ID with a path.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aa_sim::{demo, totp, ApprovalDecision, ChainsLookup, Lifetimes, SimConfig, Simulator, TlsMode};
use common::*;
use serde_json::{json, Value};

fn verdict(body: &Value) -> (&str, &str) {
    (body["status"].as_str().unwrap_or("?"), body["reason"].as_str().unwrap_or("?"))
}

fn start(simulator_config: SimConfig) -> Simulator {
    Simulator::start(SimConfig { tls: TlsMode::PlainHttp, ..simulator_config }).expect("simulator starts")
}

#[test]
fn a_push_waits_for_the_phone_then_passes_or_stops() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    for (decision, expected) in
        [(ApprovalDecision::Approve, ("OK", "")), (ApprovalDecision::Reject, ("STOP", "AUTH_REJECTED"))]
    {
        let process = client.logon_process(&session, "SMARTPHONE:1", "denis");
        assert!(simulator.pending_approvals(demo::USER).is_empty(), "no push before the first do_logon");
        let (status, sent) = client.do_logon(&session, &process, None);
        assert_eq!((status, verdict(&sent)), (200, ("MORE_DATA", "SMARTPHONE_WAITING")), "{sent}");
        let (_, still) = client.do_logon(&session, &process, None);
        assert_eq!(verdict(&still), ("MORE_DATA", "SMARTPHONE_WAITING"), "a manual phone waits: {still}");
        assert_eq!(simulator.pending_approvals(demo::USER), ["SMARTPHONE:1"]);
        let (status, listed) = client.get("/sim/v1/approvals?user_name=denis");
        assert_eq!((status, listed["pending"][0]["method_id"].as_str()), (200, Some("SMARTPHONE:1")));
        assert_eq!(simulator.decide_approval(demo::USER, decision), 1);
        let (status, done) = client.do_logon(&session, &process, None);
        assert_eq!((status, verdict(&done)), (200, expected), "{done}");
        if decision == ApprovalDecision::Reject {
            assert_eq!(
                (done["msg"].as_str(), done["msgid"].as_str()),
                (Some("Auth rejected"), Some("AUCORE-2072"))
            );
            assert!(done.get("login_session_id").is_none());
        } else {
            assert!(done["login_session_id"].as_str().is_some_and(|id| !id.is_empty()), "{done}");
        }
        // STOP and OK end the process.
        let (status, gone) = client.do_logon(&session, &process, None);
        assert_error(status, &gone, 444, "AUCORE-1001");
    }
    // The route decides as the Rust API does, and says when nothing waits.
    let process = client.logon_process(&session, "VOICE:1", "denis");
    let (_, calling) = client.do_logon(&session, &process, None);
    assert_eq!(verdict(&calling), ("MORE_DATA", "VOICE_WAITING"), "{calling}");
    let (status, body) =
        client.post("/sim/v1/approvals", &json!({ "user_name": "denis", "decision": "approve" }));
    assert_eq!((status, body["decided"].as_u64()), (200, Some(1)), "{body}");
    let (_, done) = client.do_logon(&session, &process, None);
    assert_eq!(verdict(&done).0, "OK", "{done}");
    let (status, _) =
        client.post("/sim/v1/approvals", &json!({ "user_name": "denis", "decision": "approve" }));
    assert_eq!(status, 400, "nothing pending");
    let (status, _) = client.post("/sim/v1/approvals", &json!({ "user_name": "denis", "decision": "maybe" }));
    assert_eq!(status, 400);
}

#[test]
fn phones_that_answer_by_themselves_decide_at_the_first_poll() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    for (user, method, expected) in [
        (demo::USER_PHONE_APPROVES, "SMARTPHONE:1", "OK"),
        (demo::USER_PHONE_APPROVES, "VOICE:1", "OK"),
        (demo::USER_PHONE_REJECTS, "SMARTPHONE:1", "STOP"),
        (demo::USER_PHONE_REJECTS, "VOICE:1", "STOP"),
    ] {
        let process = client.logon_process(&session, method, user);
        let (_, sent) = client.do_logon(&session, &process, None);
        assert_eq!(verdict(&sent).0, "MORE_DATA", "{user} {method}: {sent}");
        let (_, done) = client.do_logon(&session, &process, None);
        assert_eq!(verdict(&done).0, expected, "{user} {method}: {done}");
    }
}

#[test]
fn an_undecided_push_fails_when_its_lifetime_ends() {
    let simulator = start_plain();
    simulator.set_lifetimes(Lifetimes { approval: Duration::ZERO, ..Lifetimes::default() });
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "SMARTPHONE:1", "denis");
    client.do_logon(&session, &process, None);
    let (status, body) = client.do_logon(&session, &process, None);
    assert_failed(status, &body, "AUTH_CONFIRMATION_TIMEOUT", "AUCORE-2073");
    assert_eq!(body["msg"], "Auth confirmation timeout");
    let (_, lifetimes) = client.get("/sim/v1/lifetimes");
    assert_eq!(lifetimes["approval_ms"], 0);
}

#[test]
fn the_smartphone_offline_code_replaces_the_push_once() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let code = simulator.current_smartphone_totp(demo::USER).expect("denis's app has an offline code");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(code, totp::code(demo::SMARTPHONE_TOTP_SECRET, now).unwrap());
    assert_eq!(client.get("/sim/v1/smartphone_totp?user_name=denis").1["code"], code.as_str());
    let process = client.logon_process(&session, "SMARTPHONE:1", "denis");
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "totp": code })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");
    let process = client.logon_process(&session, "SMARTPHONE:1", "denis");
    let (status, replay) = client.do_logon(&session, &process, Some(json!({ "totp": code })));
    assert_failed(status, &replay, "OTP_WRONG", "AUCORE-2067");
    let process = client.logon_process(&session, "SMARTPHONE:1", "denis");
    let (status, _) = client.do_logon(&session, &process, Some(json!({ "answer": code })));
    assert_eq!(status, 400, "SMARTPHONE:1 takes no answer");
}

#[test]
fn security_questions_are_asked_then_all_answered_at_once() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "SECQUEST:1", "denis");
    let (status, asked) = client.do_logon(&session, &process, None);
    assert_eq!((status, verdict(&asked)), (200, ("MORE_DATA", "SECQUEST_WAITING_ANSWERS")), "{asked}");
    assert_eq!(asked["msgid"], "AUCORE-2046");
    let questions = asked["questions"].as_object().unwrap();
    assert_eq!(questions.len(), demo::SECURITY_QUESTIONS.len());
    assert_eq!(questions["6"], "What hue are your shoes?");
    let right: serde_json::Map<String, Value> =
        demo::SECURITY_QUESTIONS.iter().map(|(id, _, answer)| ((*id).to_owned(), json!(answer))).collect();

    let mut one_wrong = right.clone();
    one_wrong.insert("7".into(), json!("Grace Hopper"));
    let mut one_missing = right.clone();
    one_missing.remove("9");
    for wrong in [one_wrong, one_missing] {
        let process = client.logon_process(&session, "SECQUEST:1", "denis");
        let (status, body) = client.do_logon(&session, &process, Some(json!({ "answers": wrong })));
        assert_failed(status, &body, "SECQUEST_WRONG_ANSWERS", "AUCORE-2074");
    }
    let process = client.logon_process(&session, "SECQUEST:1", "denis");
    let (status, _) = client.do_logon(&session, &process, Some(json!({ "answers": ["blue"] })));
    assert_eq!(status, 400);
    let (status, _) = client.do_logon(&session, &process, Some(json!({ "answers": { "6": 6 } })));
    assert_eq!(status, 400);
    // Case and surrounding spaces do not matter.
    let mut shouted = right;
    shouted.insert("6".into(), json!("  BLUE "));
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "answers": shouted })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");
}

#[test]
fn emergency_password_and_voice_otp() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "EMERG_PASSWORD:1", "denis");
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_failed(status, &body, "PASSWORD_WRONG", "AUCORE-2007");
    let process = client.logon_process(&session, "EMERG_PASSWORD:1", "denis");
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "answer": demo::EMERGENCY_PASSWORD })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");

    let process = client.logon_process(&session, "VOICE_OTP:1", "denis");
    let (_, sent) = client.do_logon(&session, &process, None);
    assert_eq!(verdict(&sent), ("MORE_DATA", "OTP_SENT"));
    let code = simulator.sent_otps(demo::USER).pop().unwrap();
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "answer": code })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");
}

#[test]
fn radius_asks_again_with_its_access_challenge() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "RADIUS:1", "denis");
    let (_, challenge) =
        client.do_logon(&session, &process, Some(json!({ "answer": demo::RADIUS_PASSWORD })));
    assert_eq!(verdict(&challenge), ("MORE_DATA", "RADIUS_CHALLENGE"), "{challenge}");
    assert_eq!(challenge["msg"], demo::RADIUS_CHALLENGE_PROMPT);
    let (_, again) = client.do_logon(&session, &process, None);
    assert_eq!(again["msg"], demo::RADIUS_CHALLENGE_PROMPT, "the challenge stands until answered");
    let (_, ok) =
        client.do_logon(&session, &process, Some(json!({ "answer": demo::RADIUS_CHALLENGE_ANSWER })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");

    let process = client.logon_process(&session, "RADIUS:1", "denis");
    client.do_logon(&session, &process, Some(json!({ "answer": demo::RADIUS_PASSWORD })));
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": "000000" })));
    assert_failed(status, &body, "RADIUS_REJECTED", "AUCORE-2076");
    let process = client.logon_process(&session, "RADIUS:1", "denis");
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_failed(status, &body, "RADIUS_REJECTED", "AUCORE-2076");
}

#[test]
fn card_and_fingerprint_take_their_documented_payloads() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "CARD:1", "denis");
    let (_, waiting) = client.do_logon(&session, &process, None);
    assert_eq!(verdict(&waiting), ("MORE_DATA", "CARD_WAITING"));
    let (status, body) =
        client.do_logon(&session, &process, Some(json!({ "card_uid": "ffff", "card_cert": "" })));
    assert_failed(status, &body, "CARD_UNKNOWN", "AUCORE-2078");
    let process = client.logon_process(&session, "CARD:1", "denis");
    let uid = demo::CARD_UID.to_ascii_uppercase();
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "card_uid": uid, "card_cert": "" })));
    assert_eq!(verdict(&ok).0, "OK", "{ok}");

    let capture = |iso: &str, status: &str| json!({ "capture": { "ISO": iso, "captureStatus": status } });
    let process = client.logon_process(&session, "FINGER:1", "denis");
    let (status, _) = client.do_logon(&session, &process, Some(capture("bm90IGEgdGVtcGxhdGU=", "OK")));
    assert_eq!(status, 400, "not an ISO template");
    let (status, body) = client.do_logon(&session, &process, Some(capture(demo::FINGERPRINT_ISO, "Timeout")));
    assert_failed(status, &body, "FINGER_CAPTURE_FAILED", "AUCORE-2081");
    let process = client.logon_process(&session, "FINGER:1", "denis");
    let (_, ok) = client.do_logon(&session, &process, Some(capture(demo::FINGERPRINT_ISO, "OK")));
    assert_eq!((verdict(&ok).0, ok["score"].as_u64()), ("OK", Some(45)), "{ok}");
    let process = client.logon_process(&session, "FINGER:1", "denis");
    let (status, body) = client.do_logon(&session, &process, Some(capture("Rk1SACAyMAA=", "OK")));
    assert_failed(status, &body, "FINGER_NOT_MATCHED", "AUCORE-2080");
}

#[test]
fn a_password_then_smartphone_chain_of_the_second_event() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let (status, started) = client.post(
        "/api/v1/logon",
        &json!({ "method_id": "PASSWORD:1", "user_name": "approver", "event": demo::EVENT_REMOTE_ACCESS,
                 "endpoint_session_id": session }),
    );
    assert_eq!(status, 200, "{started}");
    let process = started["logon_process_id"].as_str().unwrap().to_owned();
    let (_, next) =
        client.do_logon(&session, &process, Some(json!({ "answer": demo::USER_PHONE_APPROVES_PASSWORD })));
    assert_eq!(verdict(&next).0, "NEXT", "{next}");
    let chains: Vec<&str> =
        next["chains"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(chains, ["Password + Smartphone", "Password + Voice call"]);
    let (status, moved) = client.post(
        &format!("/api/v1/logon/{process}/next"),
        &json!({ "method_id": "SMARTPHONE:1", "endpoint_session_id": session }),
    );
    assert_eq!((status, moved["current_method"].as_str()), (200, Some("SMARTPHONE:1")), "{moved}");
    client.do_logon(&session, &process, None);
    let (_, ok) = client.do_logon(&session, &process, None);
    assert_eq!(verdict(&ok).0, "OK", "{ok}");
    assert_eq!(ok["completed_chain"]["methods"], json!(["PASSWORD:1", "SMARTPHONE:1"]));
}

#[test]
fn both_forms_of_the_chains_lookup_and_a_post_only_server() {
    let get = |session: &str| {
        format!("/api/v1/logon/chains?user_name=denis&event=Remote%20Access&endpoint_session_id={session}")
    };
    let post = |session: &str| {
        format!(
            "/api/v1/logon/chains?username=denis&application=Remote%20Access&endpoint_session_id={session}"
        )
    };
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let (status, by_get) = client.get(&get(&session));
    assert_eq!(status, 200, "{by_get}");
    let (status, by_post) = client.post(&post(&session), &json!({}));
    assert_eq!((status, &by_post), (200, &by_get));
    assert_eq!(by_get["chains"].as_array().unwrap().len(), 2, "{by_get}");
    // Each form has its own parameter names.
    let (status, body) =
        client.get(&format!("/api/v1/logon/chains?username=denis&endpoint_session_id={session}"));
    assert_eq!((status, body["errors"][0]["name"].as_str()), (400, Some("user_name")));

    let old = start(SimConfig { chains_lookup: ChainsLookup::PostOnly, ..SimConfig::default() });
    let client = Client::new(&old);
    let session = client.endpoint_session();
    let (status, body) = client.get(&get(&session));
    assert_eq!((status, body["status"].as_str()), (405, Some("error")), "{body}");
    let (status, body) = client.post(&post(&session), &json!({}));
    assert_eq!((status, body["chains"].as_array().map(Vec::len)), (200, Some(2)), "{body}");
}

#[test]
fn an_app_id_with_a_path_wants_its_facet_as_origin() {
    let app_id = "https://aa-sim.local/u2f/";
    let mut fixture = aa_sim::Fixture::demo();
    fixture.u2f_app_id = app_id.into();
    let enrollment =
        aa_virtual_key::KeyMaterial::from_seed(demo::VIRTUAL_KEY_SEED.as_bytes()).enrollment(app_id);
    fixture.users[0].u2f[0].key_handle = b64u(&enrollment.key_handle);
    fixture.users[0].u2f[0].public_key = b64u(&enrollment.public_key);
    let simulator = start(SimConfig { fixture, ..SimConfig::default() });
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let key = aa_virtual_key::VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    for (origin, expected) in [(app_id, "FAILED"), ("https://aa-sim.local", "OK")] {
        let process = client.logon_process(&session, "U2F:1", "denis");
        let (_, gather) = client.do_logon(&session, &process, None);
        let request = &gather["signRequests"][0];
        assert_eq!(request["appId"], app_id);
        let challenge = request["challenge"].as_str().unwrap();
        let key_handle = unb64u(request["keyHandle"].as_str().unwrap());
        let data = client_data("navigator.id.getAssertion", challenge, origin);
        let signature = authenticate(&key, 0x03, app_id, &key_handle, &data);
        let sign_response = json!({ "signResponse": { "keyHandle": request["keyHandle"], "clientData": b64u(data.as_bytes()),
            "signatureData": b64u(&signature) } });
        let (_, done) = client.do_logon(&session, &process, Some(sign_response));
        assert_eq!(verdict(&done).0, expected, "origin {origin}: {done}");
        if expected == "FAILED" {
            assert_eq!(done["reason"], "U2F_WRONG_ORIGIN");
        }
    }
}
