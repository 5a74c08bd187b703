//! The in-process handle: starts the server on its own runtime thread, exposes test controls and
//! stops the server when dropped.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;
use crate::faults::FaultRule;
use crate::fixture::Fixture;
use crate::tls;

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

/// Counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections_accepted: u64,
    pub requests: u64,
}

/// A running simulator; dropping it stops the server and closes its connections.
pub struct Simulator {
    app: Arc<App>,
    base_url: String,
    ca_pem: Option<String>,
    shutdown: watch::Sender<bool>,
    server_thread: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Validates the fixture, binds the listener and starts serving on a dedicated thread.
    pub fn start(config: SimConfig) -> io::Result<Simulator> {
        config.fixture.validate()?;
        let listener = std::net::TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let (acceptor, ca_pem) = match &config.tls {
            TlsMode::Generated => {
                let material = tls::generated(address.ip())?;
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
        let host = match address.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
            ip if ip.is_unspecified() => "[::1]".to_owned(),
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        let base_url = format!("{scheme}://{host}:{}", address.port());

        let app = Arc::new(App::new(&config.fixture, config.lifetimes, config.chains_lookup));
        let (shutdown, shutdown_signal) = watch::channel(false);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("aa-sim-worker")
            .enable_all()
            .build()?;
        let server_app = Arc::clone(&app);
        let server_thread = std::thread::Builder::new().name("aa-sim".into()).spawn(move || {
            runtime.block_on(crate::http::serve(listener, acceptor, server_app, shutdown_signal));
            // Dropping the runtime here cancels every connection task.
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
        log::info!("aa-sim listening on {base_url}");
        Ok(Simulator { app, base_url, ca_pem, shutdown, server_thread: Some(server_thread) })
    }

    /// e.g. `https://127.0.0.1:40123` (no trailing slash; the API is under `/api/v1/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
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
