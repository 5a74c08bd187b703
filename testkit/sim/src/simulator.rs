//! The in-process handle: starts the server — or the servers of a cluster — on its own runtime
//! thread, exposes test controls and stops the servers when dropped.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::app::App;
use crate::faults::FaultRule;
use crate::fixture::Fixture;
use crate::instance::Instance;
use crate::instance_control::InstanceControl;
use crate::tls;

/// How often expired sessions and processes are removed.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How long sessions and processes live. Endpoint sessions and logon processes expire after this
/// long without use; login sessions this long after creation; a SMARTPHONE:1 push or VOICE:1
/// call not decided this long after it started fails ("Auth confirmation timeout").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub endpoint_session: Duration,
    pub logon_process: Duration,
    pub login_session: Duration,
    pub approval: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            endpoint_session: Duration::from_secs(3600),
            logon_process: Duration::from_secs(600),
            login_session: Duration::from_secs(8 * 3600),
            approval: Duration::from_secs(60),
        }
    }
}

/// Which forms of `/logon/chains` the simulated server answers (§2.4, Open question 10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChainsLookup {
    /// The enrollment SPA's `GET …?user_name=` and PWM's `POST …?username=&application=`.
    #[default]
    GetAndPost,
    /// Only PWM's `POST` form, as an older server: `GET` is answered 405.
    PostOnly,
}

/// What the simulated phone does with a pending push or call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// The user approves the push / answers the call: the method passes.
    Approve,
    /// The user rejects it: the server answers STOP.
    Reject,
}

/// How the simulator speaks TLS.
#[derive(Clone, Debug, Default)]
pub enum TlsMode {
    /// HTTPS with a CA and server certificate generated at start; see [`Simulator::ca_pem`].
    #[default]
    Generated,
    /// Like `Generated`, but the server certificate names exactly these hosts (DNS names or IP
    /// addresses): a certificate from a trusted CA that is not valid for the address clients use.
    GeneratedFor { names: Vec<String> },
    /// HTTPS with the given certificate chain and private key (PEM text).
    FromPem { cert_pem: String, key_pem: String },
    /// Plain HTTP (benchmarks, quick experiments).
    PlainHttp,
}

/// Everything needed to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub fixture: Fixture,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    pub tls: TlsMode,
    pub lifetimes: Lifetimes,
    pub chains_lookup: ChainsLookup,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            fixture: Fixture::demo(),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            tls: TlsMode::Generated,
            lifetimes: Lifetimes::default(),
            chains_lookup: ChainsLookup::default(),
        }
    }
}

/// Counters since start, over all instances of the cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections_accepted: u64,
    pub requests: u64,
}

/// A running simulator — one server, or a cluster of servers sharing one state — ; dropping it
/// stops every server and closes their connections.
pub struct Simulator {
    app: Arc<App>,
    ca_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    server_thread: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Validates the fixture, binds the listener and starts serving on a dedicated thread: a
    /// cluster of one instance.
    pub fn start(config: SimConfig) -> io::Result<Simulator> {
        Simulator::start_cluster(config, 1)
    }

    /// Starts `instances` servers that share one state, as the servers of an AA cluster share
    /// their database: endpoint sessions, logon processes, login sessions, sent OTPs, approvals,
    /// lifetimes and fault rules are the cluster's, whichever instance a request reaches.
    ///
    /// Every instance listens on the IP address of `config.listen`, each on its own port: free
    /// ports for port 0, else instance `i` on port `config.listen.port() + i`. With a generated
    /// certificate ([`TlsMode::Generated`], [`TlsMode::GeneratedFor`]) there is one CA and one
    /// server certificate for all instances, so a client trusting [`ca_pem`](Self::ca_pem)
    /// trusts every instance. Each instance can be taken down and brought back:
    /// [`instance`](Self::instance).
    pub fn start_cluster(config: SimConfig, instances: usize) -> io::Result<Simulator> {
        if instances == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a cluster needs at least one instance"));
        }
        config.fixture.validate()?;
        let listeners = (0..instances)
            .map(|index| bind_instance(config.listen, index))
            .collect::<io::Result<Vec<_>>>()?;
        let ip = listeners[0].local_addr()?.ip();
        let (acceptor, ca_pem) = match &config.tls {
            TlsMode::Generated => {
                let material = tls::generated(ip)?;
                (Some(material.acceptor), material.ca_pem)
            }
            TlsMode::GeneratedFor { names } => {
                let material = tls::generated_for(names.clone())?;
                (Some(material.acceptor), material.ca_pem)
            }
            TlsMode::FromPem { cert_pem, key_pem } => {
                (Some(tls::from_pem(cert_pem, key_pem)?.acceptor), None)
            }
            TlsMode::PlainHttp => (None, None),
        };
        let scheme = if acceptor.is_some() { "https" } else { "http" };

        let mut shared = Vec::with_capacity(instances);
        let mut commands = Vec::with_capacity(instances);
        for (index, listener) in listeners.iter().enumerate() {
            let address = listener.local_addr()?;
            let (instance, receiver) = Instance::new(index, address, base_url(scheme, address));
            shared.push(Arc::new(instance));
            commands.push(receiver);
        }
        let app = Arc::new(App::new(&config.fixture, config.lifetimes, config.chains_lookup, shared.clone()));
        let (shutdown, mut shutdown_signal) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aa-sim-worker")
            .enable_all()
            .build()?;
        let server_app = Arc::clone(&app);
        let server_thread = std::thread::Builder::new().name("aa-sim".into()).spawn(move || {
            runtime.block_on(async move {
                tokio::spawn(sweep_expired(Arc::clone(&server_app)));
                for ((listener, instance), commands) in listeners.into_iter().zip(shared).zip(commands) {
                    let app = Arc::clone(&server_app);
                    tokio::spawn(crate::http::serve(listener, acceptor.clone(), app, instance, commands));
                }
                let _ = shutdown_signal.wait_for(|stop| *stop).await;
            });
            // Dropping the runtime here cancels every connection task.
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
        for instance in &app.instances {
            if instances == 1 {
                log::info!("aa-sim listening on {}", instance.base_url);
            } else {
                log::info!("aa-sim instance {} listening on {}", instance.index, instance.base_url);
            }
        }
        Ok(Simulator { app, ca_pem, shutdown, server_thread: Some(server_thread) })
    }

    /// Instance 0's URL, e.g. `https://127.0.0.1:40123` (no trailing slash; the API is under
    /// `/api/v1/`).
    pub fn base_url(&self) -> &str {
        &self.app.instances[0].base_url
    }

    /// Every instance's URL, in instance order (`base_urls()[0] == base_url()`).
    pub fn base_urls(&self) -> Vec<String> {
        self.app.instances.iter().map(|instance| instance.base_url.clone()).collect()
    }

    /// How many instances the cluster has (1 after [`start`](Self::start)).
    pub fn instance_count(&self) -> usize {
        self.app.instances.len()
    }

    /// Control of instance `index`: its outage and its counters.
    ///
    /// # Panics
    /// If `index >= instance_count()`, like indexing a slice.
    pub fn instance(&self, index: usize) -> InstanceControl<'_> {
        match self.app.instances.get(index) {
            Some(instance) => InstanceControl::new(instance),
            None => panic!("aa-sim has no instance {index}: the cluster has {}", self.instance_count()),
        }
    }

    /// Resets every instance's [`crate::InstanceStats::peak_open_connections`] to its open connections.
    pub fn reset_peak_open_connections(&self) {
        self.app.instances.iter().for_each(|instance| instance.reset_peak_open_connections());
    }

    /// The U2F App ID put into every sign request (the fixture's `u2f_app_id`).
    pub fn app_id(&self) -> &str {
        &self.app.directory.app_id
    }

    /// The host of [`app_id`](Self::app_id) (`aa-sim.local` for the demo fixture). It is not the
    /// host of [`base_url`](Self::base_url), so clients must allow it explicitly
    /// (`ClientConfig::allowed_app_id_hosts`, `aa_client_options_allow_app_id_host`).
    pub fn app_id_host(&self) -> &str {
        let app_id = self.app_id();
        let authority = app_id.split_once("://").map_or(app_id, |(_, rest)| rest);
        let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or(host)
        } else {
            host.split(':').next().unwrap_or(host)
        }
    }

    /// PEM of the generated CA (`Generated`, `GeneratedFor`); `None` for plain HTTP or a
    /// caller-supplied certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Applies to existing sessions and processes too (their age is checked on each use).
    pub fn set_lifetimes(&self, lifetimes: Lifetimes) {
        self.app.set_lifetimes(lifetimes);
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.app.lifetimes()
    }

    pub fn inject_fault(&self, rule: FaultRule) {
        self.app.faults.add(rule);
    }

    pub fn clear_faults(&self) {
        self.app.faults.clear();
    }

    /// SMS/e-mail OTPs "sent" to the user (any accepted name form), newest last; empty for an
    /// unknown user.
    pub fn sent_otps(&self, user_name: &str) -> Vec<String> {
        self.app.sent_otps(user_name).unwrap_or_default()
    }

    /// The user's SMARTPHONE:1 pushes and VOICE:1 calls that wait for the phone (method ids),
    /// empty for an unknown user.
    pub fn pending_approvals(&self, user_name: &str) -> Vec<String> {
        self.app.pending_approvals(user_name).unwrap_or_default().into_iter().map(|p| p.method_id).collect()
    }

    /// Decides every pending push and call of the user as the phone would; returns how many
    /// there were (0 for an unknown user or nothing pending).
    pub fn decide_approval(&self, user_name: &str, decision: ApprovalDecision) -> usize {
        self.app.decide_approvals(user_name, decision).unwrap_or(0)
    }

    /// The current code of the user's smartphone app offline TOTP, if it has one.
    pub fn current_smartphone_totp(&self, user_name: &str) -> Option<String> {
        self.app.current_smartphone_totp(user_name)
    }

    /// The user's current TOTP code, if the user exists and has a TOTP secret.
    pub fn current_totp(&self, user_name: &str) -> Option<String> {
        self.app.current_totp(user_name).map(|(code, _)| code)
    }

    /// The cluster's totals (per instance: [`InstanceControl::stats`]).
    pub fn stats(&self) -> Stats {
        self.app.stats()
    }

    /// Every endpoint session becomes unknown (433 on next use).
    pub fn expire_endpoint_sessions(&self) {
        self.app.expire_endpoint_sessions();
    }

    /// Every logon process becomes unknown (444 on next use).
    pub fn expire_logon_processes(&self) {
        self.app.expire_logon_processes();
    }

    /// Every login session becomes expired (434 AUCORE-1067 on next use).
    pub fn expire_login_sessions(&self) {
        self.app.expire_login_sessions();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.server_thread.take() {
            let _ = thread.join();
        }
    }
}

/// Instance `index`'s listener: port 0 stays 0 (a free port), any other port is offset by the
/// index.
fn bind_instance(listen: SocketAddr, index: usize) -> io::Result<std::net::TcpListener> {
    let port = match listen.port() {
        0 => 0,
        first => u16::try_from(index).ok().and_then(|index| first.checked_add(index)).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no port {first} + {index} for instance {index}"),
            )
        })?,
    };
    let address = SocketAddr::new(listen.ip(), port);
    let listener = std::net::TcpListener::bind(address)
        .map_err(|error| io::Error::new(error.kind(), format!("cannot listen on {address}: {error}")))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn base_url(scheme: &str, address: SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", address.port())
}

async fn sweep_expired(app: Arc<App>) {
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        ticks.tick().await;
        app.store().sweep(Instant::now());
    }
}
