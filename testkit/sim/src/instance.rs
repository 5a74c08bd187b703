//! One server of a simulated cluster: its address, its outage, its counters, and the command
//! channel to its accept loop (which alone changes how the instance behaves, so that a change is
//! in force once the loop has acknowledged it).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

/// How an instance of the cluster is down. See [`crate::InstanceControl::set_outage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outage {
    /// The server process is gone: the listening socket is closed (connects are refused) and
    /// every open connection is closed.
    Refuse,
    /// Connections are accepted and reset at once (RST); open connections are reset too.
    Reset,
    /// Every `/api/` request is answered HTTP 503 with an error envelope, on open connections
    /// too; the `/sim/v1/` routes keep working.
    Unavailable,
    /// Connections are accepted but never read (a TLS handshake never completes); requests on
    /// open connections are never answered. Restoring closes the hung connections.
    Hang,
}

impl Outage {
    pub const ALL: [Outage; 4] = [Outage::Refuse, Outage::Reset, Outage::Unavailable, Outage::Hang];

    /// The name used by the `/sim/v1/instances` routes: `refuse`, `reset`, `unavailable`, `hang`.
    pub fn name(self) -> &'static str {
        match self {
            Outage::Refuse => "refuse",
            Outage::Reset => "reset",
            Outage::Unavailable => "unavailable",
            Outage::Hang => "hang",
        }
    }

    /// The outage of that [`name`](Self::name), if any.
    pub fn from_name(name: &str) -> Option<Outage> {
        Outage::ALL.into_iter().find(|outage| outage.name() == name)
    }
}

/// Counters of one instance since start (restoring an instance keeps them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceStats {
    /// TCP connections accepted, including those reset or hung by an outage.
    pub connections_accepted: u64,
    /// HTTP requests received (request heads read), whatever their answer.
    pub requests: u64,
    /// Connections accepted and not yet closed.
    pub open_connections: u64,
    /// The most connections open at once since start or the last
    /// [`reset_peak_open_connections`](crate::InstanceControl::reset_peak_open_connections).
    pub peak_open_connections: u64,
}

/// What the accept loop is asked to do.
pub enum Command {
    /// Change the outage (`None` = up). `spare` is a connection not to close or reset: the one
    /// carrying a `/sim/v1` request that takes its own instance down, so that it gets its answer.
    SetOutage { outage: Option<Outage>, spare: Option<u64>, done: Acknowledgement },
}

/// How the accept loop reports that a command is in force: to a blocking caller (the Rust API,
/// which may run on any thread, even inside another runtime) or to an async one (a route).
pub enum Acknowledgement {
    Blocking(std::sync::mpsc::SyncSender<io::Result<()>>),
    Async(oneshot::Sender<io::Result<()>>),
}

impl Acknowledgement {
    pub fn send(self, result: io::Result<()>) {
        // A caller that stopped waiting does not care.
        let _ = match self {
            Acknowledgement::Blocking(sender) => sender.send(result).map_err(drop),
            Acknowledgement::Async(sender) => sender.send(result).map_err(drop),
        };
    }
}

/// The shared state of one instance.
pub struct Instance {
    pub index: usize,
    pub address: SocketAddr,
    pub base_url: String,
    outage: Mutex<Option<Outage>>,
    commands: mpsc::UnboundedSender<Command>,
    connections_accepted: AtomicU64,
    requests: AtomicU64,
    open_connections: AtomicU64,
    peak_open_connections: AtomicU64,
    /// Bumped (and waiters woken) after every change of a counter: see
    /// [`wait_for_stats`](Instance::wait_for_stats).
    changes: Mutex<u64>,
    changed: Condvar,
}

impl Instance {
    pub fn new(
        index: usize,
        address: SocketAddr,
        base_url: String,
    ) -> (Instance, mpsc::UnboundedReceiver<Command>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let instance = Instance {
            index,
            address,
            base_url,
            outage: Mutex::new(None),
            commands,
            connections_accepted: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
            peak_open_connections: AtomicU64::new(0),
            changes: Mutex::new(0),
            changed: Condvar::new(),
        };
        (instance, receiver)
    }

    pub fn outage(&self) -> Option<Outage> {
        *self.lock_outage()
    }

    /// Only the accept loop calls this, as part of carrying out a command.
    pub fn record_outage(&self, outage: Option<Outage>) {
        *self.lock_outage() = outage;
    }

    fn lock_outage(&self) -> MutexGuard<'_, Option<Outage>> {
        self.outage.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the outage and returns once it is in force. Blocks the calling thread.
    pub fn change_outage_blocking(&self, outage: Option<Outage>) -> io::Result<()> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.send(Command::SetOutage { outage, spare: None, done: Acknowledgement::Blocking(sender) })?;
        receiver.recv().map_err(|_| not_running(self.index))?
    }

    /// Changes the outage and returns once it is in force.
    pub async fn change_outage(&self, outage: Option<Outage>, spare: Option<u64>) -> io::Result<()> {
        let (sender, receiver) = oneshot::channel();
        self.send(Command::SetOutage { outage, spare, done: Acknowledgement::Async(sender) })?;
        receiver.await.map_err(|_| not_running(self.index))?
    }

    fn send(&self, command: Command) -> io::Result<()> {
        self.commands.send(command).map_err(|_| not_running(self.index))
    }

    pub fn count_connection(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
        self.notify_change();
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.notify_change();
    }

    /// Counts a connection as open until the returned guard is dropped.
    pub fn open_connection(self: &Arc<Self>) -> OpenConnection {
        let open = self.open_connections.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_open_connections.fetch_max(open, Ordering::SeqCst);
        self.notify_change();
        OpenConnection { instance: Arc::clone(self) }
    }

    pub fn reset_peak_open_connections(&self) {
        self.peak_open_connections.store(self.open_connections.load(Ordering::SeqCst), Ordering::SeqCst);
        self.notify_change();
    }

    /// Called after a counter changed. Taking the lock orders the change before any waiter's next
    /// look at the counters, so no change is missed.
    fn notify_change(&self) {
        *self.changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
        self.changed.notify_all();
    }

    /// Waits until `condition` holds for the counters, woken by each change; false when it still
    /// does not after `timeout`.
    pub fn wait_for_stats(
        &self,
        mut condition: impl FnMut(&InstanceStats) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut changes = self.changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            if condition(&self.stats()) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            changes = self.changed.wait_timeout(changes, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    pub fn stats(&self) -> InstanceStats {
        InstanceStats {
            connections_accepted: self.connections_accepted.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            open_connections: self.open_connections.load(Ordering::SeqCst),
            peak_open_connections: self.peak_open_connections.load(Ordering::SeqCst),
        }
    }
}

fn not_running(index: usize) -> io::Error {
    io::Error::other(format!("aa-sim instance {index} is not running"))
}

/// An open connection, counted in [`InstanceStats::open_connections`] while it lives.
pub struct OpenConnection {
    instance: Arc<Instance>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.instance.open_connections.fetch_sub(1, Ordering::SeqCst);
        self.instance.notify_change();
    }
}
