//! Injected faults, simulator-only routes, statistics and HTTPS with the generated CA.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aa_sim::{demo, Fault, FaultRule, SimConfig, Simulator};
use common::*;
use serde_json::json;

fn rule(path: &str, fault: Fault) -> FaultRule {
    FaultRule { method: Some("POST".into()), path_pattern: path.into(), fault, times: Some(1) }
}

/// A raw HTTP/1.1 exchange, to see what a fault does on the wire.
fn raw_post(base: &str, path: &str, body: &str) -> std::io::Result<Vec<u8>> {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

fn body_of(reply: &[u8]) -> &[u8] {
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").expect("header end") + 4;
    &reply[split..]
}

#[test]
fn every_fault_kind_hits_once_then_the_route_works_again() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let logon = json!({ "method_id": "PASSWORD:1", "user_name": "denis", "endpoint_session_id": session })
        .to_string();
    let base = simulator.base_url().to_owned();

    simulator.inject_fault(rule("/api/v1/logon", Fault::Status(503)));
    let (status, body) = client.post("/api/v1/logon", &serde_json::from_str(&logon).unwrap());
    assert_eq!((status, body["status"].as_str()), (503, Some("error")));

    simulator.inject_fault(rule("/api/v1/logon", Fault::MalformedJson));
    let reply = raw_post(&base, "/api/v1/logon", &logon).unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200"));
    assert!(serde_json::from_slice::<serde_json::Value>(body_of(&reply)).is_err());

    simulator.inject_fault(rule("/api/v1/logon", Fault::TruncatedJson));
    let reply = raw_post(&base, "/api/v1/logon", &logon).unwrap();
    let error = serde_json::from_slice::<serde_json::Value>(body_of(&reply)).unwrap_err();
    assert!(error.is_eof(), "{error}");

    simulator.inject_fault(rule("/api/v1/logon", Fault::OversizedBody(5_000_000)));
    let reply = raw_post(&base, "/api/v1/logon", &logon).unwrap();
    assert_eq!(body_of(&reply).len(), 5_000_000);
    assert!(serde_json::from_slice::<serde_json::Value>(body_of(&reply)).is_ok());

    simulator.inject_fault(rule("/api/v1/logon", Fault::ResetConnection));
    let error = raw_post(&base, "/api/v1/logon", &logon).expect_err("connection reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");

    simulator.inject_fault(rule("/api/v1/logon", Fault::Delay(Duration::from_millis(300))));
    let started = Instant::now();
    let (status, _) = client.post("/api/v1/logon", &serde_json::from_str(&logon).unwrap());
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // All rules were single-use: the route answers normally again.
    let (status, body) = client.post("/api/v1/logon", &serde_json::from_str(&logon).unwrap());
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")));
}

#[test]
fn faults_and_expiry_through_the_sim_routes() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let rule = json!({ "method": "POST", "path_pattern": "/api/v1/logon/*/do_logon", "fault": { "kind": "status", "code": 500 } });
    assert_eq!(client.post("/sim/v1/faults", &rule).0, 200);
    let process = client.logon_process(&session, "PASSWORD:1", "denis");
    assert_eq!(client.do_logon(&session, &process, None).0, 500);
    assert_eq!(client.do_logon(&session, &process, None).0, 500);
    assert_eq!(client.delete("/sim/v1/faults", None).0, 200);
    assert_eq!(client.do_logon(&session, &process, None).0, 200);

    let (status, body) =
        client.post("/sim/v1/faults", &json!({ "path_pattern": "/x", "fault": { "kind": "bogus" } }));
    assert_eq!((status, body["status"].as_str()), (400, Some("error")));

    assert_eq!(client.post("/sim/v1/expire", &json!({ "what": "logon_processes" })).0, 200);
    assert_eq!(client.do_logon(&session, &process, None).0, 444);
    assert_eq!(client.post("/sim/v1/expire", &json!({ "what": "endpoint_sessions" })).0, 200);
    assert_eq!(client.start_logon(&session, "PASSWORD:1", "denis").0, 433);

    let (status, lifetimes) = client.put("/sim/v1/lifetimes", &json!({ "logon_process_ms": 1234 }));
    assert_eq!((status, lifetimes["logon_process_ms"].as_u64()), (200, Some(1234)));
    assert_eq!(simulator.lifetimes().logon_process, Duration::from_millis(1234));

    let (status, stats) = client.get("/sim/v1/stats");
    assert_eq!(status, 200);
    assert!(stats["requests"].as_u64().unwrap() >= 10);
    assert!(stats["connections_accepted"].as_u64().unwrap() >= 1);
    assert_eq!(simulator.stats().connections_accepted, stats["connections_accepted"].as_u64().unwrap());
    assert_eq!(client.get("/api/v1/nothing").0, 404);
}

#[test]
fn https_with_the_generated_ca() {
    let simulator = Simulator::start(SimConfig::default()).unwrap();
    assert!(simulator.base_url().starts_with("https://127.0.0.1:"));
    let pem = simulator.ca_pem().expect("generated CA");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let (status, body) = client.start_logon(&session, "U2F:1", demo::USER);
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")));

    // Without trusting the CA the handshake fails.
    let untrusting = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(Vec::new())))
                .build(),
        )
        .build()
        .new_agent();
    assert!(untrusting.get(format!("{}/sim/v1/stats", simulator.base_url())).call().is_err());
}

#[test]
fn rewrite_changes_fields_of_the_real_answer() {
    let simulator = start_plain();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let mut fields = serde_json::Map::new();
    fields.insert("status".into(), json!("PENDING"));
    fields.insert("extra".into(), json!(1));
    simulator.inject_fault(rule("/api/v1/logon", Fault::Rewrite(fields)));
    let logon = json!({ "method_id": "PASSWORD:1", "user_name": "denis", "endpoint_session_id": session });
    let (status, body) = client.post("/api/v1/logon", &logon);
    assert_eq!((status, body["status"].as_str(), body["extra"].as_i64()), (200, Some("PENDING"), Some(1)));
    assert_eq!(body["msgid"], "AUCORE-1008", "the rest of the real answer is kept");
    assert!(body["logon_process_id"].as_str().is_some_and(|id| !id.is_empty()));
}

#[test]
fn app_id_host_is_the_host_of_the_app_id() {
    let simulator = start_plain();
    assert_eq!(simulator.app_id(), demo::APP_ID);
    assert_eq!(simulator.app_id_host(), "aa-sim.local");
}
