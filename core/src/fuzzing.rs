//! Fuzzing entry points (feature `fuzzing`; no workspace member enables it, so no shipped build
//! contains this module). Each function takes arbitrary bytes, feeds them to the real parsers or
//! to the real FIDO host stack, and asserts what must hold whatever the input. The cargo-fuzz
//! targets in `fuzz/` call them; the tests at the bottom replay the committed seed corpora
//! (`fuzz/corpus/<target>/`) in every `cargo test --all-features`.
//!
//! The FIDO entry points drive [`sign`] and [`describe`] through the transport seam with a
//! scripted key. Nothing waits on the wall clock: the key answers from the input, serves at most
//! [`MAX_REPORTS`] reports per run, fails its transport once the input is used up, and cancels the
//! operation before any of the flow's pauses (CHANNEL_BUSY back-off, touch polling, re-scans)
//! could begin, so every run ends after a bounded number of reports. The deadline handed to the
//! flow ([`SAFETY_TIMEOUT`]) is only a backstop, and reaching it is itself reported as a failure.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::aa::{ChainsInfo, LoginSessionInfo, LogonResponse, U2fChallenge};
use crate::fido::{
    describe, sign, DeviceInfo, DeviceProvider, HidTransport, Prompt, Report, SignOptions, SignRequest,
    SignResponse, REPORT_LEN,
};
use crate::{CancelToken, Client, ClientConfig, Error, ErrorKind, Result, Secret, TlsOptions};

/// Most reports a scripted key serves in one run (a full-size reply takes 129).
pub const MAX_REPORTS: usize = 1024;
/// The backstop deadline of a fuzzed sign; a run that reaches it has waited on the clock.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(5);

/// The channel the scripted key allocates (the one of the libfido2 INIT capture).
const KEY_CID: u32 = 0x0022_0002;
const INIT_DATA_LEN: usize = REPORT_LEN - 7;
const CONT_DATA_LEN: usize = REPORT_LEN - 5;
const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + 128 * CONT_DATA_LEN;

const CMD_MSG: u8 = 0x03;
const CMD_INIT: u8 = 0x06;
const CMD_CANCEL: u8 = 0x11;
const CMD_KEEPALIVE: u8 = 0x3B;
const CMD_ERROR: u8 = 0x3F;
const ERR_CHANNEL_BUSY: u8 = 0x06;
/// INIT capabilities of the U2F-only scripted keys (WINK, no CBOR): their input is U2F traffic.
/// The `host_stack` key picks its capabilities from the input, CTAP2 (CBOR) included.
const U2F_ONLY: u8 = 0x01;

const INS_AUTHENTICATE: u8 = 0x02;
const INS_VERSION: u8 = 0x03;
const ENFORCE_PRESENCE: u8 = 0x03;
const CHECK_ONLY: u8 = 0x07;

/// The Google U2F sign vector (testdata/u2f-test-vectors.json) as AA would send it.
const VECTOR_APP_ID: &str = "https://gstatic.com/securitykey/a/example.com";
const VECTOR_CHALLENGE: &str = "opsXqUifDriAAmWclinfbS0e-USY0CgyJHe_Otd7z8o";
const VECTOR_KEY_HANDLE: &str =
    "KlUt_bdHftZf2EEz-GGWAQsiFbV9p10xW3uej-LjklpgGVUbq2HRZZFlnLrwC0lQ96v-ZmDi4Ab3aGi3ctcMJQ";
/// The sign request of the recorded AA gather answer (core/src/aa/model.rs tests).
const GATHER_APP_ID: &str = "https://164.99.184.45";
const GATHER_CHALLENGE: &str = "4ooKcq6hH4u3sG7IbF3GbPSL29Vm8bv08a3qmhBmz-Y";
const GATHER_KEY_HANDLE: &str =
    "UI_fGzKv4EJyl3cmIAzLGi3BXczy7sLOBmkhL-JS5Fs4pDpDwhKVnAkqwNg3M9wepdde0ywtrrYoh-QjTt7QYg";

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// CTAPHID reassembly: `data` is a stream of 64-byte reports (the last one zero-padded) that a key
/// sends after a correct INIT reply, read by a real U2F sign as the answers to its requests. The
/// key answers every INIT itself (the nonce is random), everything else comes from the stream.
pub fn ctaphid_reassembly(data: &[u8]) {
    let bench = Bench::new(1, 0, Box::new(RawStream { data: data.to_vec(), pos: 0 }));
    let outcome = bench.sign(&requests(1));
    outcome.check_common();
}

/// The whole host stack through the transport seam: the first byte picks 1–2 devices, 1–2 sign
/// requests and which devices fail to open; the rest is a script of key behaviours (INIT replies,
/// status words, payloads, signatures, CTAPHID errors, KEEPALIVEs, raw reports, silent reads,
/// transport failures), one per report read.
pub fn host_stack(data: &[u8]) {
    let Some((&header, script)) = data.split_first() else { return };
    let devices = 1 + usize::from(header & 1);
    let request_count = 1 + usize::from((header >> 1) & 1);
    let failing_open = (header >> 2) & 0b11;
    let bench = Bench::new(devices, failing_open, Box::new(Ops { script: Cursor::new(script) }));
    let outcome = bench.sign(&requests(request_count));
    outcome.check_common();
    if let Ok(response) = &outcome.result {
        let handles = [VECTOR_KEY_HANDLE, GATHER_KEY_HANDLE];
        assert!(handles[..request_count].contains(&response.key_handle.as_str()), "{response:?}");
    }
}

/// U2F reply parsing. An even first byte: the rest is the key's reply (data ‖ SW1 SW2) to the
/// enforce-presence AUTHENTICATE of a real sign, after a key that owns the handle; the sign must
/// succeed exactly when the reply is `9000` with a well-formed signatureData, and then carry
/// those bytes. An odd first byte: the rest is the reply to VERSION in a real `describe`.
pub fn u2f_reply(data: &[u8]) {
    let Some((&mode, payload)) = data.split_first() else { return };
    let payload = &payload[..payload.len().min(MAX_MESSAGE_LEN)];
    let behaviour = Box::new(U2fKey { reply: payload.to_vec() });
    if mode & 1 == 0 {
        let outcome = Bench::new(1, 0, behaviour).sign(&requests(1));
        outcome.check_common();
        let signature = expected_signature(payload);
        match (&outcome.result, signature) {
            (Ok(response), Some(signature)) => {
                assert_eq!(response.signature_data, URL_SAFE_NO_PAD.encode(signature));
                assert_eq!(response.key_handle, VECTOR_KEY_HANDLE);
                let client_data =
                    URL_SAFE_NO_PAD.decode(&response.client_data).expect("clientData base64url");
                let client_data: Value = serde_json::from_slice(&client_data).expect("clientData JSON");
                assert_eq!(client_data["typ"], "navigator.id.getAssertion");
                assert_eq!(client_data["challenge"], VECTOR_CHALLENGE);
                // The vector's appId has a path: clientData's origin is its facet.
                assert_eq!(client_data["origin"], "https://gstatic.com");
            }
            (Err(_), None) => {}
            (result, expected) => {
                panic!("sign gave {result:?} for a reply whose signature is {expected:02x?}")
            }
        }
    } else {
        let bench = Bench::new(1, 0, behaviour);
        let details = describe(&bench.devices(), &device_path(0));
        match (details, expected_version(payload)) {
            (Ok(details), Some(version)) => assert_eq!(details.u2f_version.as_deref(), Some(&*version)),
            (Err(e), None) => assert_eq!(e.kind(), ErrorKind::DeviceProtocol, "{e}"),
            (result, expected) => panic!("describe gave {result:?} where {expected:?} was expected"),
        }
    }
}

/// The do_logon answer model: `data` parsed as JSON, then every typed view of it, the U2F
/// challenge extraction, and the sign requests prepared by a sign that is already cancelled.
pub fn logon_model(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    if let Err(e) = ChainsInfo::from_json(&value) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    if let Err(e) = LoginSessionInfo::from_json(value.clone()) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    let response = match LogonResponse::from_json(value) {
        Ok(response) => response,
        Err(e) => return assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}"),
    };
    assert_eq!(Some(response.status.as_str()), response.raw["status"].as_str());
    assert_ne!(response.login_session_id.as_deref(), Some(""));
    let _ = response.is_final();
    let challenge = match U2fChallenge::from_response(&response) {
        Ok(challenge) => challenge,
        Err(e) => return assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}"),
    };
    assert!(!challenge.sign_requests.is_empty());
    // The appId policy of a client for the recorded server (its appId is the server's host).
    if let Err(e) = gather_client().app_ids().check_all(&challenge.sign_requests) {
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
    }
    // Preparing the requests (keyHandle base64url, clientData) happens before any device is asked.
    let cancel = CancelToken::new();
    cancel.cancel();
    let options = SignOptions { timeout: SAFETY_TIMEOUT, prompt: None, cancel, pin: None };
    let error = sign(&NoDevices, &challenge.sign_requests, &options).expect_err("a cancelled sign signed");
    assert!(matches!(error.kind(), ErrorKind::Cancelled | ErrorKind::MalformedServerData), "{error}");
}

/// The configuration checks of [`ClientConfig`] (base URL, user agent, Accept-Language, proxy URL,
/// appId hosts), [`Client::new`] (which also parses the extra CA PEM), the appId policy of the
/// client built, the log redactor, and the certificate parser of
/// [`spki_sha256`](crate::aa::spki_sha256). Fields
/// are separated by NUL bytes: flags, base URL, endpoint id, secret, proxy, user agent, language,
/// allowed appId host, appId, CA PEM; whatever follows is a DER certificate.
pub fn config_parsers(data: &[u8]) {
    let mut fields = data.splitn(11, |&b| b == 0);
    let flags = fields.next().and_then(|f| f.first().copied()).unwrap_or(0);
    let mut text = || String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let (base_url, endpoint_id, secret) = (text(), text(), text());
    let (proxy, user_agent, language) = (text(), text(), text());
    let (allowed_host, app_id) = (text(), text());
    let pem = fields.next().map(<[u8]>::to_vec);
    let der = fields.next().unwrap_or_default();

    // The log redactor (every log line passes it): the whole input as text, and the secret field
    // in the shapes it must always mask.
    check_redactor(&String::from_utf8_lossy(data));
    if secret.len() >= 8 && secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        for shape in [
            format!("password={secret}&x=1"),
            format!("{{\"endpoint_secret\": \"{secret}\"}}"),
            format!("https://user:{secret}@aa.example.com/api/v1"),
            format!("POST /api/v1/logon/{secret}/do_logon"),
        ] {
            let redacted = check_redactor(&shape);
            assert!(!redacted.contains(&secret), "{shape:?} redacted to {redacted:?}");
        }
    }

    let config_error = |result: Result<()>| {
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        }
    };
    config_error(ClientConfig::check_base_url(&base_url));
    config_error(ClientConfig::check_user_agent(&user_agent));
    config_error(ClientConfig::check_accept_language(&language));
    config_error(ClientConfig::check_proxy_url(&proxy));
    let normalized_host = ClientConfig::check_app_id_host(&allowed_host);
    match &normalized_host {
        Ok(host) => assert_eq!(ClientConfig::check_app_id_host(host).as_ref(), Ok(host), "not idempotent"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
    }

    let mut config = ClientConfig::new(base_url.clone(), endpoint_id, Secret::new(secret));
    config.proxy = (flags & 0x01 != 0).then_some(proxy);
    if flags & 0x02 != 0 {
        config.user_agent = user_agent;
    }
    config.accept_language = (flags & 0x04 != 0).then_some(language);
    if flags & 0x08 != 0 {
        config.connect_timeout = Duration::ZERO;
    }
    if flags & 0x10 != 0 {
        config.max_response_bytes = u64::from(flags >> 5);
    }
    let allowed = flags & 0x20 != 0 && normalized_host.is_ok();
    if allowed {
        config.allow_app_id_host(&allowed_host).expect("a host check_app_id_host accepted");
    }
    config.danger_disable_app_id_check = flags & 0x40 != 0;
    // Verification stays off: with it on, every run would load the whole OS trust store. The
    // extra CA PEM is parsed either way.
    config.tls = TlsOptions {
        extra_ca_pem: pem.filter(|_| flags & 0x80 != 0),
        danger_disable_tls_verification: true,
        ..TlsOptions::default()
    };
    let valid = config.validate();
    config_error(valid.clone());
    match Client::new(config) {
        Ok(client) => {
            assert!(valid.is_ok(), "Client::new accepted what validate refused");
            let policy = client.app_ids();
            if let Err(e) = policy.check(&app_id) {
                assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
                assert!(flags & 0x40 == 0, "the appId check is off, yet {app_id:?} was refused");
            }
            // The server's own origin, and an allowed host's, are always acceptable appIds.
            if base_url.starts_with("https://")
                && base_url.trim_matches(' ') == base_url
                && has_host(&base_url)
            {
                policy.check(&base_url).unwrap_or_else(|e| panic!("own base URL refused as appId: {e}"));
            }
            if let (true, Ok(host)) = (allowed, &normalized_host) {
                let origin = format!("https://{host}/u2f");
                policy.check(&origin).unwrap_or_else(|e| panic!("allowed host refused: {e}"));
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::Config, "{e}"),
    }
    if let Err(e) = crate::aa::spki_sha256(der) {
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------------

/// Redacts `text`, checks that redacting again changes nothing, and returns the redacted text.
fn check_redactor(text: &str) -> String {
    let once = crate::aa::redact::redact(text).into_owned();
    let twice = crate::aa::redact::redact(&once);
    assert_eq!(twice, once, "redacting {text:?} twice changed it again");
    once
}

/// Whether `url` names a host that is more than dots: `https://.` passes the base URL check but
/// leaves the appId policy no server host, so it refuses every appId (fails closed; reported).
fn has_host(url: &str) -> bool {
    url.parse::<ureq::http::Uri>()
        .is_ok_and(|uri| uri.host().is_some_and(|h| !h.trim_end_matches('.').is_empty()))
}

/// A client for the server of the recorded gather answer (built once: no request is ever sent).
fn gather_client() -> &'static Client {
    static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut config =
            ClientConfig::new(GATHER_APP_ID, "178fa64ebafe11eaa1fb0242ac110003", Secret::from("s"));
        config.tls.danger_disable_tls_verification = true;
        Client::new(config).expect("the gather answer's client")
    })
}

/// What a sign's signatureData must be for `reply` to an enforce-presence AUTHENTICATE: the data
/// before a `9000`, with user presence, a counter and a DER ECDSA P-256 signature.
fn expected_signature(reply: &[u8]) -> Option<&[u8]> {
    let (data, sw) = split_status(reply)?;
    let well_formed =
        data.len() >= 5 + 8 && data[0] & 0x01 != 0 && p256::ecdsa::Signature::from_der(&data[5..]).is_ok();
    (sw == 0x9000 && well_formed).then_some(data)
}

/// The U2F version `describe` must report for `reply` to VERSION (given again to the retry).
fn expected_version(reply: &[u8]) -> Option<String> {
    match split_status(reply)? {
        (data, 0x9000) if !data.is_empty() && data.len() <= 32 && data.is_ascii() => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        (_, 0x6D00) => Some("U2F_V1".into()),
        _ => None,
    }
}

fn split_status(reply: &[u8]) -> Option<(&[u8], u16)> {
    let split = reply.len().checked_sub(2)?;
    let (data, sw) = reply.split_at(split);
    Some((data, u16::from_be_bytes([sw[0], sw[1]])))
}

/// The first `count` (1 or 2) sign requests.
fn requests(count: usize) -> Vec<SignRequest> {
    let request = |app_id: &str, challenge: &str, key_handle: &str| SignRequest {
        version: "U2F_V2".into(),
        challenge: challenge.into(),
        key_handle: key_handle.into(),
        app_id: app_id.into(),
    };
    let all = [
        request(VECTOR_APP_ID, VECTOR_CHALLENGE, VECTOR_KEY_HANDLE),
        request(GATHER_APP_ID, GATHER_CHALLENGE, GATHER_KEY_HANDLE),
    ];
    all[..count.min(2)].to_vec()
}

/// How a fuzzed sign ended.
struct Outcome {
    result: Result<SignResponse>,
    last_prompt: Option<Prompt>,
    elapsed: Duration,
}

impl Outcome {
    /// What holds for every fuzzed sign: it ended without waiting for the clock, and it said
    /// "touched" exactly when it signed.
    fn check_common(&self) {
        assert!(self.elapsed < SAFETY_TIMEOUT, "the sign waited for its deadline: {:?}", self.result);
        match &self.result {
            Ok(_) => assert_eq!(self.last_prompt, Some(Prompt::Touched)),
            Err(e) => assert_ne!(self.last_prompt, Some(Prompt::Touched), "{e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scripted key behind the transport seam
// ---------------------------------------------------------------------------------------------

/// One thing a scripted key does when the host reads.
enum Answer {
    Report(Report),
    /// The read times out without a report.
    Silence,
    /// The transport fails (device unplugged).
    Failure,
}

/// The last message the host began (its initialization packet).
#[derive(Clone, Copy, Debug, Default)]
struct Request {
    cid: u32,
    command: u8,
    nonce: [u8; 8],
    ins: u8,
    p1: u8,
}

impl Request {
    fn parse(report: &Report) -> Option<Request> {
        if report[4] & 0x80 == 0 {
            return None;
        }
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&report[7..15]);
        Some(Request { cid: cid_of(report), command: report[4] & 0x7F, nonce, ins: report[8], p1: report[9] })
    }

    fn is_authenticate(&self, control: u8) -> bool {
        self.command == CMD_MSG && self.ins == INS_AUTHENTICATE && self.p1 == control
    }
}

/// Where a scripted key's answers come from.
trait Behaviour: Send {
    /// Queues what the key answers at once to a request the host just began.
    fn on_request(&mut self, _request: &Request, _answers: &mut VecDeque<Answer>) {}
    /// Queues the next answers when none are pending; false once the script is used up.
    fn next(&mut self, request: &Request, answers: &mut VecDeque<Answer>) -> bool;
}

struct BenchState {
    behaviour: Box<dyn Behaviour>,
    cancel: CancelToken,
    request: Request,
    /// Announced length and bytes so far of the reply being served to `request`.
    reply: Option<(usize, usize)>,
    served: usize,
    pending: Vec<VecDeque<Answer>>,
}

impl BenchState {
    fn written(&mut self, device: usize, report: &Report) {
        let Some(request) = Request::parse(report) else { return };
        if request.command == CMD_CANCEL {
            return;
        }
        self.request = request;
        self.reply = None;
        self.behaviour.on_request(&request, &mut self.pending[device]);
    }

    fn read(&mut self, device: usize) -> Result<Option<Report>> {
        if self.served >= MAX_REPORTS {
            return Err(self.exhausted());
        }
        if self.pending[device].is_empty() {
            let request = self.request;
            let more = self.behaviour.next(&request, &mut self.pending[device]);
            if !more && self.pending[device].is_empty() {
                return Err(self.exhausted());
            }
        }
        self.served += 1;
        match self.pending[device].pop_front() {
            Some(Answer::Report(report)) => {
                self.observe(&report);
                Ok(Some(report))
            }
            Some(Answer::Silence) | None => Ok(None),
            Some(Answer::Failure) => {
                if self.request.is_authenticate(ENFORCE_PRESENCE) {
                    self.cancel.cancel();
                }
                Err(Error::new(ErrorKind::DeviceProtocol, "scripted key: transport failure"))
            }
        }
    }

    /// The script is used up: stop the operation (no pause may follow) and fail the read.
    fn exhausted(&mut self) -> Error {
        self.cancel.cancel();
        Error::new(ErrorKind::DeviceProtocol, "scripted key: script used up")
    }

    /// Cancels the operation when the report served makes the host pause next: CHANNEL_BUSY
    /// (back-off), or the end of the answer to an enforce-presence AUTHENTICATE (touch polling,
    /// or a re-scan once the key is dropped). Errs on the early side: a cancel only ends the run.
    fn observe(&mut self, report: &Report) {
        if cid_of(report) != self.request.cid {
            return;
        }
        let enforce = self.request.is_authenticate(ENFORCE_PRESENCE);
        let stop = if report[4] & 0x80 != 0 {
            let command = report[4] & 0x7F;
            let length = usize::from(u16::from_be_bytes([report[5], report[6]]));
            match command {
                CMD_ERROR => enforce || (length >= 1 && report[7] == ERR_CHANNEL_BUSY),
                CMD_KEEPALIVE => false,
                command if command == self.request.command => {
                    self.reply = Some((length, length.min(INIT_DATA_LEN)));
                    enforce && (length > MAX_MESSAGE_LEN || length <= INIT_DATA_LEN)
                }
                _ => enforce,
            }
        } else if let Some((length, received)) = self.reply.as_mut() {
            *received += CONT_DATA_LEN;
            enforce && *received >= *length
        } else {
            false
        };
        if stop {
            self.cancel.cancel();
        }
    }
}

/// The shared state of a run's scripted keys (one host thread talks to one key at a time).
#[derive(Clone)]
struct Bench {
    state: Arc<Mutex<BenchState>>,
    devices: usize,
    failing_open: u8,
}

impl Bench {
    fn new(devices: usize, failing_open: u8, behaviour: Box<dyn Behaviour>) -> Bench {
        let state = BenchState {
            behaviour,
            cancel: CancelToken::new(),
            request: Request::default(),
            reply: None,
            served: 0,
            pending: (0..devices).map(|_| VecDeque::new()).collect(),
        };
        Bench { state: Arc::new(Mutex::new(state)), devices, failing_open }
    }

    fn lock(&self) -> MutexGuard<'_, BenchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn devices(&self) -> ScriptedDevices {
        ScriptedDevices { bench: self.clone() }
    }

    fn sign(&self, requests: &[SignRequest]) -> Outcome {
        let last_prompt = Arc::new(Mutex::new(None));
        let recorder = last_prompt.clone();
        let options = SignOptions {
            timeout: SAFETY_TIMEOUT,
            prompt: Some(Arc::new(move |prompt| {
                *recorder.lock().unwrap_or_else(PoisonError::into_inner) = Some(prompt)
            })),
            cancel: self.lock().cancel.clone(),
            pin: None,
        };
        let started = std::time::Instant::now();
        let result = sign(&self.devices(), requests, &options);
        let elapsed = started.elapsed();
        let last_prompt = *last_prompt.lock().unwrap_or_else(PoisonError::into_inner);
        Outcome { result, last_prompt, elapsed }
    }
}

fn device_path(index: usize) -> String {
    format!("fuzz:{index}")
}

struct ScriptedDevices {
    bench: Bench,
}

impl DeviceProvider for ScriptedDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        Ok((0..self.bench.devices)
            .map(|index| DeviceInfo {
                path: device_path(index),
                vendor_id: 0x1050,
                product_id: 0x0407,
                product: Some("scripted key".into()),
                ..DeviceInfo::default()
            })
            .collect())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        let device = (0..self.bench.devices)
            .find(|&index| device_path(index) == path)
            .ok_or_else(|| Error::new(ErrorKind::NoDevice, format!("no scripted key at {path}")))?;
        if self.bench.failing_open & (1 << device) != 0 {
            return Err(Error::new(ErrorKind::DeviceProtocol, format!("{path}: cannot open")));
        }
        Ok(Box::new(ScriptedKey { bench: self.bench.clone(), device }))
    }
}

struct ScriptedKey {
    bench: Bench,
    device: usize,
}

impl HidTransport for ScriptedKey {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        self.bench.lock().written(self.device, report);
        Ok(())
    }

    fn read_report(&mut self, _timeout: Duration) -> Result<Option<Report>> {
        self.bench.lock().read(self.device)
    }
}

/// No device at all (the sign of [`logon_model`] stops before it looks).
struct NoDevices;

impl DeviceProvider for NoDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        Err(Error::new(ErrorKind::NoDevice, format!("no device at {path}")))
    }
}

/// Answers INIT correctly; everything else is the raw report stream.
struct RawStream {
    data: Vec<u8>,
    pos: usize,
}

impl Behaviour for RawStream {
    fn on_request(&mut self, request: &Request, answers: &mut VecDeque<Answer>) {
        if request.command == CMD_INIT {
            answers.push_back(Answer::Report(init_reply(request, standard_init_fields(U2F_ONLY), false)));
        }
    }

    fn next(&mut self, _request: &Request, answers: &mut VecDeque<Answer>) -> bool {
        if self.pos >= self.data.len() {
            return false;
        }
        let end = (self.pos + REPORT_LEN).min(self.data.len());
        let mut report = [0u8; REPORT_LEN];
        report[..end - self.pos].copy_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        answers.push_back(Answer::Report(report));
        true
    }
}

/// A correct key that owns the vector's handle; its one reply to AUTHENTICATE (enforce
/// presence) and to VERSION is the input.
struct U2fKey {
    reply: Vec<u8>,
}

impl Behaviour for U2fKey {
    fn on_request(&mut self, request: &Request, answers: &mut VecDeque<Answer>) {
        let reply: &[u8] = match request.command {
            CMD_INIT => {
                answers.push_back(Answer::Report(init_reply(request, standard_init_fields(U2F_ONLY), false)));
                return;
            }
            CMD_MSG if request.is_authenticate(CHECK_ONLY) => &[0x69, 0x85],
            CMD_MSG if request.is_authenticate(ENFORCE_PRESENCE) || request.ins == INS_VERSION => {
                &self.reply[..]
            }
            _ => return,
        };
        answers.extend(fragment(request.cid, request.command, reply).into_iter().map(Answer::Report));
    }

    fn next(&mut self, _request: &Request, _answers: &mut VecDeque<Answer>) -> bool {
        false
    }
}

/// A key whose every answer is one operation of the script (see [`host_stack`]).
struct Ops {
    script: Cursor,
}

impl Behaviour for Ops {
    fn next(&mut self, request: &Request, answers: &mut VecDeque<Answer>) -> bool {
        let Some(op) = self.script.byte() else { return false };
        let s = &mut self.script;
        let reply = |answers: &mut VecDeque<Answer>, payload: &[u8]| {
            answers.extend(fragment(request.cid, request.command, payload).into_iter().map(Answer::Report))
        };
        match op % 12 {
            0 => {
                let fields: [u8; 9] = s.array();
                let corrupt_nonce = s.byte().unwrap_or(0) & 1 != 0;
                answers.push_back(Answer::Report(init_reply(request, fields, corrupt_nonce)));
            }
            1 => {
                let capabilities = s.byte().unwrap_or(0x05);
                answers.push_back(Answer::Report(init_reply(
                    request,
                    standard_init_fields(capabilities),
                    false,
                )));
            }
            2 => reply(answers, &s.array::<2>()),
            3 => {
                let len = usize::from(s.byte().unwrap_or(0));
                reply(answers, s.take(len));
            }
            4 => {
                let mut payload = vec![s.byte().unwrap_or(1)];
                payload.extend_from_slice(&s.array::<4>());
                let (r, sig) = (s.array::<32>(), s.array::<32>());
                payload.extend_from_slice(&der_signature(&r, &sig));
                payload.extend_from_slice(&[0x90, 0x00]);
                reply(answers, &payload);
            }
            5 => {
                answers.push_back(Answer::Report(packet(request.cid, CMD_ERROR, 1, &[s.byte().unwrap_or(0)])))
            }
            6 => {
                let status = s.byte().unwrap_or(0x02);
                answers.push_back(Answer::Report(packet(request.cid, CMD_KEEPALIVE, 1, &[status])));
            }
            7 => answers.push_back(Answer::Report(s.array::<REPORT_LEN>())),
            8 => {
                let mut report = s.array::<REPORT_LEN>();
                report[..4].copy_from_slice(&request.cid.to_be_bytes());
                answers.push_back(Answer::Report(report));
            }
            9 => {
                let mut report = [0u8; REPORT_LEN];
                report[..4].copy_from_slice(&request.cid.to_be_bytes());
                report[4] = s.byte().unwrap_or(0) & 0x7F;
                report[5..].copy_from_slice(&s.array::<CONT_DATA_LEN>());
                answers.push_back(Answer::Report(report));
            }
            10 => answers.push_back(Answer::Silence),
            _ => answers.push_back(Answer::Failure),
        }
        true
    }
}

/// Reads a script; past its end every read gives zeros (or nothing).
struct Cursor {
    data: Vec<u8>,
    pos: usize,
}

impl Cursor {
    fn new(data: &[u8]) -> Cursor {
        Cursor { data: data.to_vec(), pos: 0 }
    }

    fn byte(&mut self) -> Option<u8> {
        let byte = self.data.get(self.pos).copied();
        self.pos += usize::from(byte.is_some());
        byte
    }

    fn take(&mut self, len: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + len).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let bytes = self.take(N);
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }
}

fn cid_of(report: &Report) -> u32 {
    u32::from_be_bytes([report[0], report[1], report[2], report[3]])
}

/// An initialization packet announcing `length` and carrying the start of `data`.
fn packet(cid: u32, command: u8, length: u16, data: &[u8]) -> Report {
    let mut report = [0u8; REPORT_LEN];
    report[..4].copy_from_slice(&cid.to_be_bytes());
    report[4] = 0x80 | command;
    report[5..7].copy_from_slice(&length.to_be_bytes());
    let len = data.len().min(INIT_DATA_LEN);
    report[7..7 + len].copy_from_slice(&data[..len]);
    report
}

/// The reports of one message from the key (the key's own encoder, independent of the host's).
fn fragment(cid: u32, command: u8, payload: &[u8]) -> Vec<Report> {
    let payload = &payload[..payload.len().min(MAX_MESSAGE_LEN)];
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let first = payload.len().min(INIT_DATA_LEN);
    let mut reports = vec![packet(cid, command, length, &payload[..first])];
    for (seq, chunk) in payload[first..].chunks(CONT_DATA_LEN).enumerate() {
        let mut report = [0u8; REPORT_LEN];
        report[..4].copy_from_slice(&cid.to_be_bytes());
        report[4] = (seq & 0x7F) as u8;
        report[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(report);
    }
    reports
}

/// The INIT reply fields of the libfido2 capture: channel, protocol 2, version 5.2.1, flags.
fn standard_init_fields(capabilities: u8) -> [u8; 9] {
    let mut fields = [0, 0, 0, 0, 2, 5, 2, 1, capabilities];
    fields[..4].copy_from_slice(&KEY_CID.to_be_bytes());
    fields
}

/// The INIT reply to `request` on its channel: its nonce (or a corrupted one), then `fields`.
fn init_reply(request: &Request, fields: [u8; 9], corrupt_nonce: bool) -> Report {
    let mut payload = [0u8; 17];
    payload[..8].copy_from_slice(&request.nonce);
    payload[0] ^= u8::from(corrupt_nonce);
    payload[8..].copy_from_slice(&fields);
    packet(request.cid, CMD_INIT, 17, &payload)
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from two big-endian 32-byte values.
fn der_signature(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    fn integer(value: &[u8]) -> Vec<u8> {
        let skip = value.iter().take_while(|&&b| b == 0).count().min(value.len() - 1);
        let value = &value[skip..];
        let pad = value[0] & 0x80 != 0;
        let mut out = vec![0x02, (value.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(value);
        out
    }
    let body = [integer(r), integer(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Runs `entry` on every seed of fuzz/corpus/`target` (there must be some); FUZZ_REPLAY_DIR
    /// names another corpus root instead (e.g. the corpora a long fuzz run grew).
    fn replay(target: &str, entry: fn(&[u8])) {
        let base = std::env::var("FUZZ_REPLAY_DIR")
            .unwrap_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus").into());
        let dir = PathBuf::from(base).join(target);
        let mut seeds = 0;
        for file in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = file.unwrap().path();
            entry(&std::fs::read(&path).unwrap());
            seeds += 1;
        }
        assert!(seeds > 0, "no seeds in {}", dir.display());
    }

    #[test]
    fn seeds_of_ctaphid_reassembly() {
        replay("ctaphid_reassembly", ctaphid_reassembly);
    }

    #[test]
    fn seeds_of_host_stack() {
        replay("host_stack", host_stack);
    }

    #[test]
    fn seeds_of_u2f_parse() {
        replay("u2f_parse", u2f_reply);
    }

    #[test]
    fn seeds_of_logon_model() {
        replay("logon_model", logon_model);
    }

    #[test]
    fn seeds_of_config_parsers() {
        replay("config_parsers", config_parsers);
    }

    #[test]
    fn the_vector_signature_signs_and_a_touch_request_does_not() {
        let response = hex("0100000001304402204b5f0cd17534cedd8c34ee09570ef542a353df4436030ce43d406de870b847780220267bb998fac9b7266eb60e7cb0b5eabdfd5ba9614f53c7b22272ec10047a923f9000");
        let outcome = Bench::new(1, 0, Box::new(U2fKey { reply: response.clone() })).sign(&requests(1));
        let signed = outcome.result.unwrap();
        assert_eq!(signed.signature_data, "AQAAAAEwRAIgS18M0XU0zt2MNO4JVw71QqNT30Q2AwzkPUBt6HC4R3gCICZ7uZj6ybcmbrYOfLC16r39W6lhT1PHsiJy7BAEepI_");
        let start = std::time::Instant::now();
        let outcome = Bench::new(1, 0, Box::new(U2fKey { reply: vec![0x69, 0x85] })).sign(&requests(1));
        assert_eq!(outcome.result.unwrap_err().kind(), ErrorKind::Cancelled);
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
        u2f_reply(&[0, 0x69, 0x85]);
        u2f_reply(&[[0].as_slice(), &response].concat());
    }

    #[test]
    fn a_busy_key_and_an_empty_script_end_at_once() {
        let start = std::time::Instant::now();
        // INIT reply, then CHANNEL_BUSY on the check-only AUTHENTICATE, forever.
        let mut script = vec![0x00, 1, 0x05];
        for _ in 0..200 {
            script.extend_from_slice(&[5, ERR_CHANNEL_BUSY]);
        }
        host_stack(&script);
        host_stack(&[0x03]);
        ctaphid_reassembly(&[]);
        assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
    }

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_signing_seeds_sign() {
        for name in ["one_key_signs", "two_keys_two_requests", "first_key_fails_to_open"] {
            let data = seed("host_stack", name);
            let header = data[0];
            let bench = Bench::new(
                1 + usize::from(header & 1),
                (header >> 2) & 0b11,
                Box::new(Ops { script: Cursor::new(&data[1..]) }),
            );
            let outcome = bench.sign(&requests(1 + usize::from((header >> 1) & 1)));
            assert!(outcome.result.is_ok(), "{name}: {:?}", outcome.result);
        }
        for name in [
            "presence_then_libfido2_signature",
            "presence_then_vector_signature",
            "keepalive_stray_frames_then_signature",
            "busy_then_presence",
        ] {
            let data = seed("ctaphid_reassembly", name);
            let outcome = Bench::new(1, 0, Box::new(RawStream { data, pos: 0 })).sign(&requests(1));
            match name {
                "busy_then_presence" => assert_eq!(outcome.result.unwrap_err().kind(), ErrorKind::Cancelled),
                _ => assert!(outcome.result.is_ok(), "{name}: {:?}", outcome.result),
            }
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }
}
