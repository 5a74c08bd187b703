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
use fido_support::{hex, options, request_for, verify, wait_until_blinking, without_hanging, APP_ID};

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
    assert_eq!(prompts.seen(), [Prompt::TouchKey, Prompt::Touched]);
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
    // The user inserts the key once asked to, so it comes only after sign found no key.
    let inserter = {
        let (devices, key, prompts) = (devices.clone(), key.clone(), prompts.clone());
        thread::spawn(move || {
            prompts.wait_for(Prompt::InsertKey);
            devices.insert(key);
        })
    };

    let response = fido::sign(devices.as_ref(), std::slice::from_ref(&request), &options).unwrap();

    verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!(prompts.seen(), [Prompt::InsertKey, Prompt::TouchKey, Prompt::Touched]);
    inserter.join().unwrap();
}

#[test]
fn no_key_at_all_is_no_device_at_the_timeout() {
    let request = request_for(&VirtualKey::new(b"absent"));
    let timeout = Duration::from_millis(800);
    let (options, prompts) = options(timeout);
    let start = Instant::now();

    let error =
        without_hanging(move || fido::sign(&VirtualDevices::new(), &[request], &options)).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::NoDevice, "{error}");
    // Not before its timeout (a lower bound only: a loaded machine can only make it later).
    assert!(start.elapsed() >= timeout, "gave up after {:?}", start.elapsed());
    assert_eq!(prompts.seen(), [Prompt::InsertKey]);
}

#[test]
fn a_key_owning_no_handle_is_no_matching_key_without_waiting() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"wrong key");
    devices.insert(key.clone());
    let request = request_for(&VirtualKey::new(b"registered key"));
    // A timeout far beyond the hang guard: an answer at all shows sign did not wait for it.
    let (options, prompts) = options(Duration::from_secs(3600));

    let error = without_hanging(move || fido::sign(&devices, &[request], &options)).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::NoMatchingKey, "{error}");
    assert_eq!(key.counter(), 0);
    assert!(prompts.seen().is_empty(), "no touch prompt for a key that cannot sign");
}

#[test]
fn a_user_who_never_touches_gets_a_presence_timeout_on_time() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"untouched");
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    let request = request_for(&key);
    let timeout = Duration::from_millis(1500);
    let (options, prompts) = options(timeout);
    let start = Instant::now();

    let error = without_hanging(move || fido::sign(&devices, &[request], &options)).unwrap_err();

    assert_eq!(error.kind(), ErrorKind::UserPresenceTimeout, "{error}");
    // Not before its timeout (a lower bound only: a loaded machine can only make it later).
    assert!(start.elapsed() >= timeout, "gave up after {:?}", start.elapsed());
    assert!(key.is_waiting_for_touch(), "the key was asked for a touch and never got one");
    assert_eq!(key.counter(), 0);
    assert_eq!(prompts.seen(), [Prompt::TouchKey]);
}

#[test]
fn cancel_from_another_thread_stops_the_touch_wait_at_once() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"cancelled");
    key.set_presence(Presence::Never);
    devices.insert(key.clone());
    // Cancelled long before this timeout, so the outcome tells a honoured cancel from a timeout.
    let (options, prompts) = options(Duration::from_secs(30));
    let cancel = options.cancel.clone();
    // Cancelled while the key blinks, i.e. while sign waits for the touch.
    let canceller = {
        let key = key.clone();
        thread::spawn(move || {
            wait_until_blinking(&key);
            cancel.cancel();
        })
    };

    let error = fido::sign(&devices, &[request_for(&key)], &options).unwrap_err();

    canceller.join().unwrap();
    assert_eq!(error.kind(), ErrorKind::Cancelled, "{error}");
    assert_eq!(prompts.seen(), [Prompt::TouchKey]);
    assert_eq!(key.counter(), 0);
}

#[test]
fn a_touch_is_noticed_promptly() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"on demand");
    key.set_presence(Presence::OnDemand);
    devices.insert(key.clone());
    let request = request_for(&key);
    let (options, prompts) = options(Duration::from_secs(10));
    // The user touches once the key blinks; the touch stays valid for TOUCH_VALIDITY (5 s), so
    // sign must notice it by polling on within that window (how fast is a benchmark question).
    let toucher = {
        let key = key.clone();
        thread::spawn(move || {
            wait_until_blinking(&key);
            key.touch();
        })
    };

    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();

    toucher.join().unwrap();
    let counter = verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!((counter, key.counter()), (1, 1), "one touch, one signature");
    assert_eq!(prompts.seen(), [Prompt::TouchKey, Prompt::Touched]);
}

#[test]
fn a_key_pulled_out_mid_wait_ends_cleanly_at_the_timeout() {
    let devices = Arc::new(VirtualDevices::new());
    let key = VirtualKey::new(b"pulled");
    key.set_presence(Presence::Never);
    let path = devices.insert(key.clone());
    // Room for sign to see the removal (its next poll or scan) before the timeout, loaded or not.
    let timeout = Duration::from_secs(3);
    let (options, prompts) = options(timeout);
    // Pulled out while it blinks, i.e. mid-wait for the touch.
    let remover = {
        let (devices, key) = (devices.clone(), key.clone());
        thread::spawn(move || {
            wait_until_blinking(&key);
            devices.remove(&path);
        })
    };
    let request = request_for(&key);
    let start = Instant::now();

    let error = without_hanging({
        let devices = devices.clone();
        move || fido::sign(devices.as_ref(), &[request], &options)
    })
    .unwrap_err();

    remover.join().unwrap();
    assert_eq!(error.kind(), ErrorKind::UserPresenceTimeout, "{error}");
    assert!(start.elapsed() >= timeout, "gave up after {:?}", start.elapsed());
    assert_eq!(prompts.seen(), [Prompt::TouchKey, Prompt::InsertKey]);
}

#[test]
fn a_key_pulled_out_and_plugged_back_in_still_signs() {
    let devices = Arc::new(VirtualDevices::new());
    let first = VirtualKey::new(b"replugged");
    first.set_presence(Presence::Never);
    let path = devices.insert(first.clone());
    let request = request_for(&first);
    let (options, prompts) = options(Duration::from_secs(10));
    // Pulled out while it blinks, plugged back in once sign asks for a key again.
    let replugger = {
        let (devices, first, prompts) = (devices.clone(), first.clone(), prompts.clone());
        thread::spawn(move || {
            wait_until_blinking(&first);
            devices.remove(&path);
            prompts.wait_for(Prompt::InsertKey);
            // The same key (same seed) comes back; this time the user touches it.
            devices.insert(VirtualKey::new(b"replugged"));
        })
    };

    let response = fido::sign(devices.as_ref(), std::slice::from_ref(&request), &options).unwrap();

    replugger.join().unwrap();
    verify(&response, &request, &first.enrollment(APP_ID).public_key);
    assert_eq!(prompts.seen(), [Prompt::TouchKey, Prompt::InsertKey, Prompt::TouchKey, Prompt::Touched]);
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
    assert!(prompts.seen().is_empty());
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
