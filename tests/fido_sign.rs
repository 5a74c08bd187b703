//! The sign flow end to end against the testkit's virtual keys: real CTAPHID reports, real ECDSA.

mod fido_support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use aa_logon::fido::{self, Prompt, SignRequest};
use aa_logon::ErrorKind;
use aa_virtual_key::VirtualDevices;
use aa_virtual_key::{Presence, VirtualKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fido_support::{hex, options, request_for, verify, APP_ID};

#[test]
fn signs_with_a_present_key_and_the_signature_verifies() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"alice");
    devices.insert(key.clone());
    let request = request_for(&key);
    let (options, prompts) = options(Duration::from_secs(10));

    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();

    let counter = verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!(counter, 1);
    assert_eq!(key.counter(), 1);
    assert_eq!(*prompts.lock().unwrap(), [Prompt::TouchKey, Prompt::Touched]);
}

#[test]
fn only_the_key_owning_the_handle_is_asked_to_sign() {
    let devices = VirtualDevices::new();
    let stranger = VirtualKey::new(b"stranger");
    let owner = VirtualKey::new(b"owner");
    devices.insert(stranger.clone());
    devices.insert(owner.clone());
    // The stranger's handle is for another appId, so it stays unusable; the owner's handle is second.
    let mut foreign = request_for(&stranger);
    foreign.key_handle = URL_SAFE_NO_PAD.encode(stranger.enrollment("https://elsewhere.example").key_handle);
    let requests = [foreign, request_for(&owner)];
    let (options, _) = options(Duration::from_secs(10));

    let response = fido::sign(&devices, &requests, &options).unwrap();

    verify(&response, &requests[1], &owner.enrollment(APP_ID).public_key);
    assert_eq!(owner.counter(), 1);
    assert_eq!(stranger.counter(), 0, "a key owning no handle must never sign");
}

#[test]
fn waits_for_a_key_inserted_later() {
    let devices = Arc::new(VirtualDevices::new());
    let key = VirtualKey::new(b"late");
    let request = request_for(&key);
    let (options, prompts) = options(Duration::from_secs(10));
    let inserter = {
        let (devices, key) = (devices.clone(), key.clone());
        thread::spawn(move || {
            thread::sleep(Duration::from_secs(1));
            devices.insert(key);
        })
    };
    let start = Instant::now();

    let response = fido::sign(devices.as_ref(), std::slice::from_ref(&request), &options).unwrap();

    assert!(start.elapsed() >= Duration::from_secs(1));
    verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!(*prompts.lock().unwrap(), [Prompt::InsertKey, Prompt::TouchKey, Prompt::Touched]);
    inserter.join().unwrap();
}

#[test]
fn no_key_at_all_is_no_device_at_the_timeout() {
    let devices = VirtualDevices::new();
    let request = request_for(&VirtualKey::new(b"absent"));
    let (options, prompts) = options(Duration::from_millis(800));
    let start = Instant::now();

    let error = fido::sign(&devices, &[request], &options).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::NoDevice, "{error}");
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(*prompts.lock().unwrap(), [Prompt::InsertKey]);
}

#[test]
fn a_key_owning_no_handle_is_no_matching_key_without_waiting() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"wrong key");
    devices.insert(key.clone());
    let request = request_for(&VirtualKey::new(b"registered key"));
    let (options, prompts) = options(Duration::from_secs(30));
    let start = Instant::now();

    let error = fido::sign(&devices, &[request], &options).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::NoMatchingKey, "{error}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(key.counter(), 0);
    assert!(prompts.lock().unwrap().is_empty(), "no touch prompt for a key that cannot sign");
}

#[test]
fn a_user_who_never_touches_gets_a_presence_timeout_on_time() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"untouched");
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    let (options, prompts) = options(Duration::from_millis(1500));
    let start = Instant::now();

    let error = fido::sign(&devices, &[request_for(&key)], &options).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::UserPresenceTimeout, "{error}");
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(*prompts.lock().unwrap(), [Prompt::TouchKey]);
}

#[test]
fn cancel_from_another_thread_stops_the_touch_wait_at_once() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"cancelled");
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    let (options, _) = options(Duration::from_secs(30));
    let cancel = options.cancel.clone();
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(700));
        cancel.cancel();
        Instant::now()
    });

    let error = fido::sign(&devices, &[request_for(&key)], &options).unwrap_err();
    let returned = Instant::now();

    let cancelled_at = canceller.join().unwrap();
    assert_eq!(error.kind(), ErrorKind::Cancelled, "{error}");
    let reaction = returned.saturating_duration_since(cancelled_at);
    assert!(reaction < Duration::from_millis(200), "cancel took {reaction:?}");
}

#[test]
fn a_touch_is_noticed_promptly() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"on demand");
    key.set_presence(Presence::OnDemand);
    devices.insert(key.clone());
    let request = request_for(&key);
    let (options, _) = options(Duration::from_secs(10));
    let toucher = {
        let key = key.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(650));
            key.touch();
            Instant::now()
        })
    };

    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();
    let returned = Instant::now();

    let touched_at = toucher.join().unwrap();
    verify(&response, &request, &key.enrollment(APP_ID).public_key);
    let latency = returned.saturating_duration_since(touched_at);
    println!("touch noticed after {latency:?}");
    assert!(latency < Duration::from_millis(500), "touch noticed after {latency:?}");
}

#[test]
fn a_key_pulled_out_mid_wait_ends_cleanly_at_the_timeout() {
    let devices = Arc::new(VirtualDevices::new());
    let key = VirtualKey::new(b"pulled");
    key.set_presence(Presence::Never);
    let path = devices.insert(key.clone());
    let (options, prompts) = options(Duration::from_millis(1500));
    let remover = {
        let devices = devices.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(400));
            devices.remove(&path);
        })
    };
    let start = Instant::now();

    let error = fido::sign(devices.as_ref(), &[request_for(&key)], &options).unwrap_err();

    remover.join().unwrap();
    assert_eq!(error.kind(), ErrorKind::UserPresenceTimeout, "{error}");
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert_eq!(*prompts.lock().unwrap(), [Prompt::TouchKey, Prompt::InsertKey]);
}

#[test]
fn a_key_pulled_out_and_plugged_back_in_still_signs() {
    let devices = Arc::new(VirtualDevices::new());
    let first = VirtualKey::new(b"replugged");
    first.set_presence(Presence::Never);
    let path = devices.insert(first.clone());
    let request = request_for(&first);
    let (options, prompts) = options(Duration::from_secs(10));
    let replugger = {
        let devices = devices.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(400));
            devices.remove(&path);
            thread::sleep(Duration::from_millis(400));
            // The same key (same seed) comes back; this time the user touches it.
            devices.insert(VirtualKey::new(b"replugged"));
        })
    };

    let response = fido::sign(devices.as_ref(), std::slice::from_ref(&request), &options).unwrap();

    replugger.join().unwrap();
    verify(&response, &request, &first.enrollment(APP_ID).public_key);
    assert_eq!(
        *prompts.lock().unwrap(),
        [Prompt::TouchKey, Prompt::InsertKey, Prompt::TouchKey, Prompt::Touched]
    );
}

#[test]
fn the_google_vector_credential_signs_through_the_whole_stack() {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../testdata/u2f-test-vectors.json")).unwrap();
    let vector = &all["sign"];
    let app_id = vector["app_id"].as_str().unwrap();
    let handle = hex(vector["key_handle"].as_str().unwrap());
    let private_key: [u8; 32] = hex(vector["user_private_key"].as_str().unwrap()).try_into().unwrap();
    let key = VirtualKey::new(b"vector");
    key.import_credential(
        hex(vector["application_parameter"].as_str().unwrap()).try_into().unwrap(),
        handle.clone(),
        private_key,
    );
    let devices = VirtualDevices::new();
    devices.insert(key);
    let request = SignRequest {
        version: "U2F_V2".into(),
        challenge: vector["server_challenge_b64u"].as_str().unwrap().into(),
        key_handle: vector["derived_sign_response"]["keyHandle"].as_str().unwrap().into(),
        app_id: app_id.into(),
    };
    let (options, _) = options(Duration::from_secs(10));

    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();

    verify(&response, &request, &hex(vector["user_public_key"].as_str().unwrap()));
}

#[test]
fn bad_requests_are_refused_before_any_device_is_touched() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"untouched by bad requests");
    devices.insert(key.clone());
    let (options, prompts) = options(Duration::from_secs(10));

    let empty = fido::sign(&devices, &[], &options).unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::Config);

    let mut malformed = request_for(&key);
    malformed.key_handle = "not*base64".into();
    let error = fido::sign(&devices, &[request_for(&key), malformed], &options).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MalformedServerData, "{error}");
    assert_eq!(key.counter(), 0);
    assert!(prompts.lock().unwrap().is_empty());
}

#[test]
fn describe_and_wink_a_virtual_key() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"described");
    let path = devices.insert(key.clone());

    let details = fido::describe(&devices, &path).unwrap();
    assert_eq!(details.info.path, path);
    assert_eq!(details.info.vendor_id, aa_virtual_key::VENDOR_ID);
    assert_eq!(details.ctaphid_version, 2);
    assert!(details.capabilities.wink() && !details.capabilities.no_msg());
    assert_eq!(details.u2f_version.as_deref(), Some("U2F_V2"));

    fido::wink(&devices, &path).unwrap();
    assert_eq!(key.wink_count(), 1);

    let missing = fido::describe(&devices, "virtual:404").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NoDevice);
}
