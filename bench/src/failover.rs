//! Failover: a fresh client's first logon on a 2-instance cluster (a simulator child of its own)
//! whose preferred instance 0 is up (the floor of this section), refuses connections, or hangs
//! (accepts TCP, never completes the TLS handshake). The client is built inside the timing, with
//! instance 1 as its failover URL and [`CONNECT_TIMEOUT`], the same for every case: only the
//! outage differs. One more case, a client of the hanging instance alone, times the connect
//! timeout by itself, so that what the timeout costs is told apart from what failing over does.

use std::time::{Duration, Instant};

use aa_logon::{Client, ErrorKind};
use aa_sim::demo;
use aa_virtual_key::{VirtualDevices, VirtualKey};

use crate::library;
use crate::measure::Samples;
use crate::sim::{key_seed, user_name, SimProcess};

pub type Result<T> = std::result::Result<T, String>;

/// How long a connect (TCP and TLS handshake) may take before the client tries the next server:
/// what a hanging preferred server costs at least.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// The state of instance 0 during a run, and whether the client may fail over to instance 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Up,
    Refusing,
    Hanging,
    /// Hanging, and the client knows no other server: its first call fails with a timeout.
    HangingAlone,
}

impl Case {
    pub const ALL: [Case; 4] = [Case::Up, Case::Refusing, Case::Hanging, Case::HangingAlone];

    /// The simulator's name of the outage; `None`: up.
    fn outage(self) -> Option<&'static str> {
        match self {
            Case::Up => None,
            Case::Refusing => Some("refuse"),
            Case::Hanging | Case::HangingAlone => Some("hang"),
        }
    }
}

/// The runs of one case.
#[derive(Default)]
pub struct CaseResults {
    /// Client construction → logon OK (→ the error, for [`Case::HangingAlone`]).
    pub latency: Samples,
    /// Runs that ended as the case should: the logon answered by instance 0 when it is up, by
    /// instance 1 (`Logon::server`) when it is down; a timeout error for [`Case::HangingAlone`].
    pub as_expected: usize,
    pub runs: usize,
}

/// `runs` runs of every case, the order of the cases rotating every round, all signing as
/// fixture user `user` with one virtual key (one after another, so its counter only grows).
pub fn measure(cluster: &mut SimProcess, user: usize, runs: usize) -> Result<[CaseResults; 4]> {
    let devices = VirtualDevices::new();
    devices.insert(VirtualKey::new(key_seed(user).as_bytes()));
    let name = user_name(user);
    // Code, allocator and the shared trust store warm, as for the other sections.
    first_logon(cluster, &name, &devices)?;
    let mut results: [CaseResults; 4] = Default::default();
    for round in 0..runs {
        for turn in 0..Case::ALL.len() {
            let slot = (round + turn) % Case::ALL.len();
            let case = Case::ALL[slot];
            if let Some(outage) = case.outage() {
                cluster.set_outage(0, Some(outage)).map_err(|e| format!("outage of instance 0: {e}"))?;
            }
            let started = Instant::now();
            let outcome = match case {
                Case::HangingAlone => timed_out_alone(cluster, &name),
                _ => first_logon(cluster, &name, &devices).map(|server| {
                    let expected = if case == Case::Up { &cluster.urls[0] } else { &cluster.urls[1] };
                    server == *expected
                }),
            };
            let elapsed = started.elapsed();
            if case.outage().is_some() {
                cluster.set_outage(0, None).map_err(|e| format!("restoring instance 0: {e}"))?;
            }
            let as_expected = outcome.map_err(|e| format!("failover, {case:?}: {e}"))?;
            let result = &mut results[slot];
            result.latency.push(elapsed);
            result.runs += 1;
            result.as_expected += usize::from(as_expected);
        }
    }
    Ok(results)
}

/// A new client of the cluster (instance 0 preferred, instance 1 its failover) and its first
/// logon; the URL of the server that answered it.
fn first_logon(cluster: &SimProcess, user: &str, devices: &VirtualDevices) -> Result<String> {
    let mut config = library::config(&cluster.server)?;
    config.add_failover_url(&cluster.urls[1]).map_err(|e| e.to_string())?;
    config.connect_timeout = CONNECT_TIMEOUT;
    let client = Client::new(config).map_err(|e| e.to_string())?;
    library::logon_answered_by(&client, user, devices, &library::sign_options())
}

/// A new client of instance 0 alone and its first call; whether it failed with a timeout.
fn timed_out_alone(cluster: &SimProcess, user: &str) -> Result<bool> {
    let mut config = library::config(&cluster.server)?;
    config.connect_timeout = CONNECT_TIMEOUT;
    let client = Client::new(config).map_err(|e| e.to_string())?;
    match client.start_logon(user, demo::EVENT, "U2F:1") {
        Ok(_) => Ok(false),
        Err(error) => Ok(error.kind() == ErrorKind::Timeout),
    }
}
