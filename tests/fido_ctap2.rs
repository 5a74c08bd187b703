//! The CTAP2 side of the host stack against virtual keys speaking real CTAPHID_CBOR: U2F:1 sign
//! requests answered by keys without CTAP1, FIDO2 assertions with and without PIN or built-in
//! UV, the PIN statuses, cancel during a touch wait (CTAPHID_CANCEL), keys of both kinds side by
//! side, and the number of reports each exchange takes (printed for the closing note).

mod fido_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use aa_logon::fido::{
    self, Assertion, AssertionRequest, DeviceInfo, DeviceProvider, HidTransport, PinCallback, PinRequest, Report,
    SignOptions, UserVerification,
};
use aa_logon::{CancelToken, DeviceCode, ErrorKind, Prompt, Secret};
use aa_virtual_key::{Presence, Protocols, VirtualDevices, VirtualKey};
use fido_support::{options, request_for, verify, wait_until_blinking, without_hanging, APP_ID};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

const RP_ID: &str = "aa.example.com";
const PIN: &str = "1234";

fn ctap2_only(seed: &[u8]) -> VirtualKey {
    VirtualKey::with_protocols(seed, Protocols::Ctap2Only)
}

fn plugged(keys: &[&VirtualKey]) -> VirtualDevices {
    let devices = VirtualDevices::new();
    for key in keys {
        devices.insert((*key).clone());
    }
    devices
}

/// A FIDO2 request for the credential `key` holds for [`RP_ID`], and that credential's public key.
fn assertion_request(key: &VirtualKey, uv: UserVerification) -> (AssertionRequest, VerifyingKey) {
    let credential = key.make_credential(RP_ID, b"user-1");
    let request = AssertionRequest {
        rp_id: RP_ID.into(),
        client_data_hash: Sha256::digest(b"{\"type\":\"webauthn.get\"}").into(),
        allow_credentials: vec![credential.credential_id.clone()],
        user_verification: uv,
    };
    (request, VerifyingKey::from_sec1_bytes(&credential.public_key_sec1).unwrap())
}

/// Checks an assertion the way a WebAuthn relying party does: rpIdHash, flags, signature over
/// authenticatorData ‖ clientDataHash with the credential's public key.
fn check_assertion(assertion: &Assertion, request: &AssertionRequest, public_key: &VerifyingKey, uv: bool) {
    assert_eq!(assertion.credential_id, request.allow_credentials[0]);
    assert_eq!(assertion.authenticator_data[..32], Sha256::digest(RP_ID.as_bytes())[..]);
    let flags = assertion.authenticator_data[32];
    assert_eq!(flags & 0x01, 0x01, "user present");
    assert_eq!(flags & 0x04 != 0, uv, "user verified: flags {flags:02x}");
    let mut signed = assertion.authenticator_data.clone();
    signed.extend_from_slice(&request.client_data_hash);
    public_key.verify(&signed, &Signature::from_der(&assertion.signature).unwrap()).expect("signature verifies");
}

/// A PIN callback that answers `pin` and records the retries it was told.
fn pin_callback(pin: &'static str) -> (PinCallback, Arc<Mutex<Vec<u32>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = asked.clone();
    let callback: PinCallback = Arc::new(move |request: &PinRequest| {
        record.lock().unwrap().push(request.retries_left);
        Some(Secret::from(pin))
    });
    (callback, asked)
}

fn with_pin(mut options: SignOptions, pin: PinCallback) -> SignOptions {
    options.pin = Some(pin);
    options
}

#[test]
fn u2f_sign_requests_are_answered_by_a_key_without_ctap1() {
    let key = ctap2_only(b"ctap2-only");
    let devices = plugged(&[&key]);
    let request = request_for(&key);
    let (options, prompts) = options(Duration::from_secs(10));
    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();
    // Byte-identical to what U2F AUTHENTICATE gives: verifies with the U2F enrollment's key.
    let counter = verify(&response, &request, &key.enrollment(APP_ID).public_key);
    assert_eq!(counter, key.counter());
    assert_eq!(prompts.seen(), [Prompt::TouchKey, Prompt::Touched]);
}

#[test]
fn a_key_with_both_protocols_keeps_answering_over_ctap1() {
    let key = VirtualKey::with_protocols(b"both", Protocols::Both);
    let devices = plugged(&[&key]);
    let request = request_for(&key);
    let (options, _) = options(Duration::from_secs(10));
    let response = fido::sign(&devices, std::slice::from_ref(&request), &options).unwrap();
    verify(&response, &request, &key.enrollment(APP_ID).public_key);
}

#[test]
fn fido2_assertion_without_pin() {
    let key = ctap2_only(b"fido2");
    let devices = plugged(&[&key]);
    let (request, public_key) = assertion_request(&key, UserVerification::Discouraged);
    let (options, _) = options(Duration::from_secs(10));
    let assertion = fido::get_assertion(&devices, &request, &options).unwrap();
    check_assertion(&assertion, &request, &public_key, false);
}

#[test]
fn fido2_assertion_with_pin_asks_once_with_the_retries() {
    let key = ctap2_only(b"fido2-pin");
    key.set_pin(Some(PIN));
    let devices = plugged(&[&key]);
    let (request, public_key) = assertion_request(&key, UserVerification::Required);
    let (pin, asked) = pin_callback(PIN);
    let (options, _) = options(Duration::from_secs(10));
    let assertion = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap();
    check_assertion(&assertion, &request, &public_key, true);
    assert_eq!(*asked.lock().unwrap(), [8]);
    assert_eq!(key.pin_retries(), 8);
}

#[test]
fn preferred_verification_never_asks_for_the_pin() {
    let key = ctap2_only(b"fido2-preferred");
    key.set_pin(Some(PIN));
    let devices = plugged(&[&key]);
    let (request, public_key) = assertion_request(&key, UserVerification::Preferred);
    let (pin, asked) = pin_callback(PIN);
    let (options, _) = options(Duration::from_secs(10));
    let assertion = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap();
    check_assertion(&assertion, &request, &public_key, false);
    assert!(asked.lock().unwrap().is_empty());
}

#[test]
fn a_wrong_pin_says_so_with_the_retries_left() {
    let key = ctap2_only(b"fido2-wrong");
    key.set_pin(Some(PIN));
    let devices = plugged(&[&key]);
    let (request, _) = assertion_request(&key, UserVerification::Required);
    let (pin, _) = pin_callback("9999");
    let (options, _) = options(Duration::from_secs(10));
    let error = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinInvalid, "{error}");
    assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x31)));
    assert!(error.message().contains("7 retries left"), "{error}");
    assert!(!error.message().contains("9999"), "the PIN never appears: {error}");
    assert_eq!(key.pin_retries(), 7);
}

#[test]
fn a_blocked_pin_is_reported_without_asking_for_it() {
    let key = ctap2_only(b"fido2-blocked");
    key.set_pin(Some(PIN));
    key.set_pin_retries(0);
    let devices = plugged(&[&key]);
    let (request, _) = assertion_request(&key, UserVerification::Required);
    let (pin, asked) = pin_callback(PIN);
    let (options, _) = options(Duration::from_secs(10));
    let error = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinBlocked, "{error}");
    assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x32)));
    assert!(asked.lock().unwrap().is_empty());
}

#[test]
fn required_verification_without_a_pin_callback_is_pin_required() {
    let key = ctap2_only(b"fido2-no-callback");
    key.set_pin(Some(PIN));
    let devices = plugged(&[&key]);
    let (request, _) = assertion_request(&key, UserVerification::Required);
    let (options, _) = options(Duration::from_secs(10));
    let error = fido::get_assertion(&devices, &request, &options).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinRequired, "{error}");
    assert_eq!(key.pin_retries(), 8, "no retry was spent");

    // A callback that declines is the same.
    let declining: PinCallback = Arc::new(|_: &PinRequest| None);
    let (options, _) = self::options(Duration::from_secs(10));
    let error = fido::get_assertion(&devices, &request, &with_pin(options, declining)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinRequired, "{error}");

    // A key without PIN and without built-in UV cannot verify the user at all.
    let bare = ctap2_only(b"fido2-bare");
    let (request, _) = assertion_request(&bare, UserVerification::Required);
    let (pin, asked) = pin_callback(PIN);
    let (options, _) = self::options(Duration::from_secs(10));
    let error = fido::get_assertion(&plugged(&[&bare]), &request, &with_pin(options, pin)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PinRequired, "{error}");
    assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x35)));
    assert!(asked.lock().unwrap().is_empty());
}

#[test]
fn built_in_uv_goes_first_and_its_failure_has_its_own_kind() {
    let key = ctap2_only(b"fido2-uv");
    key.set_pin(Some(PIN));
    key.set_uv(true, true);
    let devices = plugged(&[&key]);
    let (request, public_key) = assertion_request(&key, UserVerification::Required);
    let (pin, asked) = pin_callback(PIN);
    let (options, _) = options(Duration::from_secs(10));
    let assertion = fido::get_assertion(&devices, &request, &with_pin(options.clone(), pin.clone())).unwrap();
    check_assertion(&assertion, &request, &public_key, true);
    assert!(asked.lock().unwrap().is_empty(), "built-in UV, no PIN");

    key.set_uv(true, false);
    let error = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UvFailed, "{error}");
    assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x3F)));
}

#[test]
fn cancel_during_a_ctap2_touch_wait_sends_ctaphid_cancel() {
    let key = ctap2_only(b"fido2-cancel");
    key.set_presence(Presence::OnDemand);
    let devices = plugged(&[&key]);
    let (request, _) = assertion_request(&key, UserVerification::Discouraged);
    let (mut options, prompts) = options(Duration::from_secs(60));
    let cancel = CancelToken::new();
    options.cancel = cancel.clone();
    let signer = thread::spawn(move || fido::get_assertion(&devices, &request, &options));
    // The user is told to touch only once the key asked for it (KEEPALIVE UPNEEDED).
    prompts.wait_for(Prompt::TouchKey);
    assert!(key.is_waiting_for_touch());
    cancel.cancel();
    let error = without_hanging(move || signer.join().unwrap()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Cancelled, "{error}");
    assert!(key.cancels_seen() >= 1, "CTAPHID_CANCEL sent");
    assert!(!key.is_waiting_for_touch(), "the key stopped waiting");
}

#[test]
fn a_ctap1_key_and_a_ctap2_only_key_the_touched_owner_wins() {
    for touched_is_ctap2 in [true, false] {
        let ctap1 = VirtualKey::with_protocols(b"mixed-u2f", Protocols::U2fOnly);
        let ctap2 = ctap2_only(b"mixed-ctap2");
        for key in [&ctap1, &ctap2] {
            key.set_presence(Presence::OnDemand);
        }
        let devices = plugged(&[&ctap1, &ctap2]);
        let requests = vec![request_for(&ctap1), request_for(&ctap2)];
        let (options, _) = options(Duration::from_secs(60));
        let signing = requests.clone();
        let signer = thread::spawn(move || fido::sign(&devices, &signing, &options));
        // Both blink; the user touches one of them.
        wait_until_blinking(&ctap1);
        wait_until_blinking(&ctap2);
        let (winner, index) = if touched_is_ctap2 { (&ctap2, 1) } else { (&ctap1, 0) };
        winner.touch();
        let response = without_hanging(move || signer.join().unwrap()).unwrap();
        verify(&response, &requests[index], &winner.enrollment(APP_ID).public_key);
        if !touched_is_ctap2 {
            assert!(ctap2.cancels_seen() >= 1, "the untouched CTAP2 key's request was cancelled");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Report counts (figures for the closing note).

/// Counts every report in both directions, by the CTAPHID command of the init packets sent.
#[derive(Default)]
struct Counts {
    written: AtomicUsize,
    read: AtomicUsize,
}

struct Counting {
    inner: VirtualDevices,
    counts: Arc<Counts>,
}

struct CountingTransport {
    inner: Box<dyn HidTransport>,
    counts: Arc<Counts>,
}

impl DeviceProvider for Counting {
    fn list(&self) -> aa_logon::Result<Vec<DeviceInfo>> {
        self.inner.list()
    }

    fn open(&self, path: &str) -> aa_logon::Result<Box<dyn HidTransport>> {
        Ok(Box::new(CountingTransport { inner: self.inner.open(path)?, counts: self.counts.clone() }))
    }
}

impl HidTransport for CountingTransport {
    fn write_report(&mut self, report: &Report) -> aa_logon::Result<()> {
        self.counts.written.fetch_add(1, Ordering::SeqCst);
        self.inner.write_report(report)
    }

    fn read_report(&mut self, timeout: Duration) -> aa_logon::Result<Option<Report>> {
        let report = self.inner.read_report(timeout)?;
        if report.is_some() {
            self.counts.read.fetch_add(1, Ordering::SeqCst);
        }
        Ok(report)
    }
}

fn counted(key: &VirtualKey, run: impl FnOnce(&Counting)) -> (usize, usize) {
    let counting = Counting { inner: plugged(&[key]), counts: Arc::new(Counts::default()) };
    run(&counting);
    (counting.counts.written.load(Ordering::SeqCst), counting.counts.read.load(Ordering::SeqCst))
}

#[test]
fn report_counts_of_a_get_assertion_and_of_the_pin_flow() {
    // Presence::Always: the key answers without KEEPALIVE, so the counts are the exchange itself.
    let plain = ctap2_only(b"count-plain");
    let (request, _) = assertion_request(&plain, UserVerification::Discouraged);
    let (options, _) = options(Duration::from_secs(10));
    let (plain_out, plain_in) = counted(&plain, |devices| {
        fido::get_assertion(devices, &request, &options).unwrap();
    });

    let pinned = ctap2_only(b"count-pin");
    pinned.set_pin(Some(PIN));
    let (request, _) = assertion_request(&pinned, UserVerification::Required);
    let (pin, _) = pin_callback(PIN);
    let (options, _) = self::options(Duration::from_secs(10));
    let options = with_pin(options, pin);
    let (pin_out, pin_in) = counted(&pinned, |devices| {
        fido::get_assertion(devices, &request, &options).unwrap();
    });

    let u2f_over_ctap2 = ctap2_only(b"count-u2f");
    let u2f_request = request_for(&u2f_over_ctap2);
    let (options, _) = self::options(Duration::from_secs(10));
    let (u2f_out, u2f_in) = counted(&u2f_over_ctap2, |devices| {
        fido::sign(devices, std::slice::from_ref(&u2f_request), &options).unwrap();
    });

    println!("reports (host->key / key->host), INIT + getInfo + silent probe + getAssertion:");
    println!("  FIDO2 getAssertion, no PIN:       {plain_out} / {plain_in}");
    println!("  FIDO2 getAssertion with PIN flow: {pin_out} / {pin_in}");
    println!("  PIN flow alone (difference):      {} / {}", pin_out - plain_out, pin_in - plain_in);
    println!("  U2F:1 answered over CTAP2:        {u2f_out} / {u2f_in}");
    // The PIN flow adds getPinRetries, getKeyAgreement and getPinUvAuthToken (3 requests, their
    // answers) and makes the getAssertion longer (pinUvAuthParam): a handful of reports, not more.
    assert!(pin_out > plain_out && pin_out - plain_out <= 8, "{pin_out} vs {plain_out}");
    assert!(pin_in > plain_in && pin_in - plain_in <= 8, "{pin_in} vs {plain_in}");
}
