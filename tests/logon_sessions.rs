//! Endpoint-session renewal, logon-process expiry and connection reuse against the simulator.

mod logon_support;

use aa_logon::{ErrorKind, LogonStatus, Secret};
use aa_sim::demo;
use logon_support::{client, simulator};

#[test]
fn expired_endpoint_session_is_renewed_transparently() {
    let sim = simulator();
    let client = client(&sim);
    let first = client.endpoint_session_id().unwrap();
    sim.expire_endpoint_sessions();
    let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    let second = client.endpoint_session_id().unwrap();
    assert_ne!(first, second);
    sim.expire_endpoint_sessions();
    let done = logon.answer(Secret::from(demo::PASSWORD)).unwrap();
    assert_eq!(done.status, LogonStatus::Ok, "{:?}", done.raw);
}

#[test]
fn expired_logon_process_surfaces_444() {
    let sim = simulator();
    let mut logon = client(&sim).start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
    sim.expire_logon_processes();
    let e = logon.answer(Secret::from(demo::PASSWORD)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AaHttp, "{e}");
    assert_eq!(e.http_status(), Some(444));
    assert_eq!(e.msgid(), Some("AUCORE-1001"));
    assert!(logon.is_finished());
}

#[test]
fn many_logons_on_one_client_share_one_connection() {
    let sim = simulator();
    let client = client(&sim);
    for _ in 0..10 {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
        assert_eq!(logon.answer(Secret::from(demo::PASSWORD)).unwrap().status, LogonStatus::Ok);
    }
    let stats = sim.stats();
    assert_eq!(stats.connections_accepted, 1, "{stats:?}");
    assert_eq!(stats.requests, 21, "{stats:?}");
}

#[test]
fn clones_share_the_endpoint_session_across_threads() {
    let sim = simulator();
    let client = client(&sim);
    let session = client.endpoint_session_id().unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
                logon.answer(Secret::from(demo::PASSWORD)).unwrap().status.clone()
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), LogonStatus::Ok);
    }
    assert_eq!(client.endpoint_session_id().unwrap(), session);
}
