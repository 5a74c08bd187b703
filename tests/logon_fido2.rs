//! FIDO2:1 and CTAP2-answered U2F:1 logons end to end: the simulator over HTTPS, the FIDO stack,
//! virtual keys speaking CTAP2 over CTAPHID. PIN and UV outcomes, cancel, mixed keys.

mod fido_support;
mod logon_support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use aa_logon::fido::{PinCallback, PinRequest};
use aa_logon::{Client, DeviceCode, ErrorKind, LogonStatus, Prompt, Secret, SignOptions};
use aa_sim::{demo, Simulator};
use aa_virtual_key::{Presence, Protocols, VirtualDevices, VirtualKey};
use fido_support::{options as recorded_options, without_hanging};
use logon_support::{config, simulator};
use sha2::{Digest, Sha256};

const PIN: &str = "4711";

fn client(sim: &Simulator) -> Client {
    let mut config = config(sim);
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    Client::new(config).expect("client builds")
}

fn key(seed: &str, protocols: Protocols) -> VirtualKey {
    VirtualKey::with_protocols(seed.as_bytes(), protocols)
}

fn plugged(key: &VirtualKey) -> VirtualDevices {
    let devices = VirtualDevices::new();
    devices.insert(key.clone());
    devices
}

fn options(pin: Option<PinCallback>) -> SignOptions {
    SignOptions { timeout: Duration::from_secs(20), pin, ..SignOptions::default() }
}

fn answering(pin: &'static str) -> (PinCallback, Arc<Mutex<Vec<u32>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = asked.clone();
    let callback: PinCallback = Arc::new(move |request: &PinRequest| {
        record.lock().unwrap().push(request.retries_left);
        Some(Secret::from(pin))
    });
    (callback, asked)
}

#[test]
fn fido2_logon_without_pin() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::VIRTUAL_KEY_SEED, Protocols::Ctap2Only);
    let mut logon = client.start_logon(demo::USER, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    assert_eq!(logon.response().current_method, "FIDO2:1");
    let done = logon.sign_with_device(&plugged(&key), &options(None)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert!(done.login_session_id.is_some());
    assert_eq!(done.completed_chain.as_ref().unwrap().name, "FIDO2 only");

    // What was posted: the clientDataJSON of our one rule, signed for the simulator's rpId.
    let assertion = logon.last_fido2_assertion().expect("an assertion was posted").clone();
    assert_eq!(assertion.rp_id, demo::FIDO2_RP_ID);
    let client_data: serde_json::Value = serde_json::from_slice(&assertion.client_data_json).unwrap();
    assert_eq!(client_data["type"], "webauthn.get");
    assert_eq!(client_data["origin"], sim.base_url().trim_end_matches('/'));
    assert_eq!(client_data["crossOrigin"], false);
    assert_eq!(assertion.authenticator_data[..32], Sha256::digest(demo::FIDO2_RP_ID.as_bytes())[..]);
    assert_eq!(assertion.authenticator_data[32] & 0x05, 0x01, "present, not verified");
}

#[test]
fn fido2_logon_with_pin_for_a_policy_that_requires_verification() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::FIDO2_UV_KEY_SEED, Protocols::Ctap2Only);
    key.set_pin(Some(PIN));
    let (pin, asked) = answering(PIN);
    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let done = logon.sign_with_device(&plugged(&key), &options(Some(pin))).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(*asked.lock().unwrap(), [8]);
    let flags = logon.last_fido2_assertion().unwrap().authenticator_data[32];
    assert_eq!(flags & 0x05, 0x05, "present and verified");
}

#[test]
fn wrong_pin_then_the_right_one_on_the_same_logon() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::FIDO2_UV_KEY_SEED, Protocols::Ctap2Only);
    key.set_pin(Some(PIN));
    let devices = plugged(&key);
    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let (wrong, _) = answering("0000");
    let error = logon.sign_with_device(&devices, &options(Some(wrong))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinInvalid, "{error}");
    assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x31)));
    assert!(error.message().contains("7 retries left"), "{error}");
    assert!(!logon.is_finished(), "nothing was posted: the logon goes on");
    let (right, asked) = answering(PIN);
    let done = logon.sign_with_device(&devices, &options(Some(right))).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(*asked.lock().unwrap(), [7], "told the retries left");
    assert_eq!(key.pin_retries(), 8, "a right PIN restores the retries");
}

#[test]
fn blocked_pin_and_missing_pin_callback_have_their_kinds() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::FIDO2_UV_KEY_SEED, Protocols::Ctap2Only);
    key.set_pin(Some(PIN));
    let devices = plugged(&key);

    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let error = logon.sign_with_device(&devices, &options(None)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinRequired, "{error}");
    assert_eq!(key.pin_retries(), 8);

    key.set_pin_retries(0);
    let (pin, asked) = answering(PIN);
    let error = logon.sign_with_device(&devices, &options(Some(pin))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinBlocked, "{error}");
    assert!(asked.lock().unwrap().is_empty(), "a blocked PIN is never asked for");
}

#[test]
fn built_in_uv_verifies_without_a_pin() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::FIDO2_UV_KEY_SEED, Protocols::Both);
    key.set_uv(true, true);
    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let done = logon.sign_with_device(&plugged(&key), &options(None)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);

    key.set_uv(true, false);
    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let error = logon.sign_with_device(&plugged(&key), &options(None)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UvFailed, "{error}");
}

#[test]
fn u2f_logon_with_a_ctap2_only_key() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::VIRTUAL_KEY_SEED, Protocols::Ctap2Only);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let done = logon.sign_with_device(&plugged(&key), &options(None)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(done.completed_chain.as_ref().unwrap().name, "U2F only");
}

#[test]
fn cancel_during_the_touch_wait_of_a_fido2_logon() {
    let sim = simulator();
    let client = client(&sim);
    let key = key(demo::VIRTUAL_KEY_SEED, Protocols::Ctap2Only);
    key.set_presence(Presence::OnDemand);
    let devices = plugged(&key);
    let mut logon = client.start_logon(demo::USER, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    let cancel = logon.cancel_token();
    let (options, prompts) = recorded_options(Duration::from_secs(60));
    let signer = thread::spawn(move || logon.sign_with_device(&devices, &options).map(drop));
    prompts.wait_for(Prompt::TouchKey);
    assert!(key.wait_for_touch_request(fido_support::HANG_GUARD));
    cancel.cancel();
    let error = without_hanging(move || signer.join().unwrap()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Cancelled, "{error}");
    assert!(key.cancels_seen() >= 1, "CTAPHID_CANCEL sent to the key");
}

#[test]
fn a_ctap1_key_and_a_ctap2_only_key_plugged_together_the_touched_one_logs_on() {
    let sim = simulator();
    let client = client(&sim);
    // Two keys of the demo seed, so both own the demo user's U2F key handle: one speaks only U2F,
    // the other only CTAP2. Both blink; the user touches the CTAP2 one.
    let ctap1 = key(demo::VIRTUAL_KEY_SEED, Protocols::U2fOnly);
    let ctap2 = key(demo::VIRTUAL_KEY_SEED, Protocols::Ctap2Only);
    for k in [&ctap1, &ctap2] {
        k.set_presence(Presence::OnDemand);
    }
    let devices = VirtualDevices::new();
    devices.insert(ctap1.clone());
    devices.insert(ctap2.clone());
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let (waiting_ctap1, waiting_ctap2) = (ctap1.clone(), ctap2.clone());
    let touch = thread::spawn(move || {
        assert!(waiting_ctap1.wait_for_touch_request(fido_support::HANG_GUARD));
        assert!(waiting_ctap2.wait_for_touch_request(fido_support::HANG_GUARD));
        waiting_ctap2.touch();
    });
    let done = logon.sign_with_device(&devices, &options(None)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    touch.join().unwrap();
    // The CTAP2 key signed twice: its silent ownership check (up=false) and the touched assertion;
    // the untouched U2F key never signed.
    assert_eq!((ctap1.counter(), ctap2.counter()), (0, 2));
}

// ---------------------------------------------------------------------------------------------
// An implementation nobody here wrote checks our output: python-fido2.

/// Every report the host writes, kept for decoding afterwards.
struct Recording {
    inner: VirtualDevices,
    written: Arc<Mutex<Vec<aa_logon::fido::Report>>>,
}

struct RecordingTransport {
    inner: Box<dyn aa_logon::fido::HidTransport>,
    written: Arc<Mutex<Vec<aa_logon::fido::Report>>>,
}

impl aa_logon::DeviceProvider for Recording {
    fn list(&self) -> aa_logon::Result<Vec<aa_logon::fido::DeviceInfo>> {
        self.inner.list()
    }

    fn open(&self, path: &str) -> aa_logon::Result<Box<dyn aa_logon::fido::HidTransport>> {
        Ok(Box::new(RecordingTransport { inner: self.inner.open(path)?, written: self.written.clone() }))
    }
}

impl aa_logon::fido::HidTransport for RecordingTransport {
    fn write_report(&mut self, report: &aa_logon::fido::Report) -> aa_logon::Result<()> {
        self.written.lock().unwrap().push(*report);
        self.inner.write_report(report)
    }

    fn read_report(&mut self, timeout: Duration) -> aa_logon::Result<Option<aa_logon::fido::Report>> {
        self.inner.read_report(timeout)
    }
}

/// The CTAPHID_CBOR request payloads among `reports`, reassembled.
fn cbor_requests(reports: &[aa_logon::fido::Report]) -> Vec<Vec<u8>> {
    let mut requests = Vec::new();
    let mut partial: Option<(usize, Vec<u8>)> = None;
    for report in reports {
        if report[4] & 0x80 != 0 {
            partial = None;
            if report[4] == 0x90 {
                let length = usize::from(u16::from_be_bytes([report[5], report[6]]));
                partial = Some((length, report[7..].to_vec()));
            }
        } else if let Some((_, data)) = partial.as_mut() {
            data.extend_from_slice(&report[5..]);
        }
        if let Some((length, data)) = &partial {
            if data.len() >= *length {
                requests.push(data[..*length].to_vec());
                partial = None;
            }
        }
    }
    requests
}

/// `python3` when it can import python-fido2; `None` after a loud skip notice (a failure with
/// AA_REQUIRE_ALL=1).
fn python_with_fido2() -> Option<&'static str> {
    let found = std::process::Command::new("python3")
        .args(["-c", "import fido2.server, fido2.ctap1"])
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        return Some("python3");
    }
    let message = "python-fido2 is not installed (pip install fido2)";
    assert!(std::env::var("AA_REQUIRE_ALL").as_deref() != Ok("1"), "{message} and AA_REQUIRE_ALL=1");
    eprintln!("SKIPPED python_fido2_checks_our_requests_and_answers: {message}");
    None
}

#[test]
fn python_fido2_checks_our_requests_and_answers() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let Some(python) = python_with_fido2() else { return };
    let sim = simulator();
    let client = client(&sim);
    let written = Arc::new(Mutex::new(Vec::new()));

    // FIDO2:1 with the PIN flow (protocol 2), for a policy that requires verification.
    let fido2_key = key(demo::FIDO2_UV_KEY_SEED, Protocols::Ctap2Only);
    fido2_key.set_pin(Some(PIN));
    let devices = Recording { inner: plugged(&fido2_key), written: written.clone() };
    let (pin, _) = answering(PIN);
    let mut logon = client.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1").unwrap();
    assert_eq!(logon.sign_with_device(&devices, &options(Some(pin))).unwrap().status, LogonStatus::Ok);
    let assertion = logon.last_fido2_assertion().unwrap().clone();
    let credential = fido2_key.make_credential(demo::FIDO2_RP_ID, b"carol");

    // U2F:1 answered by a key without CTAP1.
    let u2f_key = key(demo::VIRTUAL_KEY_SEED, Protocols::Ctap2Only);
    let devices = Recording { inner: plugged(&u2f_key), written: written.clone() };
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let challenge = logon.gather_sign_request().unwrap().sign_requests[0].challenge.clone();
    assert_eq!(logon.sign_with_device(&devices, &options(None)).unwrap().status, LogonStatus::Ok);
    let sign_response = logon.last_sign_response().unwrap().clone();

    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let requests: Vec<String> = cbor_requests(&written.lock().unwrap())
        .iter()
        .map(|r| r.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let case = serde_json::json!({
        "cbor_requests": requests,
        "fido2": {
            "rp_id": assertion.rp_id,
            "origin": sim.base_url().trim_end_matches('/'),
            "uv_required": true,
            "credential_id": b64(&assertion.credential_id),
            "public_key_cose": b64(&credential.public_key_cose),
            "client_data_json": b64(&assertion.client_data_json),
            "authenticator_data": b64(&assertion.authenticator_data),
            "signature": b64(&assertion.signature),
        },
        "u2f": {
            "app_id": demo::APP_ID,
            "challenge": challenge,
            "public_key": b64(&u2f_key.enrollment(demo::APP_ID).public_key),
            "sign_response": sign_response,
        },
    });
    let path = std::env::temp_dir().join(format!("aa-logon-python-fido2-{}.json", std::process::id()));
    std::fs::write(&path, case.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python_fido2/verify.py");
    let output = std::process::Command::new(python).arg(&script).arg(&path).output().expect("python3 runs");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("all checks passed"),
        "python-fido2 refused our output:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
