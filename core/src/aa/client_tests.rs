//! Client behaviour against a scripted HTTP server on loopback: real sockets, real HTTP/1.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{Client, ClientConfig, ErrorKind, LogonStatus, Secret};

/// What the server does with the next request.
enum Step {
    Answer(u16, String),
    /// Read the request, then say nothing for this long.
    Stall(Duration),
}

#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: String,
    body: Value,
}

struct ScriptedServer {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ScriptedServer {
    fn start(steps: Vec<Step>) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        thread::spawn(move || {
            let mut steps = steps.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                if !serve_connection(stream, &mut steps, &recorded) {
                    return;
                }
            }
        });
        ScriptedServer { base_url, seen }
    }

    fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    fn config(&self) -> ClientConfig {
        ClientConfig::new(self.base_url.clone(), "178fa64ebafe11eaa1fb0242ac110003", Secret::from("s3cr3t"))
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap()
    }
}

/// Serves requests on one keep-alive connection; false once the script is used up.
fn serve_connection(
    stream: TcpStream,
    steps: &mut impl Iterator<Item = Step>,
    seen: &Mutex<Vec<Seen>>,
) -> bool {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return true;
        }
        let mut headers = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            headers.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock().unwrap().push(Seen { request_line: request_line.trim().to_owned(), headers, body });
        match steps.next() {
            Some(Step::Answer(status, body)) => {
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(answer.as_bytes()).is_err() {
                    return true;
                }
            }
            Some(Step::Stall(duration)) => {
                thread::sleep(duration);
                return true;
            }
            None => return false,
        }
    }
}

fn ok(body: Value) -> Step {
    Step::Answer(200, body.to_string())
}

fn session(id: &str) -> Step {
    ok(json!({ "endpoint_session_id": id }))
}

fn started(method: &str) -> Step {
    ok(json!({ "status": "MORE_DATA", "msg": "Process has been started", "reason": "PROCESS_STARTED",
        "msgid": "AUCORE-1008", "current_method": method, "completed_methods": [], "chains": [],
        "logon_process_id": "htP5QVP8hR2YGiO1RIIwNT4I4bmHj9HE" }))
}

fn envelope(status: u16, msgid: &str, description: &str) -> Step {
    Step::Answer(
        status,
        json!({ "status": "error", "errors": [{ "location": "server", "name": "AuError", "msgid": msgid,
            "description": description }] })
        .to_string(),
    )
}

/// The server no longer knows the endpoint session (HTTP 433).
fn session_expired() -> Step {
    envelope(433, "AUCORE-1063", "Endpoint session is not found")
}

#[test]
fn expired_endpoint_session_is_renewed_and_the_call_retried_once() {
    let server = ScriptedServer::start(vec![
        session("SESSION1"),
        session_expired(),
        session("SESSION2"),
        started("PASSWORD:1"),
    ]);
    let client = server.client();
    let logon = client.start_logon("LOCAL\\admin", "demo", "PASSWORD:1").unwrap();
    assert_eq!(logon.process_id(), "htP5QVP8hR2YGiO1RIIwNT4I4bmHj9HE");
    assert_eq!(client.endpoint_session_id().unwrap(), "SESSION2");
    let seen = server.seen();
    let lines: Vec<&str> = seen.iter().map(|s| s.request_line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "POST /api/v1/endpoints/178fa64ebafe11eaa1fb0242ac110003/sessions HTTP/1.1",
            "POST /api/v1/logon HTTP/1.1",
            "POST /api/v1/endpoints/178fa64ebafe11eaa1fb0242ac110003/sessions HTTP/1.1",
            "POST /api/v1/logon HTTP/1.1",
        ]
    );
    assert_eq!(seen[1].body["endpoint_session_id"], "SESSION1");
    assert_eq!(seen[3].body["endpoint_session_id"], "SESSION2");
    assert_ne!(seen[0].body["salt"], seen[2].body["salt"], "each session gets a fresh salt");
    let hash = seen[0].body["endpoint_secret_hash"].as_str().unwrap();
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(seen[3].body["user_name"], "LOCAL\\admin");
    assert!(seen[0].headers.to_ascii_lowercase().contains("user-agent: aa-logon/"));
}

#[test]
fn a_second_433_is_not_retried_again() {
    let server =
        ScriptedServer::start(vec![session("S1"), session_expired(), session("S2"), session_expired()]);
    let e = server.client().start_logon("u", "e", "PASSWORD:1").unwrap_err();
    assert_eq!((e.kind(), e.http_status(), e.msgid()), (ErrorKind::AaHttp, Some(433), Some("AUCORE-1063")));
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn failed_answer_is_an_error_and_the_response_is_kept() {
    let server = ScriptedServer::start(vec![
        session("S1"),
        started("PASSWORD:1"),
        ok(json!({ "status": "FAILED", "msg": "Incorrect password", "reason": "PASSWORD_WRONG",
            "msgid": "AUCORE-2007", "current_method": "PASSWORD:1" })),
    ]);
    let client = server.client();
    let mut logon = client.start_logon("u", "e", "PASSWORD:1").unwrap();
    let e = logon.answer(Secret::from("wrong-password")).unwrap_err();
    assert_eq!(
        (e.kind(), e.msgid(), e.reason()),
        (ErrorKind::LogonFailed, Some("AUCORE-2007"), Some("PASSWORD_WRONG"))
    );
    assert_eq!(e.message(), "Incorrect password");
    assert_eq!(logon.response().status, LogonStatus::Failed);
    assert!(logon.is_finished());
    assert_eq!(
        server.seen()[2].body,
        json!({ "endpoint_session_id": "S1", "response": { "answer": "wrong-password" } })
    );
    assert_eq!(logon.answer(Secret::from("again")).unwrap_err().kind(), ErrorKind::InvalidState);
    assert_eq!(logon.gather_sign_request().unwrap_err().kind(), ErrorKind::InvalidState);
}

#[test]
fn gathering_u2f_on_another_method_is_invalid_state() {
    let server = ScriptedServer::start(vec![session("S1"), started("PASSWORD:1")]);
    let mut logon = server.client().start_logon("u", "e", "PASSWORD:1").unwrap();
    assert_eq!(logon.gather_sign_request().unwrap_err().kind(), ErrorKind::InvalidState);
    assert_eq!(server.seen().len(), 2, "nothing was sent");
}

#[test]
fn oversized_answers_are_refused() {
    let big = json!({ "endpoint_session_id": "x".repeat(4096) });
    let server = ScriptedServer::start(vec![ok(big)]);
    let mut config = server.config();
    config.max_response_bytes = 1024;
    let e = Client::new(config).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
}

#[test]
fn a_silent_server_times_out_on_time() {
    let server = ScriptedServer::start(vec![Step::Stall(Duration::from_secs(5))]);
    let mut config = server.config();
    config.request_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let e = Client::new(config).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[test]
fn nobody_listening_is_a_network_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ClientConfig::new(format!("http://127.0.0.1:{port}"), "id", Secret::from("s"));
    let e = Client::new(config).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
}

#[test]
fn query_values_are_encoded() {
    let server = ScriptedServer::start(vec![
        session("S/1"),
        ok(json!({ "chains": [{ "methods": ["PASSWORD:1"], "name": "Password" }], "user_is_locked": false })),
    ]);
    let chains = server.client().chains("LOCAL\\admin", "Search Card").unwrap();
    assert_eq!(chains.chains[0].methods, ["PASSWORD:1"]);
    assert_eq!(
        server.seen()[1].request_line,
        "GET /api/v1/logon/chains?user_name=LOCAL%5Cadmin&is_trusted=true&event=Search%20Card&endpoint_session_id=S%2F1 HTTP/1.1"
    );
}

#[test]
fn bad_configuration_is_refused_up_front() {
    let mut config = ClientConfig::new("https://aa.example", "id", Secret::from("s"));
    config.proxy = Some("not a proxy url".into());
    assert_eq!(Client::new(config).unwrap_err().kind(), ErrorKind::Config);
    let mut config = ClientConfig::new("https://aa.example", "id", Secret::from("s"));
    config.request_timeout = Duration::ZERO;
    assert_eq!(Client::new(config).unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(
        Client::new(ClientConfig::new("https://aa.example", "id", Secret::from(""))).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn client_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<Client>();
    assert_send::<crate::Logon>();
}

#[test]
fn request_bodies_are_wiped_in_place_once_sent() {
    use super::call::json_body;
    use super::http::{ApiRequest, Http, Method};

    let server = ScriptedServer::start(vec![ok(json!({ "status": "OK" }))]);
    let config = server.config();
    let http = Http::new(&config).unwrap();
    let api_base = super::http::api_base(&config.base_url).unwrap();
    let mut body = json_body(&json!({ "response": { "answer": "p\u{e4}ss\"w\\ord-1" } })).unwrap();
    let (len, capacity) = (body.len(), body.capacity());
    assert_eq!(len, capacity, "sized exactly, so it never reallocated (no stray copy)");
    let request =
        ApiRequest { method: Method::Post, route: "/x", path_and_query: "/x".into(), body: Some(&mut body) };
    http.call(&api_base, request).unwrap();
    assert_eq!(server.seen()[0].body["response"]["answer"], "p\u{e4}ss\"w\\ord-1", "it was sent");
    assert_eq!((body.len(), body.capacity()), (len, capacity), "the same buffer, not a copy");
    assert!(body.iter().all(|b| *b == 0), "wiped right after sending: {body:?}");

    // Also when sending fails.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ClientConfig::new(format!("http://127.0.0.1:{port}"), "id", Secret::from("s"));
    let mut body = json_body(&json!({ "answer": "123456" })).unwrap();
    let request =
        ApiRequest { method: Method::Post, route: "/x", path_and_query: "/x".into(), body: Some(&mut body) };
    let api_base = super::http::api_base(&config.base_url).unwrap();
    let failure = Http::new(&config).unwrap().call(&api_base, request).unwrap_err();
    assert_eq!((failure.error.kind(), failure.stage), (ErrorKind::Network, super::http::Stage::NotSent));
    assert!(!body.is_empty() && body.iter().all(|b| *b == 0));
}

#[test]
fn the_endpoint_session_body_carries_the_hash_and_no_secret() {
    let server = ScriptedServer::start(vec![session("S1")]);
    server.client().endpoint_session_id().unwrap();
    let seen = server.seen();
    let body = seen[0].body.as_object().unwrap();
    assert_eq!(
        body.keys().map(String::as_str).collect::<Vec<_>>(),
        ["endpoint_secret_hash", "salt", "session_data"]
    );
    assert_eq!(body["session_data"], json!({}));
    assert!(!seen[0].headers.contains("s3cr3t"));
}
