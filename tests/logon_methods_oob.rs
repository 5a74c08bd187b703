//! Every AA method a login agent meets, through the Rust API against the simulator over HTTPS:
//! SMARTPHONE:1 (push approved, rejected, timed out — by the client and by the server —,
//! cancelled from another thread, the offline code), VOICE:1, SECQUEST:1, EMERG_PASSWORD:1,
//! RADIUS:1 with an Access-Challenge, VOICE_OTP:1, CARD:1 and FINGER:1 through the generic answer,
//! a PASSWORD:1 → SMARTPHONE:1 chain chosen with next_methods, the lenient answer model against a
//! hostile server, the chains lookup against a POST-only server, and an appId with a path.

mod logon_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use aa_logon::aa::ApprovalPromptCallback;
use aa_logon::{ApprovalOptions, ApprovalPrompt, Client, ErrorKind, LogonStatus, Secret};
use aa_sim::{demo, ApprovalDecision, ChainsLookup, Fault, FaultRule, Lifetimes, SimConfig, Simulator};
use logon_support::{client, config, simulator};
use serde_json::{json, Value};

/// Polls fast: the simulator answers at once, and these tests wait on events, not on time.
const FAST_POLL: Duration = Duration::from_millis(20);
/// A hang guard for waits that must end by an event long before.
const GENEROUS: Duration = Duration::from_secs(60);

fn options(prompt: Option<ApprovalPromptCallback>) -> ApprovalOptions {
    ApprovalOptions { timeout: GENEROUS, poll_interval: FAST_POLL, prompt, ..ApprovalOptions::default() }
}

/// A prompt that records what it was told and then lets `act` play the user's phone.
fn prompt_then(
    act: impl Fn() + Send + Sync + 'static,
) -> (ApprovalPromptCallback, Arc<Mutex<Vec<ApprovalPrompt>>>) {
    let told = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&told);
    let callback: ApprovalPromptCallback = Arc::new(move |prompt| {
        record.lock().unwrap().push(prompt);
        act();
    });
    (callback, told)
}

#[test]
fn a_push_approved_on_the_phone_logs_on() {
    let sim = Arc::new(simulator());
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let phone = Arc::clone(&sim);
    let (prompt, told) =
        prompt_then(move || assert_eq!(phone.decide_approval(demo::USER, ApprovalDecision::Approve), 1));
    let progress_calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&progress_calls);
    let options = ApprovalOptions {
        progress: Some(Arc::new(move |_elapsed| {
            counted.fetch_add(1, Ordering::SeqCst);
        })),
        ..options(Some(prompt))
    };
    let done = logon.wait_for_approval(&options).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert!(done.login_session_id.is_some());
    assert_eq!(*told.lock().unwrap(), [ApprovalPrompt::ApproveOnPhone], "told once, before the verdict");
    assert_eq!(progress_calls.load(Ordering::SeqCst), 1, "one poll was still waiting");
    assert!(logon.is_finished());
}

#[test]
fn a_rejected_push_is_logon_stopped() {
    let sim = Arc::new(simulator());
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let phone = Arc::clone(&sim);
    let (prompt, _) = prompt_then(move || {
        phone.decide_approval(demo::USER, ApprovalDecision::Reject);
    });
    let e = logon.wait_for_approval(&options(Some(prompt))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LogonStopped, "{e}");
    assert_eq!(e.reason(), Some("AUTH_REJECTED"));
    assert_eq!(logon.response().status, LogonStatus::Stop);
    assert_eq!(logon.response().msg, "Auth rejected");
    assert!(logon.is_finished());
    // The phones that decide by themselves give the same verdicts.
    let mut approved = client.start_logon(demo::USER_PHONE_APPROVES, demo::EVENT, "SMARTPHONE:1").unwrap();
    assert_eq!(approved.wait_for_approval(&options(None)).unwrap().status, LogonStatus::Ok);
    let mut rejected = client.start_logon(demo::USER_PHONE_REJECTS, demo::EVENT, "SMARTPHONE:1").unwrap();
    assert_eq!(rejected.wait_for_approval(&options(None)).unwrap_err().kind(), ErrorKind::LogonStopped);
}

#[test]
fn no_approval_in_time_is_a_timeout_and_the_process_lives_on() {
    let sim = Arc::new(simulator());
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let short = ApprovalOptions { timeout: Duration::from_millis(100), ..options(None) };
    let e = logon.wait_for_approval(&short).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("not approved in time"), "{e}");
    assert!(!logon.is_finished());
    assert_eq!(logon.response().status, LogonStatus::MoreData);
    // Waiting again works: the push is still pending on the server.
    let phone = Arc::clone(&sim);
    let (prompt, _) = prompt_then(move || {
        phone.decide_approval(demo::USER, ApprovalDecision::Approve);
    });
    assert_eq!(logon.wait_for_approval(&options(Some(prompt))).unwrap().status, LogonStatus::Ok);
}

#[test]
fn the_servers_confirmation_timeout_is_logon_failed() {
    let sim = simulator();
    sim.set_lifetimes(Lifetimes { approval: Duration::ZERO, ..Lifetimes::default() });
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let e = logon.wait_for_approval(&options(None)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LogonFailed, "{e}");
    assert_eq!(e.reason(), Some("AUTH_CONFIRMATION_TIMEOUT"));
    assert!(e.message().contains("Auth confirmation timeout"), "{e}");
    assert!(logon.is_finished());
}

#[test]
fn the_logons_cancel_token_ends_the_wait_from_another_thread() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let token = logon.cancel_token();
    let (prompted, wait_for_prompt) = mpsc::channel();
    let canceller = std::thread::spawn(move || {
        wait_for_prompt.recv_timeout(GENEROUS).expect("the wait prompted the user");
        token.cancel();
    });
    let (prompt, _) = prompt_then(move || prompted.send(()).unwrap());
    let e = logon.wait_for_approval(&options(Some(prompt))).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert!(!logon.is_finished(), "a cancel leaves the process alive");
    // The cancellation was consumed: the next wait runs and sees the phone's answer.
    assert_eq!(sim.decide_approval(demo::USER, ApprovalDecision::Approve), 1);
    assert_eq!(logon.wait_for_approval(&options(None)).unwrap().status, LogonStatus::Ok);
    // options.cancel works as the logon's token does.
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "VOICE:1").unwrap();
    let cancel = aa_logon::CancelToken::new();
    let inside = cancel.clone();
    let (prompt, told) = prompt_then(move || inside.cancel());
    let options = ApprovalOptions { cancel, ..options(Some(prompt)) };
    assert_eq!(logon.wait_for_approval(&options).unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(*told.lock().unwrap(), [ApprovalPrompt::AnswerCall]);
}

#[test]
fn only_out_of_band_methods_are_waited_for_and_the_options_are_checked() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    assert_eq!(logon.wait_for_approval(&options(None)).unwrap_err().kind(), ErrorKind::InvalidState);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let busy = ApprovalOptions { poll_interval: Duration::from_millis(1), ..options(None) };
    assert_eq!(logon.wait_for_approval(&busy).unwrap_err().kind(), ErrorKind::Config);
    assert!(sim.pending_approvals(demo::USER).is_empty(), "nothing was sent");
}

#[test]
fn voice_call_answered_logs_on() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER_PHONE_APPROVES, demo::EVENT, "VOICE:1").unwrap();
    let (prompt, told) = prompt_then(|| {});
    assert_eq!(logon.wait_for_approval(&options(Some(prompt))).unwrap().status, LogonStatus::Ok);
    assert_eq!(*told.lock().unwrap(), [ApprovalPrompt::AnswerCall]);
}

#[test]
fn the_smartphone_offline_code_is_the_fallback() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMARTPHONE:1").unwrap();
    let code = sim.current_smartphone_totp(demo::USER).unwrap();
    assert_eq!(logon.answer_offline_totp(Secret::new(code)).unwrap().status, LogonStatus::Ok);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let e = logon.answer_offline_totp(Secret::from("123456")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
}

fn right_answers() -> BTreeMap<String, Secret> {
    demo::SECURITY_QUESTIONS.iter().map(|(id, _, answer)| ((*id).to_owned(), Secret::from(*answer))).collect()
}

#[test]
fn security_questions_are_read_then_answered_in_one_call() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SECQUEST:1").unwrap();
    let questions = logon.questions().unwrap().clone();
    let expected: BTreeMap<String, String> =
        demo::SECURITY_QUESTIONS.iter().map(|(id, text, _)| ((*id).to_owned(), (*text).to_owned())).collect();
    assert_eq!(questions, expected);
    assert_eq!(logon.questions().unwrap(), &expected, "the last answer's questions, not a new request");
    // Answers for other ids than those asked are refused before anything is sent.
    let mut partial = right_answers();
    partial.remove("9");
    partial.insert("99".into(), Secret::from("x"));
    let e = logon.answer_questions(partial).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("\"9\"") && e.message().contains("\"99\""), "{e}");
    assert!(logon.answer_questions(BTreeMap::new()).is_err());
    assert_eq!(logon.answer_questions(right_answers()).unwrap().status, LogonStatus::Ok);

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SECQUEST:1").unwrap();
    logon.questions().unwrap();
    let mut wrong = right_answers();
    wrong.insert("6".into(), Secret::from("green"));
    let e = logon.answer_questions(wrong).unwrap_err();
    assert_eq!((e.kind(), e.reason()), (ErrorKind::LogonFailed, Some("SECQUEST_WRONG_ANSWERS")), "{e}");

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    assert_eq!(logon.questions().unwrap_err().kind(), ErrorKind::InvalidState);
}

#[test]
fn security_questions_of_the_wrong_shape_or_a_verdict_instead_are_malformed() {
    let sim = simulator();
    let client = client(&sim);
    for (rewrite, kind) in [
        (json!({ "questions": ["What?"] }), ErrorKind::MalformedServerData),
        (json!({ "questions": {} }), ErrorKind::MalformedServerData),
        (json!({ "questions": null }), ErrorKind::MalformedServerData),
        (json!({ "status": "OK", "login_session_id": "forged" }), ErrorKind::MalformedServerData),
    ] {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "SECQUEST:1").unwrap();
        rewrite_once(&sim, "/api/v1/logon/*/do_logon", rewrite.clone());
        assert_eq!(logon.questions().unwrap_err().kind(), kind, "{rewrite}");
    }
}

#[test]
fn emergency_password_radius_with_a_challenge_and_voice_otp() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "EMERG_PASSWORD:1").unwrap();
    assert_eq!(logon.answer(Secret::from(demo::EMERGENCY_PASSWORD)).unwrap().status, LogonStatus::Ok);

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "RADIUS:1").unwrap();
    let challenge = logon.answer(Secret::from(demo::RADIUS_PASSWORD)).unwrap();
    assert_eq!(challenge.status, LogonStatus::MoreData, "the Access-Challenge is no verdict");
    assert_eq!(challenge.msg, demo::RADIUS_CHALLENGE_PROMPT);
    assert!(!logon.is_finished());
    assert_eq!(logon.answer(Secret::from(demo::RADIUS_CHALLENGE_ANSWER)).unwrap().status, LogonStatus::Ok);

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "RADIUS:1").unwrap();
    logon.answer(Secret::from(demo::RADIUS_PASSWORD)).unwrap();
    let e = logon.answer(Secret::from("000000")).unwrap_err();
    assert_eq!((e.kind(), e.reason()), (ErrorKind::LogonFailed, Some("RADIUS_REJECTED")));

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "VOICE_OTP:1").unwrap();
    assert_eq!(logon.request_challenge().unwrap().status, LogonStatus::MoreData);
    let code = sim.sent_otps(demo::USER).pop().expect("the simulator called with a code");
    assert_eq!(logon.answer(Secret::new(code)).unwrap().status, LogonStatus::Ok);
}

#[test]
fn card_and_fingerprint_through_the_generic_answer() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "CARD:1").unwrap();
    let text = format!(r#"{{"card_uid": "{}", "card_cert": ""}}"#, demo::CARD_UID);
    assert_eq!(logon.answer_json(text.as_str()).unwrap().status, LogonStatus::Ok);

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "FINGER:1").unwrap();
    let capture = json!({ "capture": { "ISO": demo::FINGERPRINT_ISO, "captureStatus": "OK" } });
    let done = logon.answer_json(&capture).unwrap();
    assert_eq!((done.status.clone(), done.raw["score"].clone()), (LogonStatus::Ok, json!(45)));

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "CARD:1").unwrap();
    for bad in ["", "[]", "{\"card_uid\": ", "\"04a1b2c3d4e5f6\""] {
        let e = logon.answer_json(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}: {e}");
        assert!(!e.message().contains("04a1b2"), "{e}");
    }
    let e = logon.answer_json(json!({ "card_uid": "ffff", "card_cert": "" })).unwrap_err();
    assert_eq!((e.kind(), e.reason()), (ErrorKind::LogonFailed, Some("CARD_UNKNOWN")));
}

#[test]
fn a_password_then_smartphone_chain_with_next_methods() {
    let sim = simulator();
    let mut logon =
        client(&sim).start_logon(demo::USER_PHONE_APPROVES, demo::EVENT_REMOTE_ACCESS, "PASSWORD:1").unwrap();
    assert!(logon.next_methods().is_empty(), "nothing comes next before NEXT");
    let next = logon.answer(Secret::from(demo::USER_PHONE_APPROVES_PASSWORD)).unwrap();
    assert_eq!(next.status, LogonStatus::Next);
    assert_eq!(logon.next_methods(), ["SMARTPHONE:1", "VOICE:1"]);
    logon.next("SMARTPHONE:1").unwrap();
    let (prompt, told) = prompt_then(|| {});
    let done = logon.wait_for_approval(&options(Some(prompt))).unwrap();
    assert_eq!(done.status, LogonStatus::Ok);
    assert_eq!(done.completed_chain.as_ref().unwrap().methods, ["PASSWORD:1", "SMARTPHONE:1"]);
    assert_eq!(*told.lock().unwrap(), [ApprovalPrompt::ApproveOnPhone]);
}

/// The next answer to `path_pattern` gets `rewrite` merged into it (the request itself runs).
fn rewrite_once(sim: &Simulator, path_pattern: &str, rewrite: Value) {
    let Value::Object(fields) = rewrite else { panic!("rewrite must be an object") };
    sim.inject_fault(FaultRule {
        method: Some("POST".into()),
        path_pattern: path_pattern.into(),
        fault: Fault::Rewrite(fields.into_iter().collect()),
        times: Some(1),
    });
}

#[test]
fn incidental_fields_of_any_type_from_a_hostile_server_still_log_on() {
    let sim = simulator();
    let client = client(&sim);
    let wrong_types = [json!(null), json!(true), json!(7), json!("text"), json!([1]), json!({"k": 1})];
    let fields = [
        "user_email",
        "chains",
        "completed_chain",
        "completed_methods",
        "msg",
        "reason",
        "msgid",
        "current_method",
        "logon_process_id",
        "user_name",
        "tenant_name",
        "linked_logon",
        "plugins",
    ];
    for field in fields {
        for value in &wrong_types {
            let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
            rewrite_once(&sim, "/api/v1/logon/*/do_logon", json!({ field: value }));
            let done = logon
                .answer(Secret::from(demo::PASSWORD))
                .unwrap_or_else(|e| panic!("{field} = {value}: {e}"));
            assert_eq!(done.status, LogonStatus::Ok, "{field} = {value}");
            assert!(done.login_session_id.is_some(), "{field} = {value}");
            assert_eq!(&done.raw[field], value, "the raw answer shows what was sent");
        }
    }
    // What the flow needs stays required: an OK without a login session is no logon.
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    rewrite_once(&sim, "/api/v1/logon/*/do_logon", json!({ "login_session_id": 5 }));
    let e = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    assert!(e.message().contains("login_session_id"), "{e}");
}

#[test]
fn chains_fall_back_to_the_post_form_on_a_post_only_server() {
    let sim = Simulator::start(SimConfig { chains_lookup: ChainsLookup::PostOnly, ..SimConfig::default() })
        .unwrap();
    let client = Client::new(config(&sim)).unwrap();
    for _ in 0..2 {
        let info = client.chains(demo::USER, demo::EVENT_REMOTE_ACCESS).unwrap();
        let names: Vec<&str> = info.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Password + Smartphone", "Password + Voice call"]);
    }
    // The second lookup went straight to the POST form: 3 requests in all, not 4, besides the
    // endpoint session.
    assert_eq!(sim.stats().requests, 1 + 2 + 1, "{:?}", sim.stats());
    // Unknown users are still errors, not a reason to fall back.
    let e = client.chains("JAGUAR\\nobody", demo::EVENT).unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(400)));
    // A current server answers the GET form first.
    let sim = simulator();
    let current = logon_support::client(&sim);
    assert!(!current.chains(demo::USER, demo::EVENT).unwrap().chains.is_empty());
    assert_eq!(sim.stats().requests, 2, "{:?}", sim.stats());
}

#[test]
fn an_app_id_with_a_path_is_signed_with_its_facet_as_origin() {
    let app_id = "https://aa-sim.local/u2f";
    let mut fixture = aa_sim::Fixture::demo();
    fixture.u2f_app_id = app_id.into();
    let enrollment =
        aa_virtual_key::KeyMaterial::from_seed(demo::VIRTUAL_KEY_SEED.as_bytes()).enrollment(app_id);
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    fixture.users[0].u2f[0].key_handle = b64(&enrollment.key_handle);
    fixture.users[0].u2f[0].public_key = b64(&enrollment.public_key);
    let sim = Simulator::start(SimConfig { fixture, ..SimConfig::default() }).unwrap();
    let mut config = config(&sim);
    config.allow_app_id_host(demo::APP_ID_HOST).unwrap();
    let client = Client::new(config).unwrap();
    let devices = aa_virtual_key::VirtualDevices::new();
    devices.insert(aa_virtual_key::VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes()));
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let sign = aa_logon::SignOptions { timeout: GENEROUS, ..aa_logon::SignOptions::default() };
    let done = logon.sign_with_device(&devices, &sign).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    let client_data = logon.last_sign_response().unwrap().client_data.clone();
    let client_data: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, client_data).unwrap(),
    )
    .unwrap();
    assert_eq!(client_data["origin"], "https://aa-sim.local");
}
