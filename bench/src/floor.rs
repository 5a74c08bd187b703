//! The floor: the least a client on the library's stack has to do for the same logon. rustls
//! (ring) over one kept-alive TCP stream, HTTP/1.1 requests built by hand, each written with one
//! `write` (one TLS record), the same JSON bodies, and the same U2F signature through the
//! virtual key's CTAPHID exchange (INIT, then one AUTHENTICATE in 64-byte reports). No pool, no
//! timeouts, no redaction, no verdict rules beyond "status is OK": what any client on this
//! stack could at best do, so the library's figures divided by these are its overhead.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use aa_logon::fido::{DeviceProvider, HidTransport, Report};
use aa_sim::demo;
use aa_virtual_key::ctaphid::{self, command};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, StreamOwned};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::sim::Server;

/// How long the floor waits between AUTHENTICATE polls while the key wants a touch: the same
/// interval as the library (`TOUCH_POLL_INTERVAL` in core/src/fido/sign.rs), so the touch-wait
/// figures compare the work per poll, not the poll rate.
pub const TOUCH_POLL_INTERVAL: Duration = Duration::from_millis(100);

const USER_AGENT: &str = "aa-logon-bench-floor";

pub type Result<T> = std::result::Result<T, String>;

fn io_error(what: &str) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// One kept-alive HTTPS connection to the AA server and the endpoint session used on it.
pub struct FloorClient {
    tls: Arc<rustls::ClientConfig>,
    host: String,
    authority: String,
    stream: Option<StreamOwned<ClientConnection, TcpStream>>,
    session: String,
    request: Vec<u8>,
    input: Vec<u8>,
}

impl FloorClient {
    /// Reads the CA file and connects; creates the endpoint session.
    pub fn new(server: &Server) -> Result<FloorClient> {
        let pem = std::fs::read(&server.ca_file).map_err(io_error("CA file"))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.map_err(|e| format!("CA: {e}"))?).map_err(|e| format!("CA: {e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let authority = server.base_url.trim_start_matches("https://").trim_end_matches('/').to_owned();
        let host = authority.rsplit_once(':').map_or(authority.as_str(), |(host, _)| host).to_owned();
        let mut client = FloorClient {
            tls: Arc::new(tls),
            host,
            authority,
            stream: None,
            session: String::new(),
            request: Vec::with_capacity(2048),
            input: Vec::with_capacity(16 * 1024),
        };
        client.session = client.endpoint_session()?;
        Ok(client)
    }

    fn connect(&mut self) -> Result<StreamOwned<ClientConnection, TcpStream>> {
        let address =
            self.authority.to_socket_addrs().map_err(io_error("resolve"))?.next().ok_or("no address")?;
        let socket = TcpStream::connect(address).map_err(io_error("connect"))?;
        socket.set_nodelay(true).map_err(io_error("nodelay"))?;
        let name = ServerName::try_from(self.host.clone()).map_err(|e| e.to_string())?;
        let connection = ClientConnection::new(self.tls.clone(), name).map_err(|e| e.to_string())?;
        Ok(StreamOwned::new(connection, socket))
    }

    /// `POST /api/v1{path}` with a JSON body; the answer's JSON.
    fn post(&mut self, path: &str, body: &Value) -> Result<Value> {
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        self.request.clear();
        write!(
            self.request,
            "POST /api/v1{path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: application/json\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.authority,
            body.len()
        )
        .expect("writing to a Vec");
        self.request.extend_from_slice(&body);
        if self.stream.is_none() {
            self.stream = Some(self.connect()?);
        }
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(&self.request).map_err(io_error("write"))?;
        let (status, body) = read_response(stream, &mut self.input)?;
        let json: Value = serde_json::from_slice(&body).map_err(|e| format!("answer JSON: {e}"))?;
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}: {json}"));
        }
        Ok(json)
    }

    fn endpoint_session(&mut self) -> Result<String> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
        let salt = hex(&salt);
        let id_hash = hex(&Sha256::new().chain_update(demo::ENDPOINT_ID).chain_update(&salt).finalize());
        let hash = hex(&Sha256::new().chain_update(demo::ENDPOINT_SECRET).chain_update(&id_hash).finalize());
        let answer = self.post(
            &format!("/endpoints/{}/sessions", demo::ENDPOINT_ID),
            &json!({ "salt": salt, "endpoint_secret_hash": hash, "session_data": {} }),
        )?;
        answer["endpoint_session_id"].as_str().map(str::to_owned).ok_or_else(|| "no endpoint session".into())
    }

    /// One U2F logon of `user` with `key`: `POST /logon`, `do_logon` for the challenge, sign,
    /// `do_logon` with the signature; Ok when the server says `OK`.
    pub fn logon(&mut self, user: &str, key: &FloorKey<'_>) -> Result<()> {
        let session = self.session.clone();
        let started = self.post(
            "/logon",
            &json!({ "method_id": "U2F:1", "user_name": user, "event": demo::EVENT, "endpoint_session_id": session }),
        )?;
        let id = started["logon_process_id"].as_str().ok_or("no logon_process_id")?.to_owned();
        let path = format!("/logon/{id}/do_logon");
        let challenge = self.post(&path, &json!({ "endpoint_session_id": session }))?;
        let request = &challenge["signRequests"][0];
        let field = |name: &str| request[name].as_str().ok_or(format!("sign request has no {name}"));
        let signed = key.sign(field("challenge")?, field("keyHandle")?, field("appId")?)?;
        let done = self.post(
            &path,
            &json!({ "endpoint_session_id": session, "response": { "signResponse": signed } }),
        )?;
        match done["status"].as_str() {
            Some("OK") => Ok(()),
            other => Err(format!("logon ended with {other:?}: {done}")),
        }
    }
}

/// Reads one HTTP/1.1 answer with a Content-Length body; (status, body).
fn read_response(stream: &mut impl Read, input: &mut Vec<u8>) -> Result<(u16, Vec<u8>)> {
    input.clear();
    let mut chunk = [0u8; 16 * 1024];
    let mut fill = |input: &mut Vec<u8>| -> Result<()> {
        let n = stream.read(&mut chunk).map_err(io_error("read"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        input.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    let head_end = loop {
        if let Some(at) = input.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        fill(input)?;
    };
    let head = std::str::from_utf8(&input[..head_end]).map_err(|_| "head is not UTF-8")?;
    let status = head.get(9..12).and_then(|s| s.parse().ok()).ok_or("bad status line")?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .ok_or("answer without Content-Length")?;
    while input.len() < head_end + length {
        fill(input)?;
    }
    Ok((status, input[head_end..head_end + length].to_vec()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The floor's side of a security key: a device path of a provider, signed through CTAPHID.
pub struct FloorKey<'a> {
    pub devices: &'a dyn DeviceProvider,
    pub path: String,
}

/// U2F status word "conditions not satisfied": the key wants a touch.
const SW_CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
const SW_NO_ERROR: u16 = 0x9000;

impl FloorKey<'_> {
    /// Opens the key, allocates a channel (INIT) and asks for an AUTHENTICATE with presence,
    /// polling every [`TOUCH_POLL_INTERVAL`] while the key wants a touch. The signResponse JSON.
    pub fn sign(&self, challenge: &str, key_handle: &str, app_id: &str) -> Result<Value> {
        let handle = URL_SAFE_NO_PAD.decode(key_handle).map_err(|e| format!("keyHandle: {e}"))?;
        let client_data = serde_json::to_vec(
            &json!({ "typ": "navigator.id.getAssertion", "challenge": challenge, "origin": app_id }),
        )
        .map_err(|e| e.to_string())?;
        let mut data = Vec::with_capacity(65 + handle.len());
        data.extend_from_slice(&Sha256::digest(&client_data));
        data.extend_from_slice(&Sha256::digest(app_id.as_bytes()));
        data.push(u8::try_from(handle.len()).map_err(|_| "key handle too long")?);
        data.extend_from_slice(&handle);
        // Extended APDU: CLA INS=AUTHENTICATE P1=enforce presence P2, Lc (3 bytes), data, Le (2).
        let mut apdu = vec![0x00, 0x02, 0x03, 0x00, 0x00];
        apdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
        apdu.extend_from_slice(&data);
        apdu.extend_from_slice(&[0x00, 0x00]);

        let mut channel = Channel::open(self.devices, &self.path)?;
        loop {
            let reply = channel.transact(command::MSG, &apdu)?;
            let (body, sw) = reply.split_at(reply.len().checked_sub(2).ok_or("short reply")?);
            match u16::from_be_bytes([sw[0], sw[1]]) {
                SW_NO_ERROR => {
                    return Ok(json!({
                        "keyHandle": key_handle,
                        "clientData": URL_SAFE_NO_PAD.encode(&client_data),
                        "signatureData": URL_SAFE_NO_PAD.encode(body),
                    }))
                }
                SW_CONDITIONS_NOT_SATISFIED => std::thread::sleep(TOUCH_POLL_INTERVAL),
                sw => return Err(format!("AUTHENTICATE answered {sw:04x}")),
            }
        }
    }
}

/// A CTAPHID channel on an open device.
struct Channel {
    transport: Box<dyn HidTransport>,
    cid: u32,
}

const READ_TIMEOUT: Duration = Duration::from_secs(5);

impl Channel {
    fn open(devices: &dyn DeviceProvider, path: &str) -> Result<Channel> {
        let transport = devices.open(path).map_err(|e| e.to_string())?;
        let mut channel = Channel { transport, cid: ctaphid::BROADCAST_CID };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
        let reply = channel.transact(command::INIT, &nonce)?;
        if reply.len() < 12 || reply[..8] != nonce {
            return Err("INIT answer does not echo the nonce".into());
        }
        channel.cid = u32::from_be_bytes([reply[8], reply[9], reply[10], reply[11]]);
        Ok(channel)
    }

    fn transact(&mut self, cmd: u8, payload: &[u8]) -> Result<Vec<u8>> {
        for report in ctaphid::frames(self.cid, cmd, payload) {
            self.transport.write_report(&report).map_err(|e| e.to_string())?;
        }
        let first = loop {
            let report = self.read()?;
            if ctaphid::report_cid(&report) != self.cid {
                continue;
            }
            match report[4] {
                c if c == 0x80 | command::KEEPALIVE => continue,
                c if c == 0x80 | command::ERROR => return Err(format!("CTAPHID error {:#04x}", report[7])),
                c if c == 0x80 | cmd => break report,
                c => return Err(format!("unexpected CTAPHID command {c:#04x}")),
            }
        };
        let len = usize::from(u16::from_be_bytes([first[5], first[6]]));
        let mut message = first[7..].iter().copied().take(len).collect::<Vec<_>>();
        let mut seq = 0u8;
        while message.len() < len {
            let report = self.read()?;
            if ctaphid::report_cid(&report) != self.cid || report[4] != seq {
                return Err("CTAPHID continuation out of sequence".into());
            }
            seq += 1;
            let take = (len - message.len()).min(report.len() - 5);
            message.extend_from_slice(&report[5..5 + take]);
        }
        Ok(message)
    }

    fn read(&mut self) -> Result<Report> {
        self.transport
            .read_report(READ_TIMEOUT)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the key did not answer".into())
    }
}
