//! A hostile or broken AA server, and hostile configuration: the verdict never fails open, no key
//! is touched for nothing, bad configuration strings are refused up front, TLS errors say why.

mod logon_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aa_logon::aa::log_filter;
use aa_logon::fido::{DeviceInfo, DeviceProvider, HidTransport};
use aa_logon::{Client, ErrorKind, LogonStatus, Result, Secret, SignOptions};
use aa_sim::{demo, Fault, FaultRule, SimConfig, Simulator, TlsMode};
use aa_virtual_key::{VirtualDevices, VirtualKey};
use logon_support::{config, simulator};
use serde_json::{json, Map, Value};

/// A device provider that counts every use: a sign that never reaches it touched no key.
#[derive(Default)]
struct Untouchable {
    uses: AtomicUsize,
}

impl Untouchable {
    fn uses(&self) -> usize {
        self.uses.load(Ordering::SeqCst)
    }
}

impl DeviceProvider for Untouchable {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        self.uses.fetch_add(1, Ordering::SeqCst);
        Ok(Vec::new())
    }

    fn open(&self, _path: &str) -> Result<Box<dyn HidTransport>> {
        self.uses.fetch_add(1, Ordering::SeqCst);
        Err(aa_logon::Error::new(ErrorKind::NoDevice, "untouchable"))
    }
}

fn options() -> SignOptions {
    SignOptions { timeout: Duration::from_secs(10), ..SignOptions::default() }
}

fn short_options() -> SignOptions {
    SignOptions { timeout: Duration::from_millis(300), ..SignOptions::default() }
}

fn demo_devices() -> VirtualDevices {
    let devices = VirtualDevices::new();
    devices.insert(VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes()));
    devices
}

/// A client of the demo simulator that accepts the simulator's appId.
fn trusting_client(sim: &Simulator) -> Client {
    let mut config = config(sim);
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    Client::new(config).expect("client builds")
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

/// The next answer to `path_pattern` gets `rewrite` merged into it (the request itself runs).
fn rewrite_once(sim: &Simulator, path_pattern: &str, rewrite: Value) {
    sim.inject_fault(FaultRule {
        method: Some("POST".into()),
        path_pattern: path_pattern.into(),
        fault: Fault::Rewrite(fields(rewrite)),
        times: Some(1),
    });
}

const DO_LOGON: &str = "/api/v1/logon/*/do_logon";

// --- 1. The verdict after a signature or an answer never fails open. ---------------------------

#[test]
fn a_signature_answered_with_anything_but_ok_or_next_is_an_error() {
    let sim = simulator();
    let client = trusting_client(&sim);
    let devices = demo_devices();
    for (status, kind) in [
        ("MORE_DATA", ErrorKind::LogonFailed),
        ("PENDING", ErrorKind::MalformedServerData),
        ("", ErrorKind::MalformedServerData),
        ("ok", ErrorKind::MalformedServerData),
    ] {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
        logon.gather_sign_request().unwrap();
        rewrite_once(&sim, DO_LOGON, json!({ "status": status }));
        let outcome = logon.sign_with_device(&devices, &options()).map(|r| r.status.clone());
        let e = outcome.expect_err(&format!("status {status:?} after a signature must not be success"));
        assert_eq!(e.kind(), kind, "{status:?}: {e}");
        assert!(
            e.message().contains(&format!("({status})")) || e.message().contains(&format!("{status:?}")),
            "{e}"
        );
        assert_eq!(logon.response().status.as_str(), status);
        assert!(logon.response().login_session_id.is_some(), "the real verdict was OK; it was rewritten");
    }
}

#[test]
fn a_forwarded_sign_response_answered_pending_is_an_error() {
    let sim = simulator();
    let client = trusting_client(&sim);
    let devices = demo_devices();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let requests = logon.gather_sign_request().unwrap().sign_requests.clone();
    let signed = aa_logon::fido::sign(&devices, &requests, &options()).unwrap();
    rewrite_once(&sim, DO_LOGON, json!({ "status": "PENDING" }));
    let e = logon.forward_sign_response(&signed).map(|r| r.status.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    assert!(e.message().contains("PENDING"), "{e}");
}

#[test]
fn an_answer_with_an_unknown_status_is_an_error_and_more_data_is_not_a_verdict() {
    let sim = simulator();
    let client = trusting_client(&sim);
    for status in ["PENDING", "", "Ok"] {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
        rewrite_once(&sim, DO_LOGON, json!({ "status": status }));
        let e = logon.answer(Secret::from(demo::PASSWORD)).map(|r| r.status.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{status:?}: {e}");
        assert_eq!(logon.response().status, LogonStatus::Other(status.into()));
    }
    // MORE_DATA after an answer: the server wants another answer (e.g. a RADIUS challenge). It is
    // reported as such and is no verdict: the logon goes on, and has no login session.
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    rewrite_once(&sim, DO_LOGON, json!({ "status": "MORE_DATA", "login_session_id": null }));
    let more = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(more.status, LogonStatus::MoreData);
    assert!(more.login_session_id.is_none());
    assert!(!logon.is_finished());
}

#[test]
fn an_unknown_status_is_never_success_on_start_next_or_request_challenge() {
    let sim = simulator();
    let client = trusting_client(&sim);
    rewrite_once(&sim, "/api/v1/logon", json!({ "status": "PENDING" }));
    let e = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "SMS_OTP:1").unwrap();
    rewrite_once(&sim, DO_LOGON, json!({ "status": "SENT" }));
    let e = logon.request_challenge().map(|r| r.status.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "LDAP_PASSWORD:1").unwrap();
    assert_eq!(logon.answer(Secret::from(demo::PASSWORD)).unwrap().status, LogonStatus::Next);
    rewrite_once(&sim, "/api/v1/logon/*/next", json!({ "status": "MAYBE" }));
    let e = logon.next("U2F:1").map(|r| r.status.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
}

// --- 3. A gather answered with a verdict never goes on to a key. -------------------------------

#[test]
fn a_gather_answered_with_a_verdict_never_touches_a_key() {
    let sim = simulator();
    let client = trusting_client(&sim);
    for (status, kind) in [
        ("OK", ErrorKind::MalformedServerData),
        ("NEXT", ErrorKind::MalformedServerData),
        ("FAILED", ErrorKind::LogonFailed),
        ("STOP", ErrorKind::LogonStopped),
    ] {
        let devices = Untouchable::default();
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
        // The real gather answer, sign requests included, with a verdict's status.
        rewrite_once(&sim, DO_LOGON, json!({ "status": status, "login_session_id": "forged" }));
        let e = logon.sign_with_device(&devices, &short_options()).map(|r| r.status.clone()).unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert_eq!(devices.uses(), 0, "{status}: a key was looked for");
        assert!(logon.sign_request().is_none(), "{status}");
    }
}

// --- 2. Configuration strings are checked where they enter. ------------------------------------

#[test]
fn header_breaking_strings_are_refused_when_the_client_is_built() {
    let sim = simulator();
    for bad in ["aa-logon/1\r\nX-Injected: 1", "a\nb", "tab\tis\tfine?\u{7f}", "caf\u{e9}", ""] {
        let mut config = config(&sim);
        config.user_agent = bad.into();
        let e = Client::new(config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
        assert!(e.message().contains("user agent"), "{e}");
        let mut config = logon_support::config(&sim);
        config.accept_language = Some(bad.into());
        assert_eq!(Client::new(config).unwrap_err().kind(), ErrorKind::Config, "{bad:?}");
    }
}

#[test]
fn base_urls_with_credentials_or_a_fragment_are_refused() {
    let sim = simulator();
    let host = sim.base_url().trim_start_matches("https://").to_owned();
    for bad in [
        format!("https://user:pass@{host}"),
        format!("https://user@{host}"),
        format!("https://{host}/#/tenant"),
        format!("https://{host}/api/v1#x"),
        format!("https://{host}/a b"),
        format!("https://{host}/\r\n"),
    ] {
        let mut config = config(&sim);
        config.base_url = bad.clone();
        let e = Client::new(config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
        assert!(!e.message().contains("user:pass@"), "the error must not repeat the credentials: {e}");
    }
}

#[test]
fn bad_proxy_urls_are_refused() {
    let sim = simulator();
    for bad in [
        "socks5://127.0.0.1:1080",
        "http://proxy.example:3128/#x",
        "http://proxy.example:3128/path?q=1",
        "http://proxy\r\n.example:3128",
        "proxy.example:3128",
    ] {
        let mut config = config(&sim);
        config.proxy = Some(bad.into());
        assert_eq!(Client::new(config).unwrap_err().kind(), ErrorKind::Config, "{bad}");
    }
}

// --- 4. A certificate for another host is reported as such. ------------------------------------

#[test]
fn a_certificate_for_another_host_is_reported_as_a_name_mismatch() {
    let sim = Simulator::start(SimConfig {
        tls: TlsMode::GeneratedFor { names: vec!["other.example".into()] },
        ..SimConfig::default()
    })
    .unwrap();
    let e = Client::new(config(&sim)).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let message = e.message().to_ascii_lowercase();
    assert!(message.contains("not valid for name") || message.contains("notvalidforname"), "{e}");
    assert!(!message.contains("unknownissuer") && !message.contains("unknown issuer"), "{e}");
}

// --- 7. The appId is checked before any key is touched. ----------------------------------------

#[test]
fn an_app_id_of_another_host_is_refused_before_any_key_is_touched() {
    // The demo fixture's appId is https://aa-sim.local; the client talks to https://127.0.0.1:….
    let sim = simulator();
    let client = Client::new(config(&sim)).unwrap();
    let devices = Untouchable::default();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    let e = logon.sign_with_device(&devices, &short_options()).map(|r| r.status.clone()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    assert!(e.message().contains("https://aa-sim.local") && e.message().contains("127.0.0.1"), "{e}");
    assert_eq!(devices.uses(), 0);
    assert!(logon.sign_request().is_none());
}

// --- 5. Logging at TRACE leaks no token or secret. ---------------------------------------------

/// A sink like the C ABI's and the CLI's: everything at TRACE, through `log_filter`.
struct CapturingLogger {
    lines: Mutex<Vec<String>>,
    dropped: AtomicUsize,
}

impl log::Log for CapturingLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        log_filter::enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        match log_filter::message(record) {
            Some(message) => {
                self.lines.lock().unwrap().push(format!("{} {}: {message}", record.level(), record.target()))
            }
            None => {
                self.dropped.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    fn flush(&self) {}
}

fn capturing_logger() -> &'static CapturingLogger {
    static LOGGER: OnceLock<&'static CapturingLogger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let logger: &'static CapturingLogger = Box::leak(Box::new(CapturingLogger {
            lines: Mutex::new(Vec::new()),
            dropped: AtomicUsize::new(0),
        }));
        log::set_logger(logger).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
        logger
    })
}

#[test]
fn a_whole_logon_logged_at_trace_shows_no_token_or_secret() {
    let logger = capturing_logger();
    let sim = simulator();
    let client = trusting_client(&sim);
    let chains = client.chains(demo::USER, demo::EVENT).unwrap();
    assert!(!chains.chains.is_empty());
    let first_session = client.endpoint_session_id().unwrap();
    sim.expire_endpoint_sessions(); // the renewal is logged too
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let process_id = logon.process_id().to_owned();
    let wrong = logon.answer(Secret::from("wrong-password-7")).unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::LogonFailed);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let second_process_id = logon.process_id().to_owned();
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    let login_session_id = done.login_session_id.clone().unwrap();
    client.login_session(&login_session_id).unwrap();
    client.logout(&login_session_id).unwrap();
    let second_session = client.endpoint_session_id().unwrap();
    assert_ne!(first_session, second_session);

    let lines = logger.lines.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.contains("aa_logon")), "our own lines were captured: {lines:#?}");
    assert!(logger.dropped.load(Ordering::SeqCst) > 0, "dependency TRACE records existed and were dropped");
    let all = lines.join("\n");
    for (what, secret) in [
        ("endpoint secret", demo::ENDPOINT_SECRET),
        ("first endpoint session id", first_session.as_str()),
        ("second endpoint session id", second_session.as_str()),
        ("logon process id", process_id.as_str()),
        ("second logon process id", second_process_id.as_str()),
        ("login session id", login_session_id.as_str()),
        ("password", demo::PASSWORD),
        ("wrong password", "wrong-password-7"),
    ] {
        assert!(!all.contains(secret), "the {what} {secret:?} is in the log:\n{all}");
    }
}
