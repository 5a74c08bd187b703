//! Several AA servers per client (issue 15): failover on connect failures and 502/503/504, the
//! rules for calls that carry answers, back-off, per-server endpoint sessions, logons moving
//! between servers. A two-instance simulator cluster shares one state, like a real AA cluster
//! shares its database; each instance is taken down for real (listener closed, connections
//! reset, 503 answers, connections that hang).

mod logon_support;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aa_logon::{aa::log_filter, Client, ClientConfig, ErrorKind, LogonStatus, Secret, SignOptions};
use aa_sim::{demo, Outage, SimConfig, Simulator};
use aa_virtual_key::{VirtualDevices, VirtualKey};
use logon_support::config;

fn cluster() -> Simulator {
    Simulator::start_cluster(SimConfig::default(), 2).expect("cluster starts")
}

/// Instance 0 preferred, instance 1 as failover; a back-off long enough to never end in a test.
fn cluster_config(sim: &Simulator) -> ClientConfig {
    let mut config = config(sim);
    config.add_failover_url(&sim.base_urls()[1]).unwrap();
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    config.server_backoff = Duration::from_secs(3600);
    config
}

fn cluster_client(sim: &Simulator) -> Client {
    Client::new(cluster_config(sim)).expect("client builds")
}

fn password_logon(client: &Client) -> aa_logon::Result<aa_logon::Logon> {
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1")?;
    let done = logon.answer(Secret::from(demo::PASSWORD))?;
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    Ok(logon)
}

fn devices() -> VirtualDevices {
    let devices = VirtualDevices::new();
    devices.insert(VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes()));
    devices
}

fn sign_options() -> SignOptions {
    SignOptions { timeout: Duration::from_secs(30), ..SignOptions::default() }
}

/// Every log line of this test binary (levels as the library filters them).
struct Lines(Mutex<Vec<String>>);

impl log::Log for Lines {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        log_filter::enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Some(message) = log_filter::message(record) {
            self.0.lock().unwrap().push(format!("{} {message}", record.level()));
        }
    }

    fn flush(&self) {}
}

fn log_lines() -> &'static Lines {
    static LINES: OnceLock<&'static Lines> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines: &'static Lines = Box::leak(Box::new(Lines(Mutex::new(Vec::new()))));
        log::set_logger(lines).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
        lines
    })
}

/// Log lines that name `url` (each test's servers have their own ports) and contain `text`.
fn lines_with(url: &str, text: &str) -> Vec<String> {
    log_lines()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains(url) && line.contains(text))
        .cloned()
        .collect()
}

#[test]
fn preferred_server_refusing_costs_one_connect_attempt_for_the_whole_logon() {
    let lines = log_lines();
    let sim = cluster();
    let (first, second) = (sim.base_urls()[0].clone(), sim.base_urls()[1].clone());
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    let client = cluster_client(&sim);

    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    logon.gather_sign_request().unwrap();
    let done = logon.sign_with_device(&devices(), &sign_options()).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    let session = done.login_session_id.clone().unwrap();
    client.login_session(&session).unwrap();
    client.logout(&session).unwrap();

    assert_eq!(logon.server(), second);
    assert_eq!(client.current_server(), second);
    let refused = lines_with(&first, "refused the connection");
    assert_eq!(refused.len(), 1, "one connect attempt to the refusing server, then back-off: {refused:#?}");
    let moved = lines_with(&first, "INFO AA server");
    assert!(moved.iter().any(|line| line.contains(&format!("trying {second}"))), "{moved:#?}");
    assert_eq!(lines_with(&first, "INFO AA server").len(), 1, "logged once: {:#?}", lines.0.lock().unwrap());

    assert_eq!(
        sim.instance(1).stats().requests,
        6,
        "session, logon, gather, signature, session info, logout"
    );

    // Back up (and the back-off over, here: a client without one): logged once more.
    sim.instance(0).restore().unwrap();
    let mut config = cluster_config(&sim);
    config.server_backoff = Duration::ZERO;
    let eager = Client::new(config).unwrap();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    password_logon(&eager).unwrap();
    sim.instance(0).restore().unwrap();
    password_logon(&eager).unwrap();
    assert_eq!(lines_with(&first, "answers again").len(), 1, "{:#?}", lines.0.lock().unwrap());
}

#[test]
fn preferred_server_answering_503_moves_the_logon_to_the_second() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Unavailable).unwrap();
    let client = cluster_client(&sim);
    let logon = password_logon(&client).unwrap();
    assert_eq!(logon.server(), sim.base_urls()[1]);
    assert_eq!(sim.instance(0).stats().requests, 1, "one 503, then back-off");
}

#[test]
fn preferred_server_resetting_connections_moves_the_logon_to_the_second() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Reset).unwrap();
    let client = cluster_client(&sim);
    let logon = password_logon(&client).unwrap();
    assert_eq!(logon.server(), sim.base_urls()[1]);
    assert_eq!(sim.instance(0).stats().connections_accepted, 1);
}

#[test]
fn preferred_server_hanging_is_given_up_after_the_connect_timeout() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Hang).unwrap();
    let mut config = cluster_config(&sim);
    config.connect_timeout = Duration::from_millis(300);
    let client = Client::new(config).unwrap();
    let logon = password_logon(&client).unwrap();
    assert_eq!(logon.server(), sim.base_urls()[1]);
    assert_eq!(sim.instance(0).stats().connections_accepted, 1, "the hung handshake was not retried");
}

#[test]
fn a_server_killed_between_gather_and_answer_leaves_the_logon_to_the_other() {
    let sim = cluster();
    let client = cluster_client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    logon.gather_sign_request().unwrap();
    assert_eq!(logon.server(), sim.base_urls()[0]);

    // Its kept-alive connection is closed with it, as a killed process's would be.
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    let done = logon.sign_with_device(&devices(), &sign_options()).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(logon.server(), sim.base_urls()[1]);
    assert_eq!(client.current_server(), sim.base_urls()[1]);
}

#[test]
fn a_server_answering_503_between_gather_and_answer_keeps_the_signature() {
    // The signature may have reached it (a load balancer answers 503 for a backend that may have
    // taken the request): it is not sent to the other server, and the error says so.
    let sim = cluster();
    let client = cluster_client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
    logon.gather_sign_request().unwrap();
    let before = sim.instance(1).stats().requests;
    sim.instance(0).set_outage(Outage::Unavailable).unwrap();
    let e = logon.sign_with_device(&devices(), &sign_options()).unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(503)), "{e}");
    assert!(e.message().contains("not sent to the 1 other server"), "{e}");
    assert!(e.message().contains(&sim.base_urls()[0]), "{e}");
    assert_eq!(sim.instance(1).stats().requests, before, "the other server received nothing");
}

#[test]
fn an_answer_that_timed_out_mid_request_is_never_sent_to_a_second_server() {
    let sim = cluster();
    let mut config = cluster_config(&sim);
    config.request_timeout = Duration::from_millis(500);
    let client = Client::new(config).unwrap();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let (before_first, before_second) = (sim.instance(0).stats().requests, sim.instance(1).stats().requests);

    // The kept-alive connection stays open; the server reads the answer and never replies.
    sim.instance(0).set_outage(Outage::Hang).unwrap();
    let e = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("may have reached this one"), "{e}");
    assert_eq!(sim.instance(0).stats().requests, before_first + 1, "the answer reached the first server");
    assert_eq!(sim.instance(1).stats().requests, before_second, "and nothing reached the second");
}

#[test]
fn an_answer_is_sent_to_the_second_server_when_the_first_refuses_connections() {
    let sim = cluster();
    let client = cluster_client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(logon.server(), sim.base_urls()[1]);
}

#[test]
fn all_servers_down_gives_one_error_naming_each_failure() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    sim.instance(1).set_outage(Outage::Unavailable).unwrap();
    let client = cluster_client(&sim);
    let e = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    let message = e.message();
    assert!(message.starts_with("none of the 2 AA servers could serve the call: "), "{message}");
    let (first, second) = (&sim.base_urls()[0], &sim.base_urls()[1]);
    assert!(message.contains(&format!("{first} refused the connection")), "{message}");
    assert!(message.contains(&format!("{second}: HTTP 503: ")), "{message}");

    // Both are in their back-off now: the next call still tries them (there is nothing else).
    sim.instance(1).restore().unwrap();
    assert_eq!(password_logon(&client).unwrap().server(), *second);
}

#[test]
fn a_failed_server_is_skipped_during_its_backoff_and_tried_again_after() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Unavailable).unwrap();
    let client = cluster_client(&sim);
    for _ in 0..3 {
        assert_eq!(password_logon(&client).unwrap().server(), sim.base_urls()[1]);
    }
    assert_eq!(sim.instance(0).stats().requests, 1, "not retried on every call");

    // Without a back-off the preferred server is tried on every call, and used once it is back.
    let mut config = cluster_config(&sim);
    config.server_backoff = Duration::ZERO;
    let eager = Client::new(config).unwrap();
    password_logon(&eager).unwrap();
    password_logon(&eager).unwrap();
    assert_eq!(sim.instance(0).stats().requests, 3, "one 503 per logon");
    sim.instance(0).restore().unwrap();
    assert_eq!(password_logon(&eager).unwrap().server(), sim.base_urls()[0]);
    assert_eq!(eager.current_server(), sim.base_urls()[0]);
}

#[test]
fn a_server_that_does_not_know_the_endpoint_session_gets_its_own() {
    let sim = cluster();
    let client = cluster_client(&sim);
    let shared = client.endpoint_session_id().unwrap();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    // The cluster forgets every session: the second server answers 433 and a new session is
    // made there; the logon process itself is still known.
    sim.expire_endpoint_sessions();
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
    assert_eq!(logon.server(), sim.base_urls()[1]);
    assert_ne!(client.endpoint_session_id().unwrap(), shared);
}

#[test]
fn a_server_that_does_not_know_the_logon_process_says_so() {
    let sim = cluster();
    let client = cluster_client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    sim.expire_logon_processes();
    let e = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    assert_eq!(e.http_status(), Some(444), "{e}");
    let (first, second) = (&sim.base_urls()[0], &sim.base_urls()[1]);
    assert!(
        e.message().starts_with(&format!("{second} does not know this logon process, which {first} started")),
        "{e}"
    );
    assert!(e.message().contains("start the logon again"), "{e}");
    assert!(logon.is_finished());
}

#[test]
fn a_single_server_client_reports_errors_as_before() {
    let sim = cluster();
    sim.instance(0).set_outage(Outage::Unavailable).unwrap();
    let client = Client::new(config(&sim)).unwrap();
    let e = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(503)), "{e}");
    assert!(!e.message().contains("none of"), "{e}");
    assert_eq!(client.server_urls(), [sim.base_url().to_owned()]);
}

#[test]
fn a_verdict_of_the_first_server_is_final() {
    // A wrong password is wrong on every server: no other server is asked.
    let sim = cluster();
    let client = cluster_client(&sim);
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let e = logon.answer(Secret::from("wrong")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LogonFailed, "{e}");
    assert_eq!(sim.instance(1).stats().requests, 0);
}

#[test]
fn a_server_whose_certificate_is_not_trusted_is_skipped_before_anything_is_sent() {
    // A failed TLS handshake sends nothing: even the answer may go on to the next server.
    let stranger = Simulator::start(SimConfig::default()).unwrap(); // its own CA, not trusted
    let sim = cluster();
    let mut config = config(&sim);
    config.base_url = stranger.base_url().to_owned();
    config.add_failover_url(sim.base_url()).unwrap();
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    let client = Client::new(config).unwrap();
    let logon = password_logon(&client).unwrap();
    assert_eq!(logon.server(), sim.base_url());
    assert_eq!(stranger.stats().requests, 0);
    assert_eq!(stranger.stats().connections_accepted, 1, "one handshake, then back-off");
}

#[test]
fn an_answer_stopped_on_the_second_of_three_servers_reports_both_and_skips_the_third() {
    let sim = Simulator::start_cluster(SimConfig::default(), 3).unwrap();
    let urls = sim.base_urls();
    let mut config = cluster_config(&sim);
    config.add_failover_url(&urls[2]).unwrap();
    let client = Client::new(config).unwrap();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.instance(0).set_outage(Outage::Refuse).unwrap();
    sim.instance(1).set_outage(Outage::Unavailable).unwrap();
    let before = sim.instance(2).stats().requests;
    let e = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    let message = e.message();
    assert!(message.contains(&format!("{} refused the connection", urls[0])), "{message}");
    assert!(message.contains(&format!("{}: HTTP 503: ", urls[1])), "{message}");
    assert!(message
        .ends_with("not sent to the 1 other server of the cluster: the request may have reached this one"));
    assert_eq!(sim.instance(2).stats().requests, before, "the third server received nothing");
}
