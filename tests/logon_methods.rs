//! Logons with knowledge and OTP methods against the simulator over HTTPS.

mod logon_support;

use aa_logon::{ErrorKind, LogonStatus, Secret};
use aa_sim::{demo, totp};
use logon_support::{client, simulator, unix_now};

#[test]
fn password_logon_then_session_info_and_logout() {
    let sim = simulator();
    let client = client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    assert_eq!(logon.response().status, LogonStatus::MoreData);
    assert_eq!(logon.response().current_method, "PASSWORD:1");
    assert!(!logon.response().chains.is_empty());
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    let session_id = done.login_session_id.clone().expect("OK carries login_session_id");
    assert!(logon.is_finished());

    let info = client.login_session(&session_id).unwrap();
    assert!(info.user_name.ends_with("denis"), "{:?}", info.raw);
    client.logout(&session_id).unwrap();
    let e = client.logout(&session_id).unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(434)));
}

#[test]
fn wrong_password_fails_with_its_msgid() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let e = logon.answer(Secret::from("not-the-password")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LogonFailed, "{e}");
    assert_eq!(e.msgid(), Some("AUCORE-2007"));
    assert_eq!(e.reason(), Some("PASSWORD_WRONG"));
    assert_eq!(logon.response().status, LogonStatus::Failed);
    assert_eq!(logon.response().msgid, "AUCORE-2007");
    assert!(logon.is_finished());
}

#[test]
fn totp_logon() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "TOTP:1").unwrap();
    let code = totp::code(demo::TOTP_SECRET, unix_now()).unwrap();
    let done = logon.answer(Secret::new(code)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert!(done.login_session_id.is_some());
}

#[test]
fn sms_otp_logon_in_two_steps() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "SMS_OTP:1").unwrap();
    let sent = logon.request_challenge().unwrap();
    assert_eq!(sent.status, LogonStatus::MoreData);
    let otp = sim.sent_otps(demo::USER).pop().expect("the simulator sent an OTP");
    let done = logon.answer(Secret::new(otp)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(done.completed_chain.as_ref().unwrap().methods, ["SMS_OTP:1"]);
}

#[test]
fn ldap_step_of_a_chain_answers_next() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "LDAP_PASSWORD:1").unwrap();
    let next = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(next.status, LogonStatus::Next, "{:?}", next.raw);
    assert_eq!(next.completed_methods, ["LDAP_PASSWORD:1"]);
    assert!(next.login_session_id.is_none());
    let moved = logon.next("U2F:1").unwrap();
    assert_eq!((moved.status.clone(), moved.current_method.as_str()), (LogonStatus::MoreData, "U2F:1"));
    logon.abort().unwrap();
    assert!(logon.is_finished());
}

#[test]
fn unknown_user_is_an_aa_http_error() {
    let sim = simulator();
    let e = client(&sim).start_logon("JAGUAR\\nobody", demo::EVENT, "PASSWORD:1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AaHttp);
    assert_eq!(e.http_status(), Some(400));
    assert_eq!(e.msgid(), Some("AUCORE-1056"));
    assert_eq!(e.reason(), Some("USER_NOT_FOUND"));
}

#[test]
fn chains_of_the_demo_user() {
    let sim = simulator();
    let info = client(&sim).chains(demo::USER, demo::EVENT).unwrap();
    assert!(!info.user_is_locked);
    let names: Vec<&str> = info.chains.iter().map(|c| c.name.as_str()).collect();
    for expected in ["U2F only", "TOTP Only", "LDAP + U2F", "Password", "SMS OTP"] {
        assert!(names.contains(&expected), "{names:?}");
    }
}

#[test]
fn u2f_gather_on_a_password_logon_is_invalid_state() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    assert_eq!(logon.gather_sign_request().unwrap_err().kind(), ErrorKind::InvalidState);
}
