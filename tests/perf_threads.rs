//! No thread per logon on a kept-alive client (issue 13): before, ureq resolved the host on a new
//! thread for every request, pooled connection or not. A sampler watches /proc/self/task while a
//! warm client logs on N times; it must see no thread that was not there before, and the count
//! of threads must be the same afterwards. Counts, not times.

mod logon_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use aa_logon::{Client, LogonStatus, SignOptions};
use aa_sim::demo;
use aa_virtual_key::{VirtualDevices, VirtualKey};
use logon_support::{config, simulator};

const LOGONS: usize = 50;

/// The threads of this process, without the in-process simulator's (its runtime may start and
/// stop threads of its own at any time; they are all named `aa-sim…`).
fn client_threads() -> BTreeSet<u32> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|tid: &u32| {
            let name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
            !name.starts_with("aa-sim")
        })
        .collect()
}

fn own_tid() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).expect("a thread id")
}

/// Samples /proc/self/task until stopped; collects every thread id not in `known`.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(BTreeSet<u32>, u64)>,
}

impl Sampler {
    fn start(known: BTreeSet<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let me = own_tid();
            started_tx.send(()).unwrap();
            let (mut new, mut samples) = (BTreeSet::new(), 0u64);
            while !flag.load(Ordering::Relaxed) {
                new.extend(client_threads().into_iter().filter(|tid| *tid != me && !known.contains(tid)));
                samples += 1;
            }
            (new, samples)
        });
        started_rx.recv().unwrap();
        Sampler { stop, thread }
    }

    fn stop(self) -> (BTreeSet<u32>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[test]
fn a_warm_client_starts_no_thread_per_logon() {
    let sim = simulator();
    let mut config = config(&sim);
    // By host name: a name needs a lookup (an IP literal does not), which is what ran on a new
    // thread for every request. The simulator's certificate names localhost.
    config.base_url = sim.base_url().replace("127.0.0.1", "localhost");
    config.allow_app_id_host(sim.app_id_host()).unwrap();
    let client = Client::new(config).unwrap();
    let devices = VirtualDevices::new();
    devices.insert(VirtualKey::new(demo::VIRTUAL_KEY_SEED.as_bytes()));
    let options = SignOptions { timeout: Duration::from_secs(10), ..SignOptions::default() };
    let logon = |client: &Client| {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "U2F:1").unwrap();
        assert_eq!(logon.sign_with_device(&devices, &options).unwrap().status, LogonStatus::Ok);
    };
    // Warm: connection open, endpoint session created.
    logon(&client);

    let before = client_threads();
    let sampler = Sampler::start(before.clone());
    for _ in 0..LOGONS {
        logon(&client);
    }
    let (started, samples) = sampler.stop();
    let after = client_threads();

    assert!(samples > 0, "the sampler never looked");
    assert_eq!(started.len(), 0, "threads started during {LOGONS} logons on a warm client: {started:?}");
    assert_eq!(after.len(), before.len(), "threads before {before:?}, after {after:?}");
}
