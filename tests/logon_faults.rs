//! Server faults give their error kinds, never a panic or a hang, and the client recovers after.

mod logon_support;

use std::time::Duration;

use aa_logon::{Client, ErrorKind, Logon, LogonStatus, Secret};
use aa_sim::{demo, Fault, FaultRule, Simulator};
use logon_support::{client, config, simulator};

const DO_LOGON: &str = "/api/v1/logon/*/do_logon";

fn once(fault: Fault) -> FaultRule {
    FaultRule { method: Some("POST".into()), path_pattern: DO_LOGON.into(), fault, times: Some(1) }
}

/// Starts a password logon, has its answer hit by `fault`, and checks the same logon then succeeds.
fn answer_through_fault(sim: &Simulator, client: &Client, fault: Fault) -> aa_logon::Error {
    let mut logon: Logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.inject_fault(once(fault));
    let error = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "the client recovers after the fault");
    error
}

#[test]
fn server_error_status_is_an_aa_http_error() {
    let sim = simulator();
    let e = answer_through_fault(&sim, &client(&sim), Fault::Status(503));
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(503)), "{e}");
}

#[test]
fn connection_reset_is_a_network_error() {
    let sim = simulator();
    let e = answer_through_fault(&sim, &client(&sim), Fault::ResetConnection);
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
}

#[test]
fn malformed_and_truncated_json_are_malformed_server_data() {
    let sim = simulator();
    let client = client(&sim);
    for fault in [Fault::MalformedJson, Fault::TruncatedJson] {
        let e = answer_through_fault(&sim, &client, fault.clone());
        assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{fault:?}: {e}");
    }
}

#[test]
fn oversized_body_is_refused() {
    let sim = simulator();
    let e = answer_through_fault(&sim, &client(&sim), Fault::OversizedBody(2 * 1024 * 1024));
    assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
}

#[test]
fn delay_beyond_the_request_timeout_is_a_timeout() {
    let sim = simulator();
    let mut config = config(&sim);
    config.request_timeout = Duration::from_secs(1);
    let client = Client::new(config).unwrap();
    // The server would answer after 4 s: a Timeout (not the answer) shows the client gave up at
    // its own 1 s request timeout. How soon after it is a benchmark question, not asserted here.
    let e = answer_through_fault(&sim, &client, Fault::Delay(Duration::from_secs(4)));
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[test]
fn faults_on_endpoint_session_creation_surface_too() {
    let sim = simulator();
    sim.inject_fault(FaultRule {
        method: None,
        path_pattern: "/api/v1/endpoints/*/sessions".into(),
        fault: Fault::MalformedJson,
        times: Some(1),
    });
    let client = client(&sim);
    assert_eq!(client.endpoint_session_id().unwrap_err().kind(), ErrorKind::MalformedServerData);
    assert!(client.endpoint_session_id().is_ok());
}
