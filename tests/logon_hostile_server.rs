//! A scripted hostile HTTPS server against the real REST client: each case accepts a TLS (or raw
//! TCP) connection on loopback, answers the endpoint-session call correctly, then misbehaves on
//! the call under test (oversized, dripping, silent, malformed, redirecting, resetting, bad TLS).
//! Every case must fail closed with its documented [`ErrorKind`] within the client's own timeout
//! (a 30 s hang guard, no wall-clock assertion), and the oversized ones with bounded memory.
//!
//! All cases run in one test, one after the other: the peak-RSS figures are process-wide, so a
//! case running in parallel would blur them. The table is printed with `--nocapture`.

mod fido_support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use aa_logon::{Client, ClientConfig, ErrorKind, Secret, TlsOptions};
use fido_support::without_hanging;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

const ENDPOINT_ID: &str = "0123456789abcdef0123456789abcdef";
/// The client's timeouts: short, so the timeout cases end quickly.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// The client's answer size cap.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// What the oversized cases send: 50 MB, 50 times the cap.
const OVERSIZED_BODY_BYTES: usize = 50 * 1000 * 1000;
/// Peak RSS growth allowed to an oversized case: far below the 50 MB the server sends, so a
/// client that buffers the whole answer fails it.
const MEMORY_CAP_KIB: u64 = 16 * 1024;
/// Server sockets give up after this, so no server thread outlives a broken case for long.
const SERVER_IO_TIMEOUT: Duration = Duration::from_secs(30);
const DRIP_INTERVAL: Duration = Duration::from_millis(100);

/// A valid first answer to `POST /logon` with PASSWORD:1.
const MORE_DATA_ANSWER: &str = r#"{"status":"MORE_DATA","msg":"Enter password","logon_process_id":"hostile-process","current_method":"PASSWORD:1","completed_methods":[]}"#;
const CHAINS_ANSWER: &str = r#"{"chains":[{"id_hex":"c1","name":"Password","short_name":"PW","methods":["PASSWORD:1"],"is_enabled":true,"position":1}]}"#;
const HTML_ERROR: &str =
    "<html><head><title>Error</title></head><body><h1>Something broke</h1></body></html>";

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// One HTTP request as the server read it.
struct Request {
    method: String,
    path: String,
}

impl Request {
    /// §1.2 `POST /api/v1/endpoints/{id}/sessions`: answered correctly in every TLS case.
    fn is_endpoint_session(&self) -> bool {
        self.method == "POST" && self.path == format!("/api/v1/endpoints/{ENDPOINT_ID}/sessions")
    }
}

/// One TLS connection of the server: reads requests, writes whatever the script wants.
struct Exchange {
    stream: StreamOwned<ServerConnection, TcpStream>,
    pending: Vec<u8>,
    reset: bool,
}

impl Exchange {
    /// The next request (head and `Content-Length` body), or `None` when the client went away.
    fn read_request(&mut self) -> Option<Request> {
        loop {
            if let Some(head_end) = find(&self.pending, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let mut request_line = lines.next()?.split(' ');
                let (method, path) = (request_line.next()?.to_owned(), request_line.next()?.to_owned());
                let body_len = lines
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                let total = head_end + 4 + body_len;
                while self.pending.len() < total {
                    self.fill()?;
                }
                self.pending.drain(..total);
                return Some(Request { method, path });
            }
            if self.pending.len() > 1 << 20 {
                return None;
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Option<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.pending.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// A complete HTTP/1.1 answer with `Content-Length`.
    fn respond(&mut self, status_line: &str, content_type: &str, body: &[u8]) {
        let head = format!(
            "HTTP/1.1 {status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = self.send(head.as_bytes()).and_then(|()| self.send(body));
    }

    fn respond_json(&mut self, body: &str) {
        self.respond("200 OK", "application/json", body.as_bytes());
    }

    /// Reads (and ignores) whatever comes until the client closes the connection.
    fn stay_silent(&mut self) {
        while self.fill().is_some() {
            self.pending.clear();
        }
    }

    /// The connection ends with a TCP reset instead of a TLS close_notify and a FIN.
    fn reset(&mut self) {
        let _ = socket2::SockRef::from(&self.stream.sock).set_linger(Some(Duration::ZERO));
        self.reset = true;
    }

    /// Ends the connection cleanly (TLS close_notify, then FIN) unless the script reset it.
    fn finish(mut self) {
        if self.reset {
            return;
        }
        self.stream.conn.send_close_notify();
        while self.stream.conn.wants_write() {
            if self.stream.conn.write_tls(&mut self.stream.sock).is_err() {
                return;
            }
        }
        let _ = self.stream.sock.shutdown(Shutdown::Write);
        // Lets the client read the close before the socket goes (closing with unread input
        // would reset the connection).
        self.stay_silent();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

type Script = Arc<dyn Fn(&mut Exchange, &Request) + Send + Sync>;
type RawScript = Arc<dyn Fn(TcpStream) + Send + Sync>;

#[derive(Clone)]
enum Wire {
    /// TLS with this configuration; the endpoint-session call answered, then the script runs on
    /// the next request.
    Tls(Arc<ServerConfig>, Script),
    /// TLS with this configuration; the script answers the endpoint-session call too.
    TlsFromTheSessionCall(Arc<ServerConfig>, Script),
    /// The script gets the raw TCP connection (no TLS at all).
    Raw(RawScript),
}

/// A loopback server running one script on every connection, counting connections and requests.
struct HostileServer {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl HostileServer {
    fn start(wire: Wire) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds a loopback port");
        let address = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (connections, requests, stop) = (connections.clone(), requests.clone(), stop.clone());
            thread::spawn(move || {
                for socket in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(socket) = socket else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    // Answers go out in several writes: no Nagle delay between them.
                    let _ = socket.set_nodelay(true);
                    let _ = socket.set_read_timeout(Some(SERVER_IO_TIMEOUT));
                    let _ = socket.set_write_timeout(Some(SERVER_IO_TIMEOUT));
                    let (wire, requests) = (wire.clone(), requests.clone());
                    thread::spawn(move || serve(socket, wire, &requests));
                }
            })
        };
        HostileServer { address, connections, requests, stop, acceptor: Some(acceptor) }
    }

    fn base_url(&self) -> String {
        format!("https://{}", self.address)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// `METHOD path` of every request read, session calls included.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocked accept so the acceptor sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn serve(socket: TcpStream, wire: Wire, requests: &Mutex<Vec<String>>) {
    let (config, script, answers_session) = match wire {
        Wire::Raw(script) => return script(socket),
        Wire::Tls(config, script) => (config, script, true),
        Wire::TlsFromTheSessionCall(config, script) => (config, script, false),
    };
    let Ok(connection) = ServerConnection::new(config) else { return };
    let mut exchange =
        Exchange { stream: StreamOwned::new(connection, socket), pending: Vec::new(), reset: false };
    while let Some(request) = exchange.read_request() {
        requests.lock().unwrap_or_else(PoisonError::into_inner).push(format!(
            "{} {}",
            request.method,
            request.path.split('?').next().unwrap_or("")
        ));
        if answers_session && request.is_endpoint_session() {
            exchange.respond_json(r#"{"endpoint_session_id":"hostile-endpoint-session"}"#);
            continue;
        }
        script(&mut exchange, &request);
        break;
    }
    exchange.finish();
}

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

struct Pki {
    /// Server certificate for 127.0.0.1 from the CA the client trusts.
    trusted: Arc<ServerConfig>,
    /// Server certificate for 127.0.0.1 from another CA, which the client does not trust.
    untrusted: Arc<ServerConfig>,
    /// The trusted CA's certificate, in a PEM file (removed on drop).
    ca_file: PathBuf,
}

impl Pki {
    fn generate() -> Pki {
        let (trusted, ca_pem) = server_config("aa hostile-server test CA");
        let (untrusted, _) = server_config("some other CA");
        let ca_file =
            std::env::temp_dir().join(format!("aa-logon-hostile-server-ca-{}.pem", std::process::id()));
        std::fs::write(&ca_file, ca_pem).expect("writes the CA file");
        Pki { trusted, untrusted, ca_file }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

/// A fresh CA named `ca_name` and a rustls server configuration with its certificate for
/// 127.0.0.1; returns the configuration and the CA's PEM.
fn server_config(ca_name: &str) -> (Arc<ServerConfig>, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "hostile server");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let chain = vec![cert.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (Arc::new(config), ca.pem())
}

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

fn script(f: impl Fn(&mut Exchange, &Request) + Send + Sync + 'static) -> Script {
    Arc::new(f)
}

fn answer_json(body: &'static str) -> Script {
    script(move |exchange, _| exchange.respond_json(body))
}

fn answer_status(status_line: &'static str) -> Script {
    script(move |exchange, _| exchange.respond(status_line, "text/html", HTML_ERROR.as_bytes()))
}

/// Sends a logon answer padded to exactly `total` bytes through `write`, in 64 KiB pieces, and
/// stops when a write fails: valid JSON, which a client without a size cap would accept.
fn stream_padded(total: usize, mut write: impl FnMut(&[u8]) -> io::Result<()>) {
    let head = br#"{"status":"MORE_DATA","logon_process_id":"hostile-process","current_method":"PASSWORD:1","padding":""#;
    let tail = br#""}"#;
    let mut left = total - head.len() - tail.len();
    if write(head).is_err() {
        return;
    }
    let piece = vec![b'a'; 64 * 1024];
    while left > 0 {
        let n = left.min(piece.len());
        if write(&piece[..n]).is_err() {
            return;
        }
        left -= n;
    }
    let _ = write(tail);
}

fn oversized_with_length() -> Script {
    script(|exchange, _| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {OVERSIZED_BODY_BYTES}\r\n\r\n"
        );
        if exchange.send(head.as_bytes()).is_ok() {
            stream_padded(OVERSIZED_BODY_BYTES, |bytes| exchange.send(bytes));
        }
    })
}

fn oversized_chunked() -> Script {
    script(|exchange, _| {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if exchange.send(head.as_bytes()).is_ok() {
            stream_padded(OVERSIZED_BODY_BYTES, |bytes| {
                let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
                chunk.extend_from_slice(bytes);
                chunk.extend_from_slice(b"\r\n");
                exchange.send(&chunk)
            });
            let _ = exchange.send(b"0\r\n\r\n");
        }
    })
}

fn oversized_header() -> Script {
    script(|exchange, _| {
        let mut answer = b"HTTP/1.1 200 OK\r\nX-Padding: ".to_vec();
        answer.resize(answer.len() + 1024 * 1024, b'h');
        answer.extend_from_slice(b"\r\nContent-Type: application/json\r\n");
        answer.extend_from_slice(format!("Content-Length: {}\r\n\r\n", MORE_DATA_ANSWER.len()).as_bytes());
        answer.extend_from_slice(MORE_DATA_ANSWER.as_bytes());
        let _ = exchange.send(&answer);
    })
}

/// A valid answer, one byte per [`DRIP_INTERVAL`]: far longer than the request timeout.
fn dripping() -> Script {
    script(|exchange, _| {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{MORE_DATA_ANSWER}",
            MORE_DATA_ANSWER.len()
        );
        for byte in answer.bytes() {
            if exchange.send(&[byte]).is_err() {
                return;
            }
            // The drip itself is the misbehaviour under test, not a wait for a state.
            thread::sleep(DRIP_INTERVAL);
        }
    })
}

fn silent() -> Script {
    script(|exchange, _| exchange.stay_silent())
}

fn redirect(status_line: &'static str, location: String) -> Script {
    script(move |exchange, _| {
        let head = format!(
            "HTTP/1.1 {status_line}\r\nLocation: {location}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{HTML_ERROR}",
            HTML_ERROR.len()
        );
        let _ = exchange.send(head.as_bytes());
    })
}

fn reset_after_request() -> Script {
    script(|exchange, _| exchange.reset())
}

fn reset_mid_answer() -> Script {
    script(|exchange, _| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            MORE_DATA_ANSWER.len()
        );
        let _ = exchange.send(head.as_bytes());
        let _ = exchange.send(&MORE_DATA_ANSWER.as_bytes()[..10]);
        exchange.reset();
    })
}

fn invalid_chunk_size() -> Script {
    script(|exchange, _| {
        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{\"status\":\"OK\"}\r\n0\r\n\r\n";
        let _ = exchange.send(answer.as_bytes());
    })
}

/// HTTP/1.0, no length: the body ends when the connection does (cleanly, with close_notify).
fn close_delimited(body: &'static str) -> Script {
    script(move |exchange, _| {
        let answer = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
        let _ = exchange.send(answer.as_bytes());
    })
}

/// Reads the ClientHello, answers `bytes` in plain text, closes.
fn raw_answer(bytes: &'static [u8]) -> RawScript {
    Arc::new(move |mut socket: TcpStream| {
        let mut hello = [0u8; 4096];
        let _ = socket.read(&mut hello);
        let _ = socket.write_all(bytes);
        let _ = socket.shutdown(Shutdown::Write);
        let _ = socket.read(&mut hello);
    })
}

fn raw_close() -> RawScript {
    Arc::new(drop)
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Call {
    /// `client.start_logon(user, event, "PASSWORD:1")`: the endpoint session, then `POST /logon`.
    StartLogon,
    /// `client.chains(user, event)`: the endpoint session, then `GET /logon/chains`.
    Chains,
}

#[derive(Clone, Copy)]
enum Expect {
    Kind(ErrorKind),
    /// `AaHttp` carrying this HTTP status.
    Status(u16),
    OneOf(&'static [ErrorKind]),
    AnyError,
    Success,
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Expect::Kind(kind) => format!("{kind:?}"),
            Expect::Status(status) => format!("AaHttp {status}"),
            Expect::OneOf(kinds) => kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join("|"),
            Expect::AnyError => "any error".to_owned(),
            Expect::Success => "success".to_owned(),
        }
    }

    fn accepts(self, outcome: &Outcome) -> bool {
        match (self, outcome.kind) {
            (Expect::Success, None) => true,
            (Expect::Success, Some(_)) | (_, None) => false,
            (Expect::Kind(expected), Some(kind)) => kind == expected,
            (Expect::Status(status), Some(kind)) => {
                kind == ErrorKind::AaHttp && outcome.http_status == Some(status)
            }
            (Expect::OneOf(kinds), Some(kind)) => kinds.contains(&kind),
            (Expect::AnyError, Some(_)) => true,
        }
    }
}

/// What the client call returned.
struct Outcome {
    kind: Option<ErrorKind>,
    http_status: Option<u16>,
    message: String,
}

impl Outcome {
    fn describe(&self) -> String {
        match (self.kind, self.http_status) {
            (None, _) => "success".to_owned(),
            (Some(kind), Some(status)) => format!("{kind:?} {status}"),
            (Some(kind), None) => format!("{kind:?}"),
        }
    }
}

/// An extra check of a case, given the outcome and the server (e.g. "no request was followed").
type Check = Box<dyn Fn(&Outcome, &HostileServer) -> Result<(), String>>;

struct Case {
    name: &'static str,
    wire: Wire,
    call: Call,
    expect: Expect,
    memory_bounded: bool,
    check: Option<Check>,
}

impl Case {
    fn tls(name: &'static str, pki: &Pki, script: Script, expect: Expect) -> Case {
        Case {
            name,
            wire: Wire::Tls(pki.trusted.clone(), script),
            call: Call::StartLogon,
            expect,
            memory_bounded: false,
            check: None,
        }
    }

    fn bounded(mut self) -> Case {
        self.memory_bounded = true;
        self
    }

    fn calling(mut self, call: Call) -> Case {
        self.call = call;
        self
    }

    fn checking(mut self, check: impl Fn(&Outcome, &HostileServer) -> Result<(), String> + 'static) -> Case {
        self.check = Some(Box::new(check));
        self
    }
}

/// One line of the table.
struct Row {
    case: &'static str,
    expected: String,
    observed: String,
    millis: u128,
    peak_growth_kib: u64,
    message: String,
    failure: Option<String>,
}

fn run(case: Case, pki: &Pki) -> Row {
    let server = HostileServer::start(case.wire.clone());
    let mut config = ClientConfig::new(server.base_url(), ENDPOINT_ID, Secret::from("hostile-test-secret"));
    config.tls = TlsOptions { extra_ca_pem_file: Some(pki.ca_file.clone()), ..TlsOptions::default() };
    config.connect_timeout = CLIENT_TIMEOUT;
    config.request_timeout = CLIENT_TIMEOUT;
    config.max_response_bytes = MAX_RESPONSE_BYTES;
    let call = case.call;

    let memory = MemoryProbe::start();
    let (outcome, elapsed) = without_hanging(move || {
        let client = Client::new(config).expect("client builds");
        let started = Instant::now();
        let result = match call {
            Call::StartLogon => client.start_logon("hostile-user", "hostile-event", "PASSWORD:1").map(drop),
            Call::Chains => client.chains("hostile-user", "hostile-event").map(|chains| {
                assert_eq!(chains.chains.len(), 1, "the answer's one chain");
            }),
        };
        let elapsed = started.elapsed();
        let outcome = match result {
            Ok(()) => Outcome { kind: None, http_status: None, message: String::new() },
            Err(e) => Outcome {
                kind: Some(e.kind()),
                http_status: e.http_status(),
                message: e.message().to_owned(),
            },
        };
        (outcome, elapsed)
    });
    let peak_growth_kib = memory.peak_growth_kib();

    let mut failures = Vec::new();
    if !case.expect.accepts(&outcome) {
        failures.push(format!(
            "expected {}, got {} ({:?})",
            case.expect.describe(),
            outcome.describe(),
            outcome.message
        ));
    }
    if outcome.kind.is_some() && outcome.message.trim().is_empty() {
        failures.push("the error has no message".to_owned());
    }
    if case.memory_bounded && peak_growth_kib >= MEMORY_CAP_KIB {
        failures.push(format!("peak RSS grew {peak_growth_kib} KiB (cap {MEMORY_CAP_KIB} KiB)"));
    }
    if let Some(check) = &case.check {
        if let Err(why) = check(&outcome, &server) {
            failures.push(why);
        }
    }
    Row {
        case: case.name,
        expected: case.expect.describe(),
        observed: outcome.describe(),
        millis: elapsed.as_millis(),
        peak_growth_kib,
        message: outcome.message,
        failure: (!failures.is_empty()).then(|| failures.join("; ")),
    }
}

/// Peak RSS growth over a case: the kernel's high-water mark is reset to the current RSS first
/// (`/proc/self/clear_refs` "5"); where that is refused, the growth of the high-water mark.
struct MemoryProbe {
    rss_before: u64,
    hwm_before: u64,
    hwm_was_reset: bool,
}

impl MemoryProbe {
    fn start() -> MemoryProbe {
        let hwm_was_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        MemoryProbe { rss_before: status_kib("VmRSS"), hwm_before: status_kib("VmHWM"), hwm_was_reset }
    }

    fn peak_growth_kib(&self) -> u64 {
        let base = if self.hwm_was_reset { self.rss_before } else { self.hwm_before };
        status_kib("VmHWM").saturating_sub(base)
    }
}

/// A `kB` field of /proc/self/status (0 where there is none).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// No request after the one answered with a redirect: nothing was followed, to any origin.
fn not_followed(decoy: Arc<HostileServer>) -> impl Fn(&Outcome, &HostileServer) -> Result<(), String> {
    move |_, server| {
        let logons = server.requests().iter().filter(|r| r.starts_with("POST /api/v1/logon")).count();
        let others: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| !r.starts_with("POST /api/v1/logon") && !r.contains("/sessions"))
            .collect();
        match (decoy.connections(), logons, others.is_empty()) {
            (0, 1, true) => Ok(()),
            (decoy_connections, _, _) => Err(format!(
                "redirect followed: {decoy_connections} connection(s) to the other host, {logons} POST /logon, other requests {others:?}"
            )),
        }
    }
}

fn cases(pki: &Pki) -> Vec<Case> {
    use ErrorKind::*;
    let size_capped = |outcome: &Outcome, _: &HostileServer| {
        if outcome.message.contains("larger than") {
            Ok(())
        } else {
            Err(format!("not the size cap: {:?}", outcome.message))
        }
    };
    let mut cases = vec![
        Case::tls(
            "body: Content-Length 50 MB",
            pki,
            oversized_with_length(),
            Expect::Kind(MalformedServerData),
        )
        .bounded()
        .checking(size_capped),
        Case::tls(
            "body: chunked stream of 50 MB",
            pki,
            oversized_chunked(),
            Expect::Kind(MalformedServerData),
        )
        .bounded()
        .checking(size_capped),
        Case::tls("headers: one 1 MB header line", pki, oversized_header(), Expect::AnyError).bounded(),
        Case::tls("drip: 1 byte per 100 ms", pki, dripping(), Expect::Kind(Timeout)),
        Case::tls("silent after reading the request", pki, silent(), Expect::Kind(Timeout)),
        Case::tls(
            "json: not JSON",
            pki,
            answer_json("{status: MORE_DATA"),
            Expect::Kind(MalformedServerData),
        ),
        Case::tls(
            "json: truncated",
            pki,
            answer_json(r#"{"status":"MORE_DATA","logon_process_id":"hostile-pro"#),
            Expect::Kind(MalformedServerData),
        ),
        Case::tls(
            "json: an array",
            pki,
            answer_json(r#"[{"status":"OK"}]"#),
            Expect::Kind(MalformedServerData),
        ),
        Case::tls("json: a string", pki, answer_json(r#""OK""#), Expect::Kind(MalformedServerData)),
        Case::tls(
            "json: {\"status\": 5}",
            pki,
            answer_json(r#"{"status": 5}"#),
            Expect::Kind(MalformedServerData),
        ),
        Case::tls("json: empty 200 body", pki, answer_json(""), Expect::Kind(MalformedServerData)),
        Case::tls(
            "json: status PENDING",
            pki,
            answer_json(r#"{"status":"PENDING","logon_process_id":"hostile-process"}"#),
            Expect::Kind(MalformedServerData),
        ),
        // Lenient by design of http.rs: any 2xx body is parsed as JSON whatever its Content-Type.
        Case::tls(
            "json: valid, Content-Type text/html",
            pki,
            script(|exchange, _| exchange.respond("200 OK", "text/html", MORE_DATA_ANSWER.as_bytes())),
            Expect::Success,
        ),
        Case::tls("json: {} (no status)", pki, answer_json("{}"), Expect::Kind(MalformedServerData)),
        Case {
            name: "session answer: {} (no session id)",
            wire: Wire::TlsFromTheSessionCall(pki.trusted.clone(), answer_json("{}")),
            call: Call::StartLogon,
            expect: Expect::Kind(MalformedServerData),
            memory_bounded: false,
            check: None,
        },
        Case {
            name: "session answer: HTTP 503, HTML body",
            wire: Wire::TlsFromTheSessionCall(pki.trusted.clone(), answer_status("503 Service Unavailable")),
            call: Call::StartLogon,
            expect: Expect::Status(503),
            memory_bounded: false,
            check: None,
        },
        Case::tls(
            "HTTP 500, HTML body",
            pki,
            answer_status("500 Internal Server Error"),
            Expect::Status(500),
        ),
        Case::tls("HTTP 502, HTML body", pki, answer_status("502 Bad Gateway"), Expect::Status(502)),
        Case::tls("HTTP 503, HTML body", pki, answer_status("503 Service Unavailable"), Expect::Status(503)),
        Case::tls("reset after the request", pki, reset_after_request(), Expect::Kind(Network)),
        Case::tls("reset in the middle of the answer", pki, reset_mid_answer(), Expect::Kind(Network)),
        Case::tls("chunked: invalid chunk size", pki, invalid_chunk_size(), Expect::AnyError),
        Case::tls("HTTP/1.0 close-delimited (sanity)", pki, close_delimited(CHAINS_ANSWER), Expect::Success)
            .calling(Call::Chains),
        Case {
            name: "TLS: certificate of an untrusted CA",
            wire: Wire::Tls(pki.untrusted.clone(), answer_json(MORE_DATA_ANSWER)),
            call: Call::StartLogon,
            expect: Expect::Kind(Tls),
            memory_bounded: false,
            check: None,
        },
        Case {
            name: "TLS: plain HTTP instead of ServerHello",
            wire: Wire::Raw(raw_answer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")),
            call: Call::StartLogon,
            expect: Expect::OneOf(&[Tls, Network]),
            memory_bounded: false,
            check: None,
        },
        Case {
            name: "TLS: random bytes instead of ServerHello",
            wire: Wire::Raw(raw_answer(b"\x16\x03\x03\xff\xff\x8a\x17\x00garbage garbage garbage")),
            call: Call::StartLogon,
            expect: Expect::OneOf(&[Tls, Network]),
            memory_bounded: false,
            check: None,
        },
        Case {
            name: "TLS: closed before the handshake",
            wire: Wire::Raw(raw_close()),
            call: Call::StartLogon,
            expect: Expect::OneOf(&[Tls, Network]),
            memory_bounded: false,
            check: None,
        },
    ];
    for status_line in ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"] {
        // The other host: any connection to it would be a followed redirect.
        let decoy = Arc::new(HostileServer::start(Wire::Raw(raw_close())));
        let location = format!("https://localhost:{}/api/v1/logon", decoy.address.port());
        let name = match status_line {
            "301 Moved Permanently" => "redirect 301 to another host",
            "302 Found" => "redirect 302 to another host",
            _ => "redirect 307 to another host",
        };
        let status = status_line[..3].parse().unwrap();
        cases.push(
            Case::tls(name, pki, redirect(status_line, location), Expect::Status(status))
                .checking(not_followed(decoy)),
        );
    }
    cases
}

#[test]
fn every_hostile_server_behaviour_fails_closed_with_its_documented_kind() {
    let pki = Pki::generate();
    let rows: Vec<Row> = cases(&pki).into_iter().map(|case| run(case, &pki)).collect();
    print_table(&rows);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| row.failure.as_ref().map(|why| format!("{}: {why}", row.case)))
        .collect();
    assert!(failures.is_empty(), "hostile server cases failed:\n{}", failures.join("\n"));
}

fn print_table(rows: &[Row]) {
    let width = |column: &dyn Fn(&Row) -> usize, title: &str| {
        rows.iter().map(column).max().unwrap_or(0).max(title.len())
    };
    let case_w = width(&|r| r.case.len(), "case");
    let expected_w = width(&|r| r.expected.len(), "expected");
    let observed_w = width(&|r| r.observed.len(), "observed");
    println!();
    println!(
        "{:<case_w$} | {:<expected_w$} | {:<observed_w$} | {:>6} | {:>9} | ok | message",
        "case", "expected", "observed", "ms", "peak KiB"
    );
    println!("{}", "-".repeat(case_w + expected_w + observed_w + 41 + 40));
    for row in rows {
        let mut message: String = row.message.chars().take(90).collect();
        if row.message.chars().count() > 90 {
            message.push('…');
        }
        println!(
            "{:<case_w$} | {:<expected_w$} | {:<observed_w$} | {:>6} | {:>9} | {} | {}",
            row.case,
            row.expected,
            row.observed,
            row.millis,
            row.peak_growth_kib,
            if row.failure.is_none() { "ok" } else { "NO" },
            message
        );
    }
    println!();
}
