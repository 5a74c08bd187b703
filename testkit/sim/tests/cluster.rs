//! A cluster of simulator instances sharing one state: shared sessions, processes and faults;
//! each outage (refuse, reset, unavailable, hang) on the wire, through the Rust API and the
//! `/sim/v1/instances` routes; per-instance counters.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use aa_sim::{demo, Fault, FaultRule, InstanceStats, Outage, SimConfig, Simulator, TlsMode};
use common::*;
use serde_json::{json, Value};

/// Hang guard: no exchange in these tests should take anywhere near this long.
const GUARD: Duration = Duration::from_secs(30);

fn plain_cluster(instances: usize) -> Simulator {
    Simulator::start_cluster(SimConfig { tls: TlsMode::PlainHttp, ..SimConfig::default() }, instances)
        .expect("cluster starts")
}

fn address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").trim_start_matches("https://").parse().expect("host:port")
}

/// Waits (woken by the instance's counter changes) until `condition` holds; fails after the
/// hang guard.
fn wait_until(
    simulator: &Simulator,
    instance: usize,
    what: &str,
    condition: impl FnMut(&InstanceStats) -> bool,
) {
    assert!(
        simulator.instance(instance).wait_for_stats(condition, GUARD),
        "still not {what} after {GUARD:?}"
    );
}

/// A raw plain-HTTP/1.1 keep-alive connection, to see exactly what happens to one connection.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(url: &str) -> io::Result<Raw> {
        let stream = TcpStream::connect(address(url))?;
        stream.set_read_timeout(Some(GUARD))?;
        Ok(Raw { reader: BufReader::new(stream) })
    }

    fn send(&mut self, method: &str, path: &str, body: &Value) -> io::Result<()> {
        let body = body.to_string();
        let stream = self.reader.get_mut();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: aa-sim\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn receive(&mut self) -> io::Result<(u16, Value)> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = status_line.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status code");
        let mut length = 0;
        loop {
            let mut header = String::new();
            self.reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("Content-Length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((
            status,
            if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).expect("JSON body") },
        ))
    }

    fn exchange(&mut self, method: &str, path: &str, body: &Value) -> io::Result<(u16, Value)> {
        self.send(method, path, body)?;
        self.receive()
    }

    fn stats(&mut self) -> (u16, Value) {
        self.exchange("GET", "/sim/v1/stats", &Value::Null).expect("stats exchange")
    }

    /// What the next read sees: `Ok(0)` for a closed connection (FIN), an error for a reset.
    fn read_once(&mut self) -> io::Result<usize> {
        let mut byte = [0u8; 1];
        self.reader.read(&mut byte)
    }

    fn set_read_timeout(&self, timeout: Duration) {
        self.reader.get_ref().set_read_timeout(Some(timeout)).expect("read timeout set");
    }
}

/// The connection was closed by the server: end of stream, or a reset.
fn assert_closed(raw: &mut Raw) {
    match raw.read_once() {
        Ok(0) => {}
        Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {}
        other => panic!("connection still open: {other:?}"),
    }
}

fn assert_reset(result: io::Result<(u16, Value)>) {
    match result {
        Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}"),
        Ok(answer) => panic!("answered instead of reset: {answer:?}"),
    }
}

fn logon_body(session: &str) -> Value {
    json!({ "method_id": "PASSWORD:1", "user_name": demo::USER, "event": demo::EVENT, "endpoint_session_id": session })
}

#[test]
fn every_instance_shares_the_state_and_trusts_one_ca() {
    let simulator = Simulator::start_cluster(SimConfig::default(), 3).expect("cluster starts");
    let urls = simulator.base_urls();
    assert_eq!((simulator.instance_count(), urls.len()), (3, 3));
    assert_eq!(simulator.base_url(), urls[0]);
    let addresses: Vec<SocketAddr> = urls.iter().map(|url| address(url)).collect();
    assert!(urls.iter().all(|url| url.starts_with("https://127.0.0.1:")), "{urls:?}");
    assert!(addresses[0].port() != addresses[1].port() && addresses[1].port() != addresses[2].port());
    for (index, url) in urls.iter().enumerate() {
        assert_eq!(simulator.instance(index).index(), index);
        assert_eq!(simulator.instance(index).base_url(), url);
        assert_eq!(simulator.instance(index).outage(), None);
    }

    // One CA for all: each client trusts only the cluster's CA.
    let clients: Vec<Client> =
        (0..3).map(|index| Client::for_instance(&simulator, index, Some(GUARD))).collect();
    let session = clients[0].endpoint_session();
    let process = clients[1].logon_process(&session, "PASSWORD:1", demo::USER);
    let (status, body) = clients[2].do_logon(&session, &process, Some(json!({ "answer": demo::PASSWORD })));
    assert_eq!((status, body["status"].as_str()), (200, Some("OK")), "{body}");
    let login = body["login_session_id"].as_str().expect("login session").to_owned();
    let (status, body) =
        clients[0].get(&format!("/api/v1/logon/sessions/{login}?endpoint_session_id={session}"));
    assert_eq!(status, 200, "{body}");

    // Faults and expiry are the cluster's too.
    simulator.inject_fault(FaultRule {
        method: Some("POST".into()),
        path_pattern: "/api/v1/logon".into(),
        fault: Fault::Status(500),
        times: Some(1),
    });
    assert_eq!(clients[2].post("/api/v1/logon", &logon_body(&session)).0, 500);
    assert_eq!(clients[1].post("/api/v1/logon", &logon_body(&session)).0, 200);
    assert_eq!(clients[1].post("/sim/v1/expire", &json!({ "what": "endpoint_sessions" })).0, 200);
    assert_eq!(clients[0].start_logon(&session, "PASSWORD:1", demo::USER).0, 433);

    let per_instance: Vec<InstanceStats> = (0..3).map(|index| simulator.instance(index).stats()).collect();
    let total = simulator.stats();
    assert_eq!(total.requests, per_instance.iter().map(|stats| stats.requests).sum::<u64>());
    assert_eq!(total.connections_accepted, per_instance.iter().map(|s| s.connections_accepted).sum::<u64>());
    assert!(per_instance.iter().all(|stats| stats.requests >= 2 && stats.connections_accepted >= 1));
}

#[test]
fn refuse_closes_the_listener_and_connections_and_restore_listens_on_the_same_port() {
    let simulator = plain_cluster(2);
    let url = simulator.base_urls()[1].clone();
    let client = Client::new(&simulator);
    let session = client.endpoint_session();
    let mut open = Raw::connect(&url).unwrap();
    assert_eq!(open.stats().0, 200);

    simulator.instance(1).set_outage(Outage::Refuse).unwrap();
    assert_eq!(simulator.instance(1).outage(), Some(Outage::Refuse));
    let refused = TcpStream::connect(address(&url)).expect_err("connect refused");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused, "{refused}");
    assert_closed(&mut open);
    assert_eq!(simulator.instance(1).stats().open_connections, 0);
    // The other instance serves on.
    assert_eq!(client.start_logon(&session, "PASSWORD:1", demo::USER).0, 200);
    // Refusing again changes nothing.
    simulator.instance(1).set_outage(Outage::Refuse).unwrap();

    simulator.instance(1).restore().unwrap();
    assert_eq!(simulator.instance(1).outage(), None);
    assert_eq!(simulator.base_urls()[1], url);
    let mut again = Raw::connect(&url).expect("the same port answers again");
    let (status, body) = again.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")), "the state survived: {body}");
    // Restoring an instance that is up changes nothing.
    simulator.instance(1).restore().unwrap();
    assert_eq!(again.stats().0, 200);
}

#[test]
fn reset_resets_open_and_new_connections() {
    let simulator = plain_cluster(2);
    let url = simulator.base_url().to_owned();
    let mut open = Raw::connect(&url).unwrap();
    assert_eq!(open.stats().0, 200);
    let accepted = simulator.instance(0).stats().connections_accepted;

    simulator.instance(0).set_outage(Outage::Reset).unwrap();
    match open.read_once() {
        Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}"),
        Ok(read) => panic!("open connection not reset (read {read})"),
    }
    let mut fresh = Raw::connect(&url).expect("connections are still accepted");
    assert_reset(fresh.exchange("GET", "/sim/v1/stats", &Value::Null));
    assert_eq!(simulator.instance(0).stats().connections_accepted, accepted + 1);
    assert_eq!(simulator.instance(0).stats().open_connections, 0);
    assert_eq!(Raw::connect(&simulator.base_urls()[1]).unwrap().stats().0, 200);

    simulator.instance(0).restore().unwrap();
    assert_eq!(Raw::connect(&url).unwrap().stats().0, 200);
}

#[test]
fn unavailable_answers_503_on_open_connections_and_keeps_the_sim_routes() {
    let simulator = plain_cluster(2);
    let url = simulator.base_url().to_owned();
    let session = Client::new(&simulator).endpoint_session();
    let mut open = Raw::connect(&url).unwrap();
    assert_eq!(open.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap().0, 200);

    simulator.instance(0).set_outage(Outage::Unavailable).unwrap();
    let (status, body) = open.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap();
    assert_eq!((status, body["status"].as_str()), (503, Some("error")), "{body}");
    assert_eq!(body["errors"][0]["location"], "server", "{body}");
    assert!(body["errors"][0]["description"].as_str().unwrap().contains("Service Unavailable"), "{body}");
    // Still the same connection, which also keeps answering the simulator's routes.
    let (status, _) = open.exchange("GET", "/api/v1/logon/chains?user_name=denis", &Value::Null).unwrap();
    assert_eq!(status, 503);
    assert_eq!(open.stats().0, 200);
    assert_eq!(simulator.instance(0).stats().connections_accepted, 2, "one for the client, one raw");
    // A fault rule is not used up by a request the outage answered.
    simulator.inject_fault(FaultRule {
        method: None,
        path_pattern: "/api/v1/logon".into(),
        fault: Fault::Status(502),
        times: Some(1),
    });
    assert_eq!(open.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap().0, 503);
    let mut other = Raw::connect(&simulator.base_urls()[1]).unwrap();
    assert_eq!(other.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap().0, 502);
    assert_eq!(other.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap().0, 200);

    simulator.instance(0).restore().unwrap();
    let (status, body) = open.exchange("POST", "/api/v1/logon", &logon_body(&session)).unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("MORE_DATA")), "{body}");
}

#[test]
fn hang_never_answers_and_restore_closes_the_hung_connections() {
    let simulator = plain_cluster(2);
    let url = simulator.base_url().to_owned();
    let mut busy = Raw::connect(&url).unwrap();
    let mut idle = Raw::connect(&url).unwrap();
    assert_eq!(busy.stats().0, 200);
    assert_eq!(idle.stats().0, 200);

    simulator.instance(0).set_outage(Outage::Hang).unwrap();
    busy.send("GET", "/sim/v1/stats", &Value::Null).unwrap();
    busy.set_read_timeout(Duration::from_millis(200));
    let error = busy.receive().expect_err("no answer while hung");
    assert!(matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{error}");
    let accepted = simulator.instance(0).stats().connections_accepted;
    let mut during = Raw::connect(&url).unwrap();
    wait_until(&simulator, 0, "the connection made during the hang is accepted", |stats| {
        stats.connections_accepted == accepted + 1
    });

    simulator.instance(0).restore().unwrap();
    busy.set_read_timeout(GUARD);
    assert_closed(&mut busy);
    assert_closed(&mut during);
    // A connection that asked nothing during the hang was not hung: it is served again.
    assert_eq!(idle.stats().0, 200);
    assert_eq!(Raw::connect(&url).unwrap().stats().0, 200);
    wait_until(&simulator, 0, "only the idle connection open", |stats| stats.open_connections == 1);
}

#[test]
fn hang_over_tls_times_the_client_out() {
    let simulator = Simulator::start_cluster(SimConfig::default(), 2).expect("cluster starts");
    let client = Client::for_instance(&simulator, 1, Some(Duration::from_millis(300)));
    assert_eq!(client.try_get("/sim/v1/stats").unwrap(), 200);
    simulator.instance(1).set_outage(Outage::Hang).unwrap();
    // The kept-alive connection gets no answer, and neither does a new one (no TLS handshake).
    for attempt in ["kept-alive connection", "new connection"] {
        let error = client.try_get("/sim/v1/stats").expect_err("hung");
        assert!(matches!(error, ureq::Error::Timeout(_)), "{attempt}: {error}");
    }
    let fresh = Client::for_instance(&simulator, 1, Some(Duration::from_millis(300)));
    assert!(matches!(fresh.try_get("/sim/v1/stats"), Err(ureq::Error::Timeout(_))));
    assert_eq!(Client::for_instance(&simulator, 0, Some(GUARD)).try_get("/sim/v1/stats").unwrap(), 200);
    simulator.instance(1).restore().unwrap();
    assert_eq!(Client::for_instance(&simulator, 1, Some(GUARD)).try_get("/sim/v1/stats").unwrap(), 200);
}

#[test]
fn outages_follow_each_other() {
    let simulator = plain_cluster(1);
    let url = simulator.base_url().to_owned();
    let instance = simulator.instance(0);
    for outage in
        [Outage::Hang, Outage::Refuse, Outage::Unavailable, Outage::Reset, Outage::Refuse, Outage::Hang]
    {
        instance.set_outage(outage).unwrap();
        assert_eq!(instance.outage(), Some(outage));
        match outage {
            Outage::Refuse => assert!(TcpStream::connect(address(&url)).is_err()),
            Outage::Reset => {
                assert_reset(Raw::connect(&url).unwrap().exchange("GET", "/sim/v1/stats", &Value::Null))
            }
            Outage::Unavailable => {
                let answer =
                    Raw::connect(&url).unwrap().exchange("GET", "/api/v1/logon/chains", &Value::Null);
                assert_eq!(answer.unwrap().0, 503);
            }
            Outage::Hang => {}
        }
    }
    instance.restore().unwrap();
    assert_eq!(Raw::connect(&url).unwrap().stats().0, 200);
}

#[test]
fn stats_count_per_instance_and_the_peak_resets() {
    let simulator = plain_cluster(2);
    let url = simulator.base_urls()[1].clone();
    assert_eq!(simulator.instance(1).stats(), InstanceStats::default());
    let mut connections: Vec<Raw> = (0..3).map(|_| Raw::connect(&url).unwrap()).collect();
    for raw in &mut connections {
        assert_eq!(raw.stats().0, 200);
    }
    let expected =
        InstanceStats { connections_accepted: 3, requests: 3, open_connections: 3, peak_open_connections: 3 };
    assert_eq!(simulator.instance(1).stats(), expected);
    assert_eq!(simulator.instance(0).stats(), InstanceStats::default());
    assert_eq!((simulator.stats().connections_accepted, simulator.stats().requests), (3, 3));

    connections.truncate(1);
    wait_until(&simulator, 1, "two connections closed", |stats| stats.open_connections == 1);
    assert_eq!(simulator.instance(1).stats().peak_open_connections, 3);
    simulator.instance(1).reset_peak_open_connections();
    assert_eq!(simulator.instance(1).stats().peak_open_connections, 1);
    let mut second = Raw::connect(&url).unwrap();
    assert_eq!(second.stats().0, 200);
    let stats = simulator.instance(1).stats();
    assert_eq!((stats.open_connections, stats.peak_open_connections, stats.connections_accepted), (2, 2, 4));

    // The simulator's own reset covers every instance; closing by an outage is counted at once.
    simulator.instance(1).set_outage(Outage::Refuse).unwrap();
    assert_eq!(simulator.instance(1).stats().open_connections, 0);
    simulator.reset_peak_open_connections();
    assert_eq!(simulator.instance(1).stats().peak_open_connections, 0);
}

#[test]
fn the_instances_routes_control_the_cluster() {
    let simulator = plain_cluster(3);
    let urls = simulator.base_urls();
    let via = |index: usize| Client::for_instance(&simulator, index, Some(GUARD));

    let (status, list) = via(2).get("/sim/v1/instances");
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 3);
    for (index, entry) in list.iter().enumerate() {
        assert_eq!(entry["index"], index);
        assert_eq!(entry["base_url"], urls[index]);
        assert_eq!(entry["outage"], Value::Null);
        for counter in ["connections_accepted", "requests", "open_connections", "peak_open_connections"] {
            assert!(entry[counter].is_u64(), "{counter} in {entry}");
        }
    }
    assert_eq!(list[2]["requests"], 1, "this very request");

    // Another instance takes instance 0 down and brings it back.
    let (status, body) = via(2).post("/sim/v1/instances/0/outage", &json!({ "kind": "refuse" }));
    assert_eq!((status, body["instance"]["outage"].as_str()), (200, Some("refuse")), "{body}");
    assert!(TcpStream::connect(address(&urls[0])).is_err());
    assert_eq!(simulator.instance(0).outage(), Some(Outage::Refuse));
    assert_eq!(via(1).get("/sim/v1/instances/0").1["outage"], "refuse");
    let (status, body) = via(1).delete("/sim/v1/instances/0/outage", None);
    assert_eq!((status, &body["instance"]["outage"]), (200, &Value::Null), "{body}");
    assert_eq!(via(0).get("/sim/v1/stats").0, 200);

    let (status, _) = via(0).post("/sim/v1/instances/1/outage", &json!({ "kind": "unavailable" }));
    assert_eq!(status, 200);
    assert_eq!(via(1).get("/api/v1/logon/chains?user_name=denis").0, 503);
    assert_eq!(via(1).get("/sim/v1/instances").0, 200);
    let (status, _) = via(0).post("/sim/v1/instances/1/outage", &json!({ "kind": "hang" }));
    assert_eq!(status, 200);
    assert!(matches!(
        Client::for_instance(&simulator, 1, Some(Duration::from_millis(200))).try_get("/sim/v1/stats"),
        Err(ureq::Error::Timeout(_))
    ));
    assert_eq!(via(0).delete("/sim/v1/instances/1/outage", None).0, 200);

    // An instance takes itself down: it answers first, then its connection closes.
    for kind in ["refuse", "reset"] {
        let mut raw = Raw::connect(&urls[2]).unwrap();
        let (status, body) =
            raw.exchange("POST", "/sim/v1/instances/2/outage", &json!({ "kind": kind })).unwrap();
        assert_eq!((status, body["instance"]["outage"].as_str()), (200, Some(kind)), "{body}");
        assert_closed(&mut raw);
        assert_eq!(simulator.instance(2).outage(), Outage::from_name(kind));
        assert_eq!(via(0).delete("/sim/v1/instances/2/outage", None).0, 200);
    }
    let mut raw = Raw::connect(&urls[2]).unwrap();
    let (status, _) =
        raw.exchange("POST", "/sim/v1/instances/2/outage", &json!({ "kind": "unavailable" })).unwrap();
    assert_eq!(status, 200);
    assert_eq!(raw.exchange("GET", "/api/v1/logon/chains", &Value::Null).unwrap().0, 503);
    assert_eq!(raw.exchange("DELETE", "/sim/v1/instances/2/outage", &Value::Null).unwrap().0, 200);
    assert_eq!(raw.exchange("GET", "/api/v1/nothing", &Value::Null).unwrap().0, 404);

    // Peaks, per instance and for all.
    let (status, body) = via(1).post("/sim/v1/instances/2/reset_peak", &Value::Null);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instance"]["peak_open_connections"], body["instance"]["open_connections"]);
    assert_eq!(via(1).post("/sim/v1/instances/reset_peak", &Value::Null).0, 200);

    // Bad requests get the error envelope.
    let client = via(0);
    for (path, expected) in [
        ("/sim/v1/instances/3/outage", 404),
        ("/sim/v1/instances/x/outage", 404),
        ("/sim/v1/instances/-1/outage", 404),
    ] {
        let (status, body) = client.post(path, &json!({ "kind": "refuse" }));
        assert_eq!((status, body["status"].as_str()), (expected, Some("error")), "{path}: {body}");
    }
    assert_eq!(client.get("/sim/v1/instances/9").1["errors"][0]["name"], "instance");
    for bad in [json!({ "kind": "nap" }), json!({}), json!({ "kind": "hang", "ms": 5 }), json!({ "kind": 1 })]
    {
        let (status, body) = client.post("/sim/v1/instances/1/outage", &bad);
        assert_eq!((status, body["status"].as_str()), (400, Some("error")), "{bad}: {body}");
    }
    assert_eq!(client.put("/sim/v1/instances/1/outage", &json!({ "kind": "hang" })).0, 405);
    assert_eq!(client.delete("/sim/v1/instances", None).0, 405);
    assert_eq!(client.get("/sim/v1/instances/1/bogus").0, 404);
    assert!((0..3).all(|index| simulator.instance(index).outage().is_none()));
}

#[test]
fn a_cluster_needs_an_instance_and_a_single_start_is_a_cluster_of_one() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Simulator>();
    shareable::<aa_sim::InstanceControl<'static>>();
    let error = Simulator::start_cluster(SimConfig::default(), 0).err().expect("refused");
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let single = start_plain();
    assert_eq!(single.instance_count(), 1);
    assert_eq!(single.base_urls(), vec![single.base_url().to_owned()]);
    let (status, list) = Client::new(&single).get("/sim/v1/instances");
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));
}
