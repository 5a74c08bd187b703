//! The seed's U2F flow end to end: simulator over HTTPS, FIDO stack, virtual key over CTAPHID.

mod logon_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aa_logon::{Client, ErrorKind, LogonStatus, Prompt, Secret, SignOptions};
use aa_sim::{demo, Simulator};
use aa_virtual_key::VirtualDevices;
use aa_virtual_key::{Presence, VirtualKey};
use logon_support::{config, simulator};

/// A client of the simulator that signs for its appId: the demo fixture's appId host
/// (`aa-sim.local`) is not the host of the server's URL, so it must be allowed explicitly.
fn client(sim: &Simulator) -> Client {
    let mut config = config(sim);
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    Client::new(config).expect("client builds")
}

fn demo_key() -> VirtualKey {
    VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes())
}

fn options(timeout: Duration) -> SignOptions {
    SignOptions { timeout, ..SignOptions::default() }
}

#[test]
fn u2f_logon_end_to_end() {
    let sim = simulator();
    let client = client(&sim);
    let devices = VirtualDevices::new();
    devices.insert(demo_key());

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    assert_eq!(logon.response().msgid, "AUCORE-1008");
    let challenge = logon.gather_sign_request().unwrap();
    assert_eq!(challenge.sign_requests.len(), 1);
    assert_eq!(challenge.sign_requests[0].app_id, demo::APP_ID);
    assert_eq!(logon.response().raw["signRequests"][0]["appId"], demo::APP_ID);
    assert_eq!(logon.response().reason, "U2F_WAITING_AUTH_RESPONSE");

    let prompts = Arc::new(Mutex::new(Vec::new()));
    let recorded = prompts.clone();
    let options = SignOptions {
        timeout: Duration::from_secs(10),
        prompt: Some(Arc::new(move |prompt| recorded.lock().unwrap().push(prompt))),
        ..SignOptions::default()
    };
    let done = logon.sign_with_device(&devices, &options).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    let session_id = done.login_session_id.clone().expect("login_session_id");
    assert_eq!(done.completed_chain.as_ref().unwrap().name, "U2F only");
    assert_eq!(done.user.user_name.as_deref(), Some(demo::USER));
    assert_eq!(done.user.user_upn.as_deref(), Some("denis@jaguar.com"));
    assert_eq!(done.user.user_mobile_phone.as_deref(), Some("+918746825777"));
    assert!(done.user.user_id.is_some());
    assert!(logon.is_finished());
    assert!(prompts.lock().unwrap().contains(&Prompt::TouchKey));

    let info = client.login_session(&session_id).unwrap();
    assert_eq!(info.user_name, demo::USER);
    client.logout(&session_id).unwrap();
}

#[test]
fn gather_sign_and_forward_separately() {
    let sim = simulator();
    let devices = VirtualDevices::new();
    devices.insert(demo_key());
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let requests = logon.gather_sign_request().unwrap().sign_requests.clone();
    let signed = aa_logon::fido::sign(&devices, &requests, &options(Duration::from_secs(10))).unwrap();
    let done = logon.forward_sign_response(&signed).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert!(logon.sign_request().is_none());
}

#[test]
fn chain_ldap_password_then_u2f() {
    let sim = simulator();
    let devices = VirtualDevices::new();
    devices.insert(demo_key());
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "LDAP_PASSWORD:1").unwrap();
    assert_eq!(logon.answer(Secret::from(demo::PASSWORD)).unwrap().status, LogonStatus::Next);
    assert_eq!(logon.next("U2F:1").unwrap().current_method, "U2F:1");
    let done = logon.sign_with_device(&devices, &options(Duration::from_secs(10))).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(done.completed_chain.as_ref().unwrap().methods, ["LDAP_PASSWORD:1", "U2F:1"]);
    assert_eq!(done.completed_methods, ["LDAP_PASSWORD:1", "U2F:1"]);
}

#[test]
fn cancel_from_another_thread_stops_the_touch_wait() {
    let sim = simulator();
    let devices = VirtualDevices::new();
    let key = demo_key();
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    logon.gather_sign_request().unwrap();
    let cancel = logon.cancel_token();
    // Cancelled while the key blinks, i.e. while the logon waits for the touch.
    let canceller = {
        let key = key.clone();
        std::thread::spawn(move || {
            assert!(
                key.wait_for_touch_request(Duration::from_secs(30)),
                "the key was never asked for a touch"
            );
            cancel.cancel();
        })
    };
    // Far beyond the moment of the cancel, so the outcome tells a honoured cancel from a timeout.
    let e = logon.sign_with_device(&devices, &options(Duration::from_secs(20))).unwrap_err();
    canceller.join().unwrap();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    assert_eq!(key.counter(), 0);
    assert!(!logon.is_finished(), "the logon can still be signed");
    assert!(!logon.cancel_token().is_cancelled(), "the token is ready for the next attempt");
}

#[test]
fn a_key_that_is_never_touched_times_out() {
    let sim = simulator();
    let devices = VirtualDevices::new();
    let key = demo_key();
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    // The sign operation's own timeout makes the time pass; no latency is asserted.
    let e = logon.sign_with_device(&devices, &options(Duration::from_secs(1))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserPresenceTimeout, "{e}");
    assert!(key.is_waiting_for_touch(), "the key was asked for a touch and never got one");
    assert_eq!(key.counter(), 0);
}

#[test]
fn a_key_without_the_handle_is_no_matching_key() {
    let sim = simulator();
    let devices = VirtualDevices::new();
    devices.insert(VirtualKey::new(b"someone else's key"));
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let e = logon.sign_with_device(&devices, &options(Duration::from_secs(1))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoMatchingKey, "{e}");
}
