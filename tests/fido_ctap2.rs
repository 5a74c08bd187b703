//! The CTAP2 side of the host stack against virtual keys speaking real CTAPHID_CBOR: U2F:1 sign
//! requests answered by keys without CTAP1, FIDO2 assertions with and without PIN or built-in
//! UV, the PIN statuses, cancel during a touch wait (CTAPHID_CANCEL), keys of both kinds side by
//! side, and the number of reports each exchange takes (printed for the closing note).

mod fido_support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use aa_logon::fido::{
    self, Assertion, AssertionRequest, DeviceInfo, DeviceProvider, HidTransport, PinCallback, PinRequest,
    Report, SignOptions, UserVerification,
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
    public_key
        .verify(&signed, &Signature::from_der(&assertion.signature).unwrap())
        .expect("signature verifies");
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
    // Presence::Always: the key signs at once, never asking for a touch (no KEEPALIVE UPNEEDED),
    // so no TouchKey prompt (the cancel test shows it when the key does wait).
    assert_eq!(prompts.seen(), [Prompt::Touched]);
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

/// Every message the host sent, labelled by its CTAPHID (and CTAP2) command, with the reports it
/// took and the reports read until the next message.
#[derive(Default)]
struct Exchanges(Mutex<Vec<(String, usize, usize)>>);

impl Exchanges {
    fn wrote(&self, report: &Report) {
        let mut log = self.0.lock().unwrap();
        if report[4] & 0x80 == 0 {
            if let Some(last) = log.last_mut() {
                last.1 += 1;
            }
            return;
        }
        let label = match report[4] & 0x7F {
            0x06 => "INIT".to_owned(),
            0x11 => "CANCEL".to_owned(),
            0x03 => "MSG".to_owned(),
            0x10 => match report[7] {
                // The flow's first getAssertion is the silent ownership check, the next the real one.
                0x02 if log.iter().any(|(label, ..)| label.starts_with("getAssertion")) => {
                    "getAssertion (up=true)".to_owned()
                }
                0x02 => "getAssertion (up=false)".to_owned(),
                0x04 => "getInfo".to_owned(),
                // 07 a? 01 0P 02 SS: the clientPIN subcommand is the value of key 2.
                0x06 => format!("clientPIN sub 0x{:02x}", report[12]),
                other => format!("CBOR 0x{other:02x}"),
            },
            other => format!("CMD 0x{other:02x}"),
        };
        log.push((label, 1, 0));
    }

    fn read(&self) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.2 += 1;
        }
    }

    fn total(&self) -> (usize, usize) {
        self.0.lock().unwrap().iter().fold((0, 0), |(o, i), (_, out, inn)| (o + out, i + inn))
    }

    fn of(&self, prefix: &str) -> (usize, usize) {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(label, ..)| label.starts_with(prefix))
            .fold((0, 0), |(o, i), (_, out, inn)| (o + out, i + inn))
    }

    fn print(&self, title: &str) {
        println!("{title}:");
        for (label, out, inn) in self.0.lock().unwrap().iter() {
            println!("    {label:<24} {out:>2} out {inn:>2} in");
        }
    }
}

struct Counting {
    inner: VirtualDevices,
    exchanges: Arc<Exchanges>,
}

struct CountingTransport {
    inner: Box<dyn HidTransport>,
    exchanges: Arc<Exchanges>,
}

impl DeviceProvider for Counting {
    fn list(&self) -> aa_logon::Result<Vec<DeviceInfo>> {
        self.inner.list()
    }

    fn open(&self, path: &str) -> aa_logon::Result<Box<dyn HidTransport>> {
        Ok(Box::new(CountingTransport { inner: self.inner.open(path)?, exchanges: self.exchanges.clone() }))
    }
}

impl HidTransport for CountingTransport {
    fn write_report(&mut self, report: &Report) -> aa_logon::Result<()> {
        self.exchanges.wrote(report);
        self.inner.write_report(report)
    }

    fn read_report(&mut self, timeout: Duration) -> aa_logon::Result<Option<Report>> {
        let report = self.inner.read_report(timeout)?;
        if report.is_some() {
            self.exchanges.read();
        }
        Ok(report)
    }
}

fn counted(key: &VirtualKey, run: impl FnOnce(&Counting)) -> Arc<Exchanges> {
    let counting = Counting { inner: plugged(&[key]), exchanges: Arc::new(Exchanges::default()) };
    run(&counting);
    counting.exchanges
}

#[test]
fn report_counts_of_a_get_assertion_and_of_the_pin_flow() {
    // Presence::Always: the key answers without KEEPALIVE, so the counts are the exchange itself.
    let plain = ctap2_only(b"count-plain");
    let (request, _) = assertion_request(&plain, UserVerification::Discouraged);
    let (options, _) = options(Duration::from_secs(10));
    let plain = counted(&plain, |devices| {
        fido::get_assertion(devices, &request, &options).unwrap();
    });

    let pinned = ctap2_only(b"count-pin");
    pinned.set_pin(Some(PIN));
    let (request, _) = assertion_request(&pinned, UserVerification::Required);
    let (pin, _) = pin_callback(PIN);
    let (options, _) = self::options(Duration::from_secs(10));
    let options = with_pin(options, pin);
    let pinned = counted(&pinned, |devices| {
        fido::get_assertion(devices, &request, &options).unwrap();
    });

    let waiting = ctap2_only(b"count-touch");
    waiting.set_presence(Presence::OnDemand);
    let (request, _) = assertion_request(&waiting, UserVerification::Discouraged);
    let (options, prompts) = self::options(Duration::from_secs(30));
    let toucher = waiting.clone();
    let touched = thread::spawn(move || {
        prompts.wait_for(Prompt::TouchKey);
        toucher.touch();
    });
    let waited = counted(&waiting, |devices| {
        fido::get_assertion(devices, &request, &options).unwrap();
    });
    touched.join().unwrap();

    plain.print("FIDO2 assertion without PIN (reports host->key, key->host)");
    pinned.print("FIDO2 assertion with the PIN flow");
    waited.print("FIDO2 assertion waiting for a touch (KEEPALIVE while waiting)");
    let (get_out, get_in) = plain.of("getAssertion");
    let (pin_out, pin_in) = pinned.of("clientPIN");
    println!("getAssertion exchange (silent probe + signed): {get_out} out / {get_in} in");
    println!("PIN flow (getPinRetries, getKeyAgreement, getPinUvAuthToken): {pin_out} out / {pin_in} in");
    println!("whole sign: without PIN {:?}, with PIN {:?}", plain.total(), pinned.total());
    assert_eq!(pinned.of("clientPIN sub").0, pin_out);
    assert!(pin_out >= 3 && pin_in >= 3, "three clientPIN requests and answers");
    assert!(waited.of("getAssertion").1 > get_in, "KEEPALIVE reports while waiting");
}

#[test]
fn a_slow_key_is_asked_for_its_pin_once_and_loses_no_retry() {
    use aa_virtual_key::Fault;
    let key = ctap2_only(b"fido2-slow");
    key.set_pin(Some(PIN));
    let devices = plugged(&[&key]);
    let (request, public_key) = assertion_request(&key, UserVerification::Required);
    let asked = Arc::new(Mutex::new(0));
    let (slow, count) = (key.clone(), asked.clone());
    // While the user "types", the key becomes slow: the key agreement and the token exchange each
    // take longer than a turn's budget (KEEPALIVE PROCESSING meanwhile). Neither may be cut short
    // and sent again: a PIN attempt sent twice could cost two retries.
    let pin: PinCallback = Arc::new(move |_: &PinRequest| {
        *count.lock().unwrap() += 1;
        slow.inject_fault(Fault::SlowKeepalive(Duration::from_millis(1500)));
        slow.inject_fault(Fault::SlowKeepalive(Duration::from_millis(1500)));
        Some(Secret::from(PIN))
    });
    let (options, _) = options(Duration::from_secs(30));
    let assertion = fido::get_assertion(&devices, &request, &with_pin(options, pin)).unwrap();
    check_assertion(&assertion, &request, &public_key, true);
    assert_eq!(*asked.lock().unwrap(), 1, "the PIN was asked for once");
    assert_eq!(key.pin_retries(), 8);
}
