//! `aa-logon-bench [--quick]`: the library's logon costs next to a floor client's, measured
//! interleaved in one run (see README.md beside this crate). Prints a table; asserts nothing.
//!
//! The same binary also runs the helper processes it spawns: `--serve-sim` (the simulator),
//! `--burn` (busy loops), `--cold` (one logon in a new process) and `--rss` (memory over many
//! logons in a process of its own).

mod capi;
mod counting;
mod failover;
mod floor;
mod library;
mod measure;
mod report;
mod sim;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use aa_logon::fido::{self, DeviceProvider};
use aa_logon::{Client, SignOptions, SignRequest};
use aa_sim::demo;
use aa_virtual_key::{Presence, VirtualDevices, VirtualKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use capi::CapiClient;
use counting::CountingDevices;
use floor::{FloorClient, FloorKey};
use measure::{process_cpu, Samples};
use report::{Row, Table};
use sim::{key_seed, user_name, Server, SimProcess};

type Result<T> = std::result::Result<T, String>;

/// How much of everything to measure.
struct Plan {
    name: &'static str,
    rounds: usize,
    logons_per_round: usize,
    contended_rounds: usize,
    contended_logons_per_round: usize,
    cold_rounds: usize,
    failover_runs: usize,
    concurrency_rounds: usize,
    concurrency_logons: usize,
    rss_milestones: Vec<usize>,
    touch_rounds: usize,
    touch_window: Duration,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            name: "full",
            rounds: 10,
            logons_per_round: 200,
            contended_rounds: 10,
            contended_logons_per_round: 100,
            cold_rounds: 20,
            failover_runs: 20,
            concurrency_rounds: 7,
            concurrency_logons: 240,
            rss_milestones: vec![100, 1_000, 10_000],
            touch_rounds: 10,
            touch_window: Duration::from_secs(1),
        }
    }

    fn quick() -> Plan {
        Plan {
            name: "quick",
            rounds: 3,
            logons_per_round: 30,
            contended_rounds: 2,
            contended_logons_per_round: 15,
            cold_rounds: 3,
            failover_runs: 5,
            concurrency_rounds: 2,
            concurrency_logons: 32,
            rss_milestones: vec![30, 100, 300],
            touch_rounds: 3,
            touch_window: Duration::from_millis(200),
        }
    }

    /// Users the fixture needs: one per client of every kind and thread, one per cold process,
    /// one for the failover runs.
    fn users(&self) -> usize {
        3 + self.concurrency_rounds * 2 * (1 + 4 + 16) + self.cold_rounds * 3 + 1 + 3 + 16
    }
}

/// Hands out fixture users, each used by exactly one key.
struct Users {
    next: usize,
    limit: usize,
}

impl Users {
    fn take(&mut self) -> usize {
        assert!(self.next < self.limit, "the fixture has too few bench users");
        self.next += 1;
        self.next - 1
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["--serve-sim", users, instances, ca_file] => {
            sim::serve(parse(users), parse(instances), PathBuf::from(ca_file))
        }
        ["--burn", threads] => measure::burn(parse(threads)),
        ["--cold", kind, url, ca_file, user] => cold_child(kind, &server(url, ca_file), parse(user)),
        ["--rss", kind, url, ca_file, user, milestones] => {
            let milestones = milestones.split(',').map(parse).collect::<Vec<usize>>();
            rss_child(kind, &server(url, ca_file), parse(user), &milestones)
        }
        [] => run(Plan::full()),
        ["--quick"] => run(Plan::quick()),
        _ => {
            eprintln!("usage: aa-logon-bench [--quick]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aa-logon-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse<T: std::str::FromStr>(text: &str) -> T {
    text.parse().unwrap_or_else(|_| {
        eprintln!("aa-logon-bench: bad number {text:?}");
        std::process::exit(2)
    })
}

fn server(url: &str, ca_file: &str) -> Server {
    Server { base_url: url.to_owned(), ca_file: PathBuf::from(ca_file) }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn run(plan: Plan) -> Result<()> {
    let started = Instant::now();
    let sim = SimProcess::spawn(plan.users()).map_err(|e| format!("simulator: {e}"))?;
    let server = sim.server.clone();
    let mut users = Users { next: 0, limit: plan.users() };
    println!(
        "aa-logon-bench ({}): simulator in a child process at {}, {} CPUs, load average {}",
        plan.name,
        server.base_url,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    println!(
        "floor = rustls over one kept-alive TCP stream, hand-built HTTP/1.1, same bodies, same CTAPHID \
         signing; ratio = library / floor"
    );
    let mut table = Table::new();

    let mut contestants = Contestants::new(&server, &mut users)?;
    contestants.warm_up()?;
    table.section(&format!(
        "kept-alive client, U2F with an always-present virtual key, {} rounds x {} logons, interleaved",
        plan.rounds, plan.logons_per_round
    ));
    let quiet = contestants.rounds(plan.rounds, plan.logons_per_round)?;
    quiet.add_rows(&mut table, "quiet");

    {
        let _burners = measure::Burners::start(2).map_err(|e| format!("busy loops: {e}"))?;
        table.section(&format!(
            "the same with 2 busy loops on the cores (another process), {} rounds x {} logons",
            plan.contended_rounds, plan.contended_logons_per_round
        ));
        let contended = contestants.rounds(plan.contended_rounds, plan.contended_logons_per_round)?;
        contended.add_rows(&mut table, "2 busy loops");
    }
    drop(contestants);

    table.section(&format!(
        "cold start: new process, one logon with a CA file, exit ({} rounds)",
        plan.cold_rounds
    ));
    let cold = cold_starts(&server, &mut users, plan.cold_rounds)?;
    let [floor, rust, capi] = &cold;
    table.row(Row::time3("cold start, median", floor.0.median(), rust.0.median(), capi.0.median()));
    table.row(Row::time3(
        "cold start, p90",
        floor.0.percentile(90.0),
        rust.0.percentile(90.0),
        capi.0.percentile(90.0),
    ));
    table.row(Row::time3(
        "cold start, CPU of the process, median",
        floor.1.median(),
        rust.1.median(),
        capi.1.median(),
    ));

    failover_section(&mut table, &mut users, plan.users(), plan.failover_runs)?;

    table.section(&format!(
        "concurrency: threads sharing one client (floor: one connection per thread), {} rounds x {} logons, \
         median rate",
        plan.concurrency_rounds, plan.concurrency_logons
    ));
    for threads in [1, 4, 16] {
        let (mut floor_rates, mut library_rates) = (Samples::default(), Samples::default());
        for round in 0..plan.concurrency_rounds {
            // Alternating which goes first, so that a burst of load elsewhere hits both alike.
            for turn in 0..2 {
                if (round + turn) % 2 == 0 {
                    let rate = concurrency_floor(&server, &mut users, threads, plan.concurrency_logons)?;
                    floor_rates.push_value(rate);
                } else {
                    let rate = concurrency_library(&server, &mut users, threads, plan.concurrency_logons)?;
                    library_rates.push_value(rate);
                }
            }
        }
        table.row(Row::rate(
            &format!("logons/s, {threads} thread(s)"),
            floor_rates.median(),
            library_rates.median(),
        ));
    }

    table.section("resident memory of a process doing N logons on one kept-alive client (KiB)");
    let rss = [
        rss_of("floor", &server, users.take(), &plan.rss_milestones)?,
        rss_of("rust", &server, users.take(), &plan.rss_milestones)?,
        rss_of("capi", &server, users.take(), &plan.rss_milestones)?,
    ];
    for (i, milestone) in plan.rss_milestones.iter().enumerate() {
        table.row(Row::kib3(&format!("RSS after {milestone} logons"), rss[0][i], rss[1][i], rss[2][i]));
    }
    let growth = |values: &[u64]| {
        let (a, b) = (values[values.len() - 2] as f64, values[values.len() - 1] as f64);
        (b - a) / a * 100.0
    };
    table.row(Row::percent3(
        &format!(
            "RSS growth {} -> {} logons",
            plan.rss_milestones[plan.rss_milestones.len() - 2],
            plan.rss_milestones[plan.rss_milestones.len() - 1]
        ),
        growth(&rss[0]),
        growth(&rss[1]),
        growth(&rss[2]),
    ));

    table.section(&format!(
        "touch wait (virtual key OnDemand, touched when it blinks), {} rounds, {:?} window; floor polls every {:?} like the library",
        plan.touch_rounds,
        plan.touch_window,
        floor::TOUCH_POLL_INTERVAL
    ));
    let touch_floor = touch_wait(&mut users, plan.touch_rounds, plan.touch_window, Signer::Floor)?;
    let touch_library = touch_wait(&mut users, plan.touch_rounds, plan.touch_window, Signer::Library)?;
    table.row(Row::cpu_per_s(
        "CPU per second while waiting",
        touch_floor.0.median(),
        touch_library.0.median(),
    ));
    table.row(Row::time("touch-to-notice latency, median", touch_floor.1.median(), touch_library.1.median()));

    table.section("U2F sign alone, no server (always-present key): where the logon CPU goes");
    let [floor_sign, library_sign] = sign_cpu(&mut users, plan.logons_per_round * 5)?;
    table.row(Row::time("CPU per U2F sign", floor_sign, library_sign));

    table.section("CTAPHID reports per U2F sign (always-present key), written + read");
    let [floor_reports, library_reports] = reports_per_sign(&mut users)?;
    table.row(Row::reports("reports per sign", floor_reports, library_reports));

    table.print();
    println!("load average at the end {}; took {:.1} s", load_average(), started.elapsed().as_secs_f64());
    Ok(())
}

/// A fresh client's first logon with the preferred server of a 2-instance cluster up (the floor
/// of these rows), refusing connections and hanging; and the connect timeout alone.
fn failover_section(table: &mut Table, users: &mut Users, fixture_users: usize, runs: usize) -> Result<()> {
    let timeout = failover::CONNECT_TIMEOUT;
    table.section(&format!(
        "failover: fresh client, first U2F logon (Rust API, client built inside the timing) on a \
         2-instance cluster (a simulator child of its own), failover URL = instance 1, connect \
         timeout {timeout:?}, {runs} runs per case, interleaved; floor = the same with the preferred \
         instance 0 up; refused = instance 0 refuses connections; hung = it accepts TCP and never \
         completes TLS; alone = a client of instance 0 only, timed to its timeout error; extra = \
         median - floor median"
    ));
    let results = {
        let mut cluster =
            SimProcess::spawn_cluster(fixture_users, 2).map_err(|e| format!("simulator cluster: {e}"))?;
        failover::measure(&mut cluster, users.take(), runs)?
    };
    let [up, refused, hung, alone] = &results;
    let floor = up.latency.median();
    for (case, results) in [("refused", refused), ("hung", hung)] {
        let l = &results.latency;
        table.row(Row::time(&format!("failover, {case}, median"), floor, l.median()));
        table.row(Row::time(
            &format!("failover, {case}, p90"),
            up.latency.percentile(90.0),
            l.percentile(90.0),
        ));
        table.row(Row::extra(&format!("failover, {case}, extra"), l.median() - floor));
    }
    let beyond_timeout = hung.latency.median() - floor - timeout.as_secs_f64();
    table.row(Row::extra(&format!("failover, hung, extra - {timeout:?} timeout"), beyond_timeout));
    let overshoot = alone.latency.median() - timeout.as_secs_f64();
    table.row(Row::extra(&format!("hung alone: error - {timeout:?} timeout"), overshoot));
    table.row(Row::extra("failover, hung, extra - hung alone's error", beyond_timeout - overshoot));
    let count = |r: &failover::CaseResults| format!("{}/{}", r.as_expected, r.runs);
    table.note(&format!(
        "answered by instance 1 (Logon::server): refused {}, hung {}; floor runs answered by instance 0: {}; \
         hung alone ended in a timeout error: {}",
        count(refused),
        count(hung),
        count(up),
        count(alone)
    ));
    Ok(())
}

/// The three kept-alive clients of the latency rounds, each signing as its own user.
struct Contestants {
    floor: FloorClient,
    floor_user: String,
    floor_devices: VirtualDevices,
    floor_path: String,
    rust: Client,
    rust_user: String,
    rust_devices: VirtualDevices,
    capi: CapiClient,
    options: SignOptions,
}

/// Latencies and CPU of the three kinds over some rounds.
struct RoundResults {
    latency: [Samples; 3],
    cpu: [Duration; 3],
    logons: [usize; 3],
}

impl RoundResults {
    fn cpu_per_logon(&self, kind: usize) -> f64 {
        self.cpu[kind].as_secs_f64() / self.logons[kind] as f64
    }

    fn add_rows(&self, table: &mut Table, label: &str) {
        let l = &self.latency;
        for (name, p) in [("median", 50.0), ("p90", 90.0), ("p99", 99.0)] {
            table.row(Row::time3(
                &format!("latency per logon, {label}, {name}"),
                l[0].percentile(p),
                l[1].percentile(p),
                l[2].percentile(p),
            ));
        }
        table.row(Row::time3(
            &format!("client CPU per logon, {label}"),
            self.cpu_per_logon(0),
            self.cpu_per_logon(1),
            self.cpu_per_logon(2),
        ));
    }
}

impl Contestants {
    fn new(server: &Server, users: &mut Users) -> Result<Contestants> {
        let floor_index = users.take();
        let floor_devices = VirtualDevices::new();
        let floor_path = floor_devices.insert(VirtualKey::new(key_seed(floor_index).as_bytes()));
        let rust_index = users.take();
        let rust_devices = VirtualDevices::new();
        rust_devices.insert(VirtualKey::new(key_seed(rust_index).as_bytes()));
        let capi_index = users.take();
        Ok(Contestants {
            floor: FloorClient::new(server)?,
            floor_user: user_name(floor_index),
            floor_devices,
            floor_path,
            rust: library::client(server)?,
            rust_user: user_name(rust_index),
            rust_devices,
            capi: CapiClient::new(server, &user_name(capi_index), &key_seed(capi_index))?,
            options: library::sign_options(),
        })
    }

    fn logon(&mut self, kind: usize) -> Result<()> {
        match kind {
            0 => {
                let key = FloorKey { devices: &self.floor_devices, path: self.floor_path.clone() };
                self.floor.logon(&self.floor_user, &key)
            }
            1 => library::logon(&self.rust, &self.rust_user, &self.rust_devices, &self.options),
            _ => self.capi.logon(),
        }
    }

    /// Connections open, endpoint sessions made, code and allocator warm.
    fn warm_up(&mut self) -> Result<()> {
        for _ in 0..10 {
            for kind in 0..3 {
                self.logon(kind)?;
            }
        }
        Ok(())
    }

    /// `rounds` rounds of `per_round` logons of each kind, the order rotating every round.
    fn rounds(&mut self, rounds: usize, per_round: usize) -> Result<RoundResults> {
        let mut results =
            RoundResults { latency: Default::default(), cpu: [Duration::ZERO; 3], logons: [0; 3] };
        for round in 0..rounds {
            for turn in 0..3 {
                let kind = (round + turn) % 3;
                let cpu_before = process_cpu();
                for _ in 0..per_round {
                    let started = Instant::now();
                    self.logon(kind)?;
                    results.latency[kind].push(started.elapsed());
                }
                results.cpu[kind] += process_cpu() - cpu_before;
                results.logons[kind] += per_round;
            }
        }
        Ok(results)
    }
}

const KINDS: [&str; 3] = ["floor", "rust", "capi"];

/// Spawns this binary for one logon per process, kinds interleaved; wall time spawn → exit.
fn cold_starts(server: &Server, users: &mut Users, rounds: usize) -> Result<[(Samples, Samples); 3]> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let ca = server.ca_file.to_str().ok_or("CA path is not UTF-8")?;
    let mut samples: [(Samples, Samples); 3] = Default::default();
    for round in 0..rounds {
        for turn in 0..3 {
            let kind = (round + turn) % 3;
            let user = users.take().to_string();
            let cpu_before = measure::children_cpu();
            let started = Instant::now();
            let status = Command::new(&exe)
                .args(["--cold", KINDS[kind], &server.base_url, ca, &user])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .map_err(|e| e.to_string())?;
            let elapsed = started.elapsed();
            if !status.success() {
                return Err(format!("cold start of {} failed: {status}", KINDS[kind]));
            }
            samples[kind].0.push(elapsed);
            samples[kind].1.push(measure::children_cpu() - cpu_before);
        }
    }
    Ok(samples)
}

/// The `--cold` child: one logon of `kind` and exit.
fn cold_child(kind: &str, server: &Server, user: usize) -> Result<()> {
    match kind {
        "floor" => {
            let devices = VirtualDevices::new();
            let path = devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
            FloorClient::new(server)?.logon(&user_name(user), &FloorKey { devices: &devices, path })
        }
        "rust" => {
            let devices = VirtualDevices::new();
            devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
            library::logon(&library::client(server)?, &user_name(user), &devices, &library::sign_options())
        }
        "capi" => CapiClient::new(server, &user_name(user), &key_seed(user))?.logon(),
        _ => Err(format!("unknown client kind {kind:?}")),
    }
}

/// Runs `--rss` in a new process; its RSS at each milestone.
fn rss_of(kind: &str, server: &Server, user: usize, milestones: &[usize]) -> Result<Vec<u64>> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let milestones_arg = milestones.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let output = Command::new(exe)
        .args(["--rss", kind, &server.base_url, server.ca_file.to_str().ok_or("CA path")?, &user.to_string()])
        .arg(milestones_arg)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("RSS run of {kind} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().filter_map(|l| l.parse().ok()).collect())
}

/// The `--rss` child: logons on one kept-alive client, printing VmRSS (KiB) at each milestone.
fn rss_child(kind: &str, server: &Server, user: usize, milestones: &[usize]) -> Result<()> {
    let devices = VirtualDevices::new();
    let path = devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
    let name = user_name(user);
    let options = library::sign_options();
    let mut logon: Box<dyn FnMut() -> Result<()>> = match kind {
        "floor" => {
            let mut client = FloorClient::new(server)?;
            let key = FloorKey { devices: &devices, path };
            Box::new(move || client.logon(&name, &key))
        }
        "rust" => {
            let client = library::client(server)?;
            Box::new(move || library::logon(&client, &name, &devices, &options))
        }
        "capi" => {
            let client = CapiClient::new(server, &name, &key_seed(user))?;
            Box::new(move || client.logon())
        }
        _ => return Err(format!("unknown client kind {kind:?}")),
    };
    let mut done = 0;
    for &milestone in milestones {
        while done < milestone {
            logon()?;
            done += 1;
        }
        println!("{}", measure::rss_kib());
    }
    Ok(())
}

/// Logons per second of `threads` threads sharing one library client, each its own user.
fn concurrency_library(server: &Server, users: &mut Users, threads: usize, logons: usize) -> Result<f64> {
    let client = library::client(server)?;
    let per_thread = logons / threads;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (client, barrier, user) = (client.clone(), barrier.clone(), users.take());
            std::thread::spawn(move || -> Result<()> {
                let devices = VirtualDevices::new();
                devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
                let (name, options) = (user_name(user), library::sign_options());
                let warm = library::logon(&client, &name, &devices, &options);
                barrier.wait();
                warm?;
                (0..per_thread).try_for_each(|_| library::logon(&client, &name, &devices, &options))
            })
        })
        .collect();
    timed_workers(barrier, workers, per_thread * threads)
}

/// The floor's counterpart: one floor client (connection) per thread.
fn concurrency_floor(server: &Server, users: &mut Users, threads: usize, logons: usize) -> Result<f64> {
    let per_thread = logons / threads;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (server, barrier, user) = (server.clone(), barrier.clone(), users.take());
            std::thread::spawn(move || -> Result<()> {
                let devices = VirtualDevices::new();
                let path = devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
                let key = FloorKey { devices: &devices, path };
                let name = user_name(user);
                let warm = FloorClient::new(&server).and_then(|mut c| c.logon(&name, &key).map(|()| c));
                barrier.wait();
                let mut client = warm?;
                (0..per_thread).try_for_each(|_| client.logon(&name, &key))
            })
        })
        .collect();
    timed_workers(barrier, workers, per_thread * threads)
}

fn timed_workers(
    barrier: Arc<Barrier>,
    workers: Vec<std::thread::JoinHandle<Result<()>>>,
    logons: usize,
) -> Result<f64> {
    barrier.wait();
    let started = Instant::now();
    for worker in workers {
        worker.join().map_err(|_| "worker panicked".to_owned())??;
    }
    Ok(logons as f64 / started.elapsed().as_secs_f64())
}

#[derive(Clone, Copy)]
enum Signer {
    Floor,
    Library,
}

/// A sign request for `key` with a fresh challenge (no server needed to sign).
fn sign_request(key: &VirtualKey) -> SignRequest {
    let mut challenge = [0u8; 32];
    let _ = getrandom::fill(&mut challenge);
    SignRequest {
        version: "U2F_V2".into(),
        challenge: URL_SAFE_NO_PAD.encode(challenge),
        key_handle: URL_SAFE_NO_PAD.encode(key.enrollment(demo::APP_ID).key_handle),
        app_id: demo::APP_ID.into(),
    }
}

fn sign_once(signer: Signer, devices: &dyn DeviceProvider, path: &str, request: &SignRequest) -> Result<()> {
    match signer {
        Signer::Floor => FloorKey { devices, path: path.to_owned() }
            .sign(&request.challenge, &request.key_handle, &request.app_id)
            .map(drop),
        Signer::Library => fido::sign(devices, std::slice::from_ref(request), &library::sign_options())
            .map(drop)
            .map_err(|e| e.to_string()),
    }
}

/// While a sign waits for a touch: the process's CPU per second over `window`, and the time from
/// the touch (at a random point of a poll interval) to the signature.
fn touch_wait(
    users: &mut Users,
    rounds: usize,
    window: Duration,
    signer: Signer,
) -> Result<(Samples, Samples)> {
    let key = VirtualKey::new(key_seed(users.take()).as_bytes());
    let devices = Arc::new(VirtualDevices::new());
    let path = devices.insert(key.clone());
    key.set_presence(Presence::OnDemand);
    let (mut cpu, mut notice) = (Samples::default(), Samples::default());
    for _ in 0..rounds {
        let request = sign_request(&key);
        let (devices, path) = (devices.clone(), path.clone());
        let signing = std::thread::spawn(move || {
            let signed = sign_once(signer, &*devices, &path, &request);
            (signed, Instant::now())
        });
        if !key.wait_for_touch_request(Duration::from_secs(10)) {
            return Err("the key was never asked for a touch".into());
        }
        let (cpu_before, started) = (process_cpu(), Instant::now());
        std::thread::sleep(window);
        cpu.push_value((process_cpu() - cpu_before).as_secs_f64() / started.elapsed().as_secs_f64());
        std::thread::sleep(floor::TOUCH_POLL_INTERVAL.mul_f64(measure::jitter()));
        key.touch();
        let touched = Instant::now();
        let (signed, done) = signing.join().map_err(|_| "signing thread panicked")?;
        signed?;
        notice.push(done - touched);
    }
    Ok((cpu, notice))
}

/// CPU per sign of the floor's CTAPHID exchange and of the library's `fido::sign`, `signs` each,
/// interleaved in rounds.
fn sign_cpu(users: &mut Users, signs: usize) -> Result<[f64; 2]> {
    let key = VirtualKey::new(key_seed(users.take()).as_bytes());
    let devices = VirtualDevices::new();
    let path = devices.insert(key.clone());
    let request = sign_request(&key);
    let mut cpu = [Duration::ZERO; 2];
    for _ in 0..5 {
        for (slot, signer) in [(0, Signer::Floor), (1, Signer::Library)] {
            let before = process_cpu();
            for _ in 0..signs / 5 {
                sign_once(signer, &devices, &path, &request)?;
            }
            cpu[slot] += process_cpu() - before;
        }
    }
    Ok(cpu.map(|total| total.as_secs_f64() / (signs / 5 * 5) as f64))
}

/// Reports (written, read) crossing the device seam for one sign by the floor and by the library.
fn reports_per_sign(users: &mut Users) -> Result<[(u64, u64); 2]> {
    let key = VirtualKey::new(key_seed(users.take()).as_bytes());
    let inner = VirtualDevices::new();
    let path = inner.insert(key.clone());
    let counting = CountingDevices::new(inner);
    let mut counts = [(0, 0); 2];
    for (slot, signer) in [(0, Signer::Floor), (1, Signer::Library)] {
        sign_once(signer, &counting, &path, &sign_request(&key))?;
        counts[slot] = counting.take();
    }
    Ok(counts)
}
