//! Password, LDAP + U2F chain, TOTP, SMS/e-mail OTP, chains listing and endpoint registration.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use aa_sim::{demo, totp};
use aa_virtual_key::VirtualKey;
use common::*;
use serde_json::json;

#[test]
fn password_right_and_wrong() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let method = "PASSWORD:1";
    let process = client.logon_process(&session, method, "denis");
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": "wrong" })));
    assert_failed(status, &body, "PASSWORD_WRONG", "AUCORE-2007");
    assert_eq!(body["msg"], "Incorrect password");
    let process = client.logon_process(&session, method, "denis");
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_eq!(
        (status, body["status"].as_str(), body["msgid"].as_str()),
        (200, Some("OK"), Some("AUCORE-2001"))
    );
    assert_eq!(body["completed_chain"]["name"], "Password");
}

#[test]
fn ldap_then_u2f_goes_through_next() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();

    let process = client.logon_process(&session, "LDAP_PASSWORD:1", "denis");
    let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": "nope" })));
    assert_failed(status, &body, "PASSWORD_WRONG", "AUCORE-2007");

    let process = client.logon_process(&session, "LDAP_PASSWORD:1", "denis");
    let (status, next) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["status"], "NEXT");
    assert_eq!(next["msgid"], "AUCORE-1091");
    assert_eq!(next["msg"], "Welcome. Continue with the next login method");
    assert_eq!(next["completed_methods"], json!(["LDAP_PASSWORD:1"]));
    assert_eq!(next["user_name"], demo::USER);
    assert!(next.get("login_session_id").is_none());

    // Answering again before /next, or moving to a method of no chain, is refused.
    let (status, _) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_eq!(status, 400);
    let next_path = format!("/api/v1/logon/{process}/next");
    let (status, body) =
        client.post(&next_path, &json!({ "method_id": "TOTP:1", "endpoint_session_id": session }));
    assert_eq!((status, body["errors"][0]["name"].as_str()), (400, Some("method_id")));

    let (status, moved) =
        client.post(&next_path, &json!({ "method_id": "U2F:1", "endpoint_session_id": session }));
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["status"], "MORE_DATA");
    assert_eq!(moved["msgid"], "AUCORE-1008");
    assert_eq!(moved["current_method"], "U2F:1");
    assert_eq!(moved["completed_methods"], json!(["LDAP_PASSWORD:1"]));
    assert_eq!(moved["logon_process_id"], process.as_str());

    let (_, gather) = client.do_logon(&session, &process, None);
    let key = VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes());
    let (status, ok) = client.do_logon(&session, &process, Some(sign_first_request(&key, &gather)));
    assert_eq!((status, ok["status"].as_str()), (200, Some("OK")), "{ok}");
    assert_eq!(ok["completed_chain"]["name"], "LDAP + U2F");
    assert_eq!(ok["completed_chain"]["methods"], json!(["LDAP_PASSWORD:1", "U2F:1"]));
    assert_eq!(ok["completed_methods"], json!(["LDAP_PASSWORD:1", "U2F:1"]));
}

#[test]
fn totp_accepts_neighbouring_steps_once() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let previous = totp::code(demo::TOTP_SECRET, now - 30).unwrap();
    let current = totp::code(demo::TOTP_SECRET, now).unwrap();
    let far = totp::code(demo::TOTP_SECRET, now - 300).unwrap();

    let attempt = |code: &str| {
        let process = client.logon_process(&session, "TOTP:1", "denis");
        client.do_logon(&session, &process, Some(json!({ "answer": code })))
    };
    if far != current && far != previous {
        let (status, body) = attempt(&far);
        assert_failed(status, &body, "OTP_WRONG", "AUCORE-2067");
    }
    let (status, body) = attempt(&previous);
    assert_eq!((status, body["status"].as_str()), (200, Some("OK")), "{body}");
    let (status, body) = attempt(&previous);
    assert_failed(status, &body, "OTP_WRONG", "AUCORE-2067");
    // The current step is newer than the one used, so it still works once (unless the clock
    // just moved so that "previous" was the current step).
    if previous != current {
        let (status, body) = attempt(&current);
        assert_eq!((status, body["status"].as_str()), (200, Some("OK")), "{body}");
        let (status, body) = attempt(&current);
        assert_failed(status, &body, "OTP_WRONG", "AUCORE-2067");
    }
    assert_eq!(client.get("/sim/v1/totp?user_name=denis").1["code"].as_str().unwrap().len(), 6);
}

#[test]
fn sms_and_email_otp_take_two_steps() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    for method in ["SMS_OTP:1", "EMAIL_OTP:1"] {
        let process = client.logon_process(&session, method, "denis");
        let (status, sent) = client.do_logon(&session, &process, None);
        assert_eq!(
            (status, sent["status"].as_str(), sent["reason"].as_str()),
            (200, Some("MORE_DATA"), Some("OTP_SENT"))
        );
        let code = simulator.sent_otps(demo::USER).last().cloned().expect("an OTP was sent");
        assert_eq!(code.len(), 6);
        let (status, listed) = client.get("/sim/v1/otps?user_name=JAGUAR%5Cdenis");
        assert_eq!(status, 200);
        assert_eq!(listed["otps"].as_array().unwrap().last().unwrap(), code.as_str());
        let (status, ok) = client.do_logon(&session, &process, Some(json!({ "answer": code })));
        assert_eq!((status, ok["status"].as_str()), (200, Some("OK")), "{ok}");

        let process = client.logon_process(&session, method, "denis");
        client.do_logon(&session, &process, None);
        let wrong =
            if simulator.sent_otps("denis").last().unwrap() == "000000" { "111111" } else { "000000" };
        let (status, body) = client.do_logon(&session, &process, Some(json!({ "answer": wrong })));
        assert_failed(status, &body, "OTP_WRONG", "AUCORE-2067");
    }
}

#[test]
fn chains_listing_and_endpoint_registration() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();

    let (status, body) = client.get(&format!(
        "/api/v1/logon/chains?user_name=denis&is_trusted=true&event=Search%20Card&endpoint_session_id={session}"
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_is_locked"], false);
    let names: Vec<&str> =
        body["chains"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "U2F only",
            "TOTP Only",
            "LDAP + U2F",
            "Password",
            "SMS OTP",
            "Email OTP",
            "Voice OTP",
            "Smartphone",
            "Voice call",
            "Security questions",
            "Emergency password",
            "RADIUS",
            "Card",
            "Fingerprint",
            "FIDO2 & U2F"
        ]
    );
    let (status, body) =
        client.get(&format!("/api/v1/logon/chains?user_name=bob&endpoint_session_id={session}"));
    assert_error(status, &body, 400, "AUCORE-1056");

    let admin =
        json!({ "method_id": "PASSWORD:1", "user_name": demo::ADMIN_USER, "password": demo::ADMIN_PASSWORD });
    let (status, body) = client.post(
        "/api/v1/endpoints",
        &json!({ "name": "test", "typ": 3, "desc": "Endpoint", "is_trusted": true, "tenant_name": "TOP", "auth_data": admin }),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert_eq!((id.len(), secret.len()), (32, 32));
    let (status, body) = client.post(
        &format!("/api/v1/endpoints/{id}/sessions"),
        &json!({ "salt": "x", "endpoint_secret_hash": secret_hash(&id, &secret, "x") }),
    );
    assert_eq!(status, 200, "{body}");
    let new_session = body["endpoint_session_id"].as_str().unwrap().to_owned();

    let bad_admin = json!({ "method_id": "PASSWORD:1", "user_name": demo::ADMIN_USER, "password": "guess" });
    let (status, body) = client.post("/api/v1/endpoints", &json!({ "name": "x", "auth_data": bad_admin }));
    assert_eq!((status, body["reason"].as_str()), (400, Some("PASSWORD_WRONG")));

    let (status, _) = client.delete(&format!("/api/v1/endpoints/{id}"), Some(&json!({ "auth_data": admin })));
    assert_eq!(status, 200);
    let (status, body) = client.start_logon(&new_session, "PASSWORD:1", "denis");
    assert_error(status, &body, 433, "AUCORE-1063");

    // Aborting a process.
    let process = client.logon_process(&session, "PASSWORD:1", "denis");
    let path = format!("/api/v1/logon/{process}?endpoint_session_id={session}");
    assert_eq!(client.delete(&path, None).0, 200);
    let (status, body) = client.do_logon(&session, &process, None);
    assert_error(status, &body, 444, "AUCORE-1001");
}

#[test]
fn login_session_expiry_answers_1067() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let process = client.logon_process(&session, "PASSWORD:1", "denis");
    let (_, ok) = client.do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    let login = ok["login_session_id"].as_str().unwrap();
    simulator.expire_login_sessions();
    let (status, body) = client.get(&format!("/api/v1/logon/sessions/{login}?endpoint_session_id={session}"));
    assert_error(status, &body, 434, "AUCORE-1067");
}
