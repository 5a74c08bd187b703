//! [`Client`]: one AA server or cluster, one endpoint, one connection pool shared by all logons;
//! each call goes to the first server that can serve it (see [`failover`](super::failover)).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::app_id::AppIdPolicy;
use super::call::SessionCall;
use super::config::ClientConfig;
use super::failover::{all_failed, not_repeated, Next, Repeat};
use super::http::{encode, ApiRequest, CallFailure, Http, Stage};
use super::model::{ChainsInfo, LoginSessionInfo};
use super::redact::redact;
use super::servers::{Server, ServerIndex, Servers};
use super::session::EndpointSessions;
use crate::{Error, ErrorKind, Result};

/// A client of one AA server, or of the servers of one cluster ([`ClientConfig::failover_urls`]).
/// Cheap to clone; clones share the connection pool and the endpoint sessions. `Send + Sync`:
/// logons may run on several threads at once, without waiting for each other's requests
/// (only for a free connection when [`ClientConfig::max_connections`] are in use).
///
/// With several servers, a call goes to the preferred one (a logon's calls: to the server the
/// logon talked to last) and moves to the next when the server cannot be reached (connect or TLS
/// handshake failure) or answers 502/503/504 or fails mid-request — the last two only for calls
/// that are safe to repeat: a call carrying an answer or a signature is sent to another server
/// only when it provably never left for the first. A server that failed is skipped for
/// [`ClientConfig::server_backoff`]. When every server fails, the error names each failure.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A call's outcome and the server that gave it (`None`: no server answered).
pub(crate) struct Reply {
    pub outcome: Result<Value>,
    pub server: Option<ServerIndex>,
}

struct Inner {
    http: Http,
    servers: Servers,
    sessions: EndpointSessions,
    app_ids: AppIdPolicy,
    /// Set once the server answered the SPA's `GET /logon/chains` with 404/405 and PWM's `POST`
    /// form worked: later lookups go straight to the `POST` form.
    chains_by_post: AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<_> = self.inner.servers.iter().map(|server| redact(&server.base_url)).collect();
        f.debug_struct("Client").field("servers", &urls).finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the configuration ([`ClientConfig::validate`]: URL, header values, CA file, proxy,
    /// timeouts, appId hosts) and builds the connection pool. Nothing is sent until the first call.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let http = Http::new(&config)?;
        let servers = Servers::new(&config)?;
        let app_ids = AppIdPolicy::new(&config)?;
        let sessions = EndpointSessions::new(config.endpoint_id, config.endpoint_secret, servers.len())?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                servers,
                sessions,
                app_ids,
                chains_by_post: AtomicBool::new(false),
            }),
        })
    }

    /// Every server, in order of preference, as configured.
    pub fn server_urls(&self) -> Vec<String> {
        self.inner.servers.iter().map(|server| server.base_url.clone()).collect()
    }

    /// The base URL of the server that answered this client's last call (any logon's); the
    /// preferred one before the first call.
    pub fn current_server(&self) -> String {
        self.inner.servers.last_answered().base_url.clone()
    }

    pub(crate) fn server(&self, index: ServerIndex) -> &Server {
        self.inner.servers.get(index)
    }

    /// Which U2F appIds this client signs for.
    pub(crate) fn app_ids(&self) -> &AppIdPolicy {
        &self.inner.app_ids
    }

    /// The endpoint session in use on the first server that can serve one, created on first use.
    pub fn endpoint_session_id(&self) -> Result<String> {
        let mut failures = Vec::new();
        for index in self.inner.servers.attempt_order(None) {
            let server = self.server(index);
            match self.inner.sessions.current(&self.inner.http, server, index) {
                Ok(id) => {
                    self.inner.servers.answered(index);
                    return Ok(id);
                }
                Err(failure) => match Next::after(&failure, Repeat::Safe) {
                    Next::Failover => {
                        self.inner.servers.failed(index);
                        failures.push(named(server, failure));
                    }
                    _ => return Err(failure.error),
                },
            }
        }
        Err(all_failed(failures))
    }

    /// The chains `user_name` may use for `event`. Servers differ in the form they take (§2.4,
    /// Open question 10): the enrollment SPA's `GET /logon/chains?user_name=…&event=…` is tried
    /// first; when the server answers it with 404 or 405, PWM's older
    /// `POST /logon/chains?username=…&application=…` (the event as `application`) is sent
    /// instead, and used first from then on by this client.
    pub fn chains(&self, user_name: &str, event: &str) -> Result<ChainsInfo> {
        require("user name", user_name)?;
        let by_post = self.inner.chains_by_post.load(Ordering::Relaxed);
        let first = if by_post {
            self.chains_by_post(user_name, event)
        } else {
            self.chains_by_get(user_name, event)
        };
        let answer = match first {
            Err(e) if matches!(e.http_status(), Some(404 | 405)) => {
                let (form, other) = if by_post { ("POST", "GET") } else { ("GET", "POST") };
                log::debug!(
                    "the server refused the {form} form of /logon/chains (HTTP {:?}); trying {other}",
                    e.http_status()
                );
                let answer = if by_post {
                    self.chains_by_get(user_name, event)
                } else {
                    self.chains_by_post(user_name, event)
                }?;
                self.inner.chains_by_post.store(!by_post, Ordering::Relaxed);
                answer
            }
            other => other?,
        };
        ChainsInfo::from_json(&answer)
    }

    /// The enrollment SPA's form (`GET`, `user_name`, `event`).
    fn chains_by_get(&self, user_name: &str, event: &str) -> Result<Value> {
        self.read(|session| {
            let path = format!(
                "/logon/chains?user_name={}&is_trusted=true&event={}&endpoint_session_id={}",
                encode(user_name),
                encode(event),
                encode(session)
            );
            SessionCall::get("/logon/chains", path)
        })
    }

    /// PWM's form (`POST`, `username`, `application`; the body is empty JSON).
    fn chains_by_post(&self, user_name: &str, event: &str) -> Result<Value> {
        self.read(|session| {
            let path = format!(
                "/logon/chains?username={}&application={}&is_trusted=true&endpoint_session_id={}",
                encode(user_name),
                encode(event),
                encode(session)
            );
            SessionCall::post("/logon/chains", path, &json!({}))
        })
    }

    /// Information about a completed authentication (`GET /logon/sessions/{id}`).
    pub fn login_session(&self, login_session_id: &str) -> Result<LoginSessionInfo> {
        require("login session id", login_session_id)?;
        let answer = self.read(|session| {
            SessionCall::get("/logon/sessions/{id}", login_session_path(login_session_id, session))
        })?;
        LoginSessionInfo::from_json(answer)
    }

    /// Ends a login session (`DELETE /logon/sessions/{id}`).
    pub fn logout(&self, login_session_id: &str) -> Result<()> {
        require("login session id", login_session_id)?;
        self.read(|session| {
            SessionCall::delete("/logon/sessions/{id}", login_session_path(login_session_id, session))
        })?;
        Ok(())
    }

    /// A call that is safe to repeat (a read, or a logout: deleting twice is deleting), on any
    /// server, starting with the preferred.
    fn read<F>(&self, build: F) -> Result<Value>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        self.call_with_session(build, Repeat::Safe, None).outcome
    }

    /// Runs a call that names the endpoint session on the first server that can serve it,
    /// starting with `first` when given (see [`Client`] and [`failover`](super::failover)).
    /// `build` gets the session id; it is called again for every attempt, so each request body
    /// (possibly holding an answer) is wiped once sent and never kept for a retry.
    pub(crate) fn call_with_session<F>(&self, build: F, repeat: Repeat, first: Option<ServerIndex>) -> Reply
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let servers = &self.inner.servers;
        let order = servers.attempt_order(first);
        let mut failures = Vec::new();
        for (attempt, &index) in order.iter().enumerate() {
            let server = self.server(index);
            let failure = match self.call_on(index, &build) {
                Ok(value) => {
                    servers.answered(index);
                    return Reply { outcome: Ok(value), server: Some(index) };
                }
                Err(failure) => failure,
            };
            let next = Next::after(&failure, repeat);
            if next.server_failed() {
                servers.failed(index);
            }
            match next {
                Next::Verdict => {
                    servers.answered(index);
                    return Reply { outcome: Err(failure.error), server: Some(index) };
                }
                Next::Local => return Reply { outcome: Err(failure.error), server: None },
                Next::Stop if order.len() == 1 => return Reply { outcome: Err(failure.error), server: None },
                Next::Stop => {
                    log::info!(
                        "AA server {} failed ({}) after the call may have reached it; not repeated elsewhere",
                        server.base_url,
                        redact(failure.error.message())
                    );
                    // Servers tried before failed without receiving the call; those after are skipped.
                    let not_tried = order.len() - attempt - 1;
                    let error = named(server, failure);
                    failures.push(if not_tried > 0 { not_repeated(error, not_tried) } else { error });
                    return Reply { outcome: Err(all_failed(failures)), server: None };
                }
                Next::Failover => {
                    if let Some(&then) = order.get(attempt + 1) {
                        log::info!(
                            "AA server {} failed ({}); trying {}",
                            server.base_url,
                            redact(failure.error.message()),
                            self.server(then).base_url
                        );
                    }
                    failures.push(named(server, failure));
                }
            }
        }
        Reply { outcome: Err(all_failed(failures)), server: None }
    }

    /// The call on one server, with that server's endpoint session; when the server no longer
    /// knows the session (HTTP 433) a new one is created there and the call is sent once more.
    /// A failure to get a session is a failure of the call before it was sent.
    fn call_on<F>(&self, index: ServerIndex, build: &F) -> Result<Value, CallFailure>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let (http, sessions, server) = (&self.inner.http, &self.inner.sessions, self.server(index));
        let session = sessions.current(http, server, index).map_err(before_the_call)?;
        match self.send(index, build, &session) {
            Err(failure) if failure.stage == Stage::Answered && failure.error.http_status() == Some(433) => {
                let renewed = sessions.renew(http, server, index, &session).map_err(before_the_call)?;
                self.send(index, build, &renewed)
            }
            other => other,
        }
    }

    fn send<F>(&self, index: ServerIndex, build: &F, session: &str) -> Result<Value, CallFailure>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let mut call = build(session).map_err(|error| CallFailure { error, stage: Stage::Local })?;
        self.inner.http.call(
            &self.server(index).api_base,
            ApiRequest {
                method: call.method,
                route: call.route,
                path_and_query: call.path_and_query,
                body: call.body.as_mut(),
            },
        )
        // `call.body` (possibly holding an answer) was wiped once sent, and again when dropped here.
    }
}

/// A failed endpoint session request, as a failure of the call that needed it: that call was
/// not sent, whatever happened to the session request (which is safe to repeat), unless the
/// server gave its verdict (a wrong endpoint secret is wrong on every server).
fn before_the_call(failure: CallFailure) -> CallFailure {
    match Next::after(&failure, Repeat::Safe) {
        Next::Failover => CallFailure { stage: Stage::NotSent, ..failure },
        _ => failure,
    }
}

/// The failure's error, its message starting with the server (and the HTTP status of an
/// answer) when it does not name them yet: transport failures name the server (see `hints`),
/// answers such as "Service Unavailable" do not.
fn named(server: &Server, failure: CallFailure) -> Error {
    let error = failure.error;
    let status = match error.http_status() {
        Some(status) if !error.message().contains(&format!("HTTP {status}")) => format!("HTTP {status}: "),
        _ => String::new(),
    };
    if status.is_empty() && error.message().contains(server.origin()) {
        return error;
    }
    let message = format!("{}: {status}{}", server.base_url, error.message());
    error.with_message(message)
}

/// `/logon/sessions/{id}?endpoint_session_id=…`, shared by session info and logout.
fn login_session_path(login_session_id: &str, endpoint_session_id: &str) -> String {
    format!(
        "/logon/sessions/{}?endpoint_session_id={}",
        encode(login_session_id),
        encode(endpoint_session_id)
    )
}

pub(crate) fn require(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::new(ErrorKind::Config, format!("{what} is empty")))
    } else {
        Ok(())
    }
}
