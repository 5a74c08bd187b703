//! Measures what waiting for a touch costs: the CPU used by the whole process during a 10-second
//! touch wait on a key whose user never touches it, the report traffic of that wait, and how soon
//! a touch is noticed.
//!
//! Run: `cargo run --release --example touch_wait_cpu --features virtual-device`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use aa_logon::fido::{
    self, DeviceInfo, DeviceProvider, HidTransport, Report, SignOptions, SignRequest, VirtualDevices,
};
use aa_logon::{ErrorKind, Result};
use aa_virtual_key::{Presence, VirtualKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const APP_ID: &str = "https://aa.example.com";
const WAIT: Duration = Duration::from_secs(10);
/// Linux reports utime/stime in USER_HZ ticks, fixed at 100 per second on every architecture.
const USER_HZ: u64 = 100;
const TOUCH_TRIALS: u32 = 10;

/// Counts the reports crossing the transport seam.
#[derive(Default)]
struct Traffic {
    written: AtomicU64,
    /// Initialization packets of CTAPHID_MSG requests: one per U2F request sent.
    u2f_requests: AtomicU64,
    read: AtomicU64,
    empty_reads: AtomicU64,
}

struct CountingDevices {
    inner: VirtualDevices,
    traffic: Arc<Traffic>,
}

struct CountingTransport {
    inner: Box<dyn HidTransport>,
    traffic: Arc<Traffic>,
}

impl DeviceProvider for CountingDevices {
    fn list(&self) -> Result<Vec<DeviceInfo>> {
        self.inner.list()
    }

    fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
        Ok(Box::new(CountingTransport { inner: self.inner.open(path)?, traffic: self.traffic.clone() }))
    }
}

impl HidTransport for CountingTransport {
    fn write_report(&mut self, report: &Report) -> Result<()> {
        self.traffic.written.fetch_add(1, Ordering::Relaxed);
        if report[4] == 0x83 {
            self.traffic.u2f_requests.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.write_report(report)
    }

    fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
        let report = self.inner.read_report(timeout)?;
        let counter = if report.is_some() { &self.traffic.read } else { &self.traffic.empty_reads };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(report)
    }
}

/// Process CPU time (user + system) from /proc/self/stat, in milliseconds.
fn process_cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat is readable on Linux");
    // The command name may contain spaces: fields are counted after its closing parenthesis.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of stat(5); field 3 (state) is index 0 here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks * 1000 / USER_HZ
}

/// Process CPU time summed over all threads from schedstat (nanosecond resolution), in ms.
fn process_cpu_ms_precise() -> f64 {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let path = task.expect("task entry").path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            nanos += text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    nanos as f64 / 1e6
}

fn request_for(key: &VirtualKey) -> SignRequest {
    SignRequest {
        version: "U2F_V2".into(),
        challenge: "opsXqUifDriAAmWclinfbS0e-USY0CgyJHe_Otd7z8o".into(),
        key_handle: URL_SAFE_NO_PAD.encode(key.enrollment(APP_ID).key_handle),
        app_id: APP_ID.into(),
    }
}

fn measure_idle_wait() {
    let traffic = Arc::new(Traffic::default());
    let devices = CountingDevices { inner: VirtualDevices::new(), traffic: traffic.clone() };
    let key = VirtualKey::new(b"never touched");
    key.set_presence(Presence::Never);
    devices.inner.insert(key.clone());
    let options = SignOptions { timeout: WAIT, ..SignOptions::default() };

    let cpu_before = process_cpu_ms();
    let precise_before = process_cpu_ms_precise();
    let start = Instant::now();
    let error = fido::sign(&devices, &[request_for(&key)], &options).expect_err("nobody touches the key");
    let wall = start.elapsed();
    let cpu = process_cpu_ms() - cpu_before;
    let precise = process_cpu_ms_precise() - precise_before;

    assert_eq!(error.kind(), ErrorKind::UserPresenceTimeout);
    let wall_ms = wall.as_secs_f64() * 1000.0;
    println!("touch wait of {wall:.2?} (Presence::Never, ended with: {error})");
    println!(
        "  CPU (utime+stime, /proc/self/stat): {cpu} ms = {:.2} % of one core",
        cpu as f64 * 100.0 / wall_ms
    );
    println!(
        "  CPU (schedstat, all threads):       {precise:.1} ms = {:.3} % of one core",
        precise * 100.0 / wall_ms
    );
    let written = traffic.written.load(Ordering::Relaxed);
    let read = traffic.read.load(Ordering::Relaxed);
    let empty = traffic.empty_reads.load(Ordering::Relaxed);
    let requests = traffic.u2f_requests.load(Ordering::Relaxed);
    println!(
        "  reports: {written} written, {read} read, {empty} empty reads; {requests} U2F requests ({:.1}/s)",
        requests as f64 / wall.as_secs_f64()
    );
}

fn measure_touch_latency() {
    let devices = VirtualDevices::new();
    let key = VirtualKey::new(b"touched on demand");
    key.set_presence(Presence::OnDemand);
    devices.insert(key.clone());
    let request = request_for(&key);
    let mut latencies = Vec::new();
    for trial in 0..TOUCH_TRIALS {
        let toucher = {
            let key = key.clone();
            // Spread the touch over the poll period so the figures cover best and worst phase.
            let delay = Duration::from_millis(300 + u64::from(trial) * 37);
            thread::spawn(move || {
                thread::sleep(delay);
                key.touch();
                Instant::now()
            })
        };
        let options = SignOptions { timeout: Duration::from_secs(10), ..SignOptions::default() };
        fido::sign(&devices, std::slice::from_ref(&request), &options).expect("touched key signs");
        let returned = Instant::now();
        latencies.push(returned.saturating_duration_since(toucher.join().expect("toucher thread")));
    }
    latencies.sort();
    println!(
        "touch noticed after (n={TOUCH_TRIALS}): min {:.1?}, median {:.1?}, max {:.1?}",
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

fn main() {
    measure_idle_wait();
    measure_touch_latency();
}
