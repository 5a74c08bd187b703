//! Requests per second on loopback with keep-alive, plain HTTP: a few client threads send the
//! cheap `GET /api/v1/logon/chains` and the full `POST /api/v1/logon` for a bounded time/count.
//! Prints figures; asserts nothing. Run: `cargo bench -p aa-sim --bench throughput`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aa_sim::{demo, SimConfig, Simulator, TlsMode};
use serde_json::json;
use sha2::{Digest, Sha256};

const CLIENT_THREADS: usize = 4;
const DURATION: Duration = Duration::from_secs(3);
const MAX_REQUESTS_PER_THREAD: u64 = 200_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn endpoint_session(agent: &ureq::Agent, base: &str) -> String {
    let id_hash = hex(&Sha256::digest(format!("{}bench", demo::ENDPOINT_ID)));
    let hash = hex(&Sha256::digest(format!("{}{id_hash}", demo::ENDPOINT_SECRET)));
    let mut response = agent
        .post(format!("{base}/api/v1/endpoints/{}/sessions", demo::ENDPOINT_ID))
        .send_json(json!({ "salt": "bench", "endpoint_secret_hash": hash }))
        .expect("endpoint session");
    let body: serde_json::Value = response.body_mut().read_json().expect("JSON");
    body["endpoint_session_id"].as_str().expect("id").to_owned()
}

fn run(name: &str, base: &str, request: fn(&ureq::Agent, &str, &str)) {
    let total = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|_| {
            let total = Arc::clone(&total);
            let base = base.to_owned();
            std::thread::spawn(move || {
                let agent: ureq::Agent =
                    ureq::Agent::config_builder().max_idle_connections_per_host(1).build().into();
                let session = endpoint_session(&agent, &base);
                let mut count = 0;
                while count < MAX_REQUESTS_PER_THREAD && started.elapsed() < DURATION {
                    request(&agent, &base, &session);
                    count += 1;
                }
                total.fetch_add(count, Ordering::Relaxed);
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = total.load(Ordering::Relaxed);
    println!(
        "{name}: {count} requests in {elapsed:.2} s with {CLIENT_THREADS} keep-alive clients = {:.0} req/s",
        count as f64 / elapsed
    );
}

fn chains(agent: &ureq::Agent, base: &str, session: &str) {
    let mut response = agent
        .get(format!("{base}/api/v1/logon/chains?user_name=denis&endpoint_session_id={session}"))
        .call()
        .expect("chains");
    response.body_mut().read_to_vec().expect("body");
}

fn start_logon(agent: &ureq::Agent, base: &str, session: &str) {
    let mut response = agent
        .post(format!("{base}/api/v1/logon"))
        .send_json(json!({ "method_id": "PASSWORD:1", "user_name": "denis", "endpoint_session_id": session }))
        .expect("logon");
    response.body_mut().read_to_vec().expect("body");
}

fn stats(agent: &ureq::Agent, base: &str, _session: &str) {
    let mut response = agent.get(format!("{base}/sim/v1/stats")).call().expect("stats");
    response.body_mut().read_to_vec().expect("body");
}

fn main() {
    let simulator =
        Simulator::start(SimConfig { tls: TlsMode::PlainHttp, ..SimConfig::default() }).expect("start");
    let base = simulator.base_url().to_owned();
    println!(
        "aa-sim throughput on {base} ({} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    run("GET /sim/v1/stats (smallest request)", &base, stats);
    run("GET /api/v1/logon/chains", &base, chains);
    run("POST /api/v1/logon", &base, start_logon);
    let stats = simulator.stats();
    println!("connections accepted: {}, requests served: {}", stats.connections_accepted, stats.requests);
}
