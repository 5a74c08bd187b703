//! [`Client`]: one AA server, one endpoint, one connection pool shared by all logons.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::app_id::AppIdPolicy;
use super::call::SessionCall;
use super::config::ClientConfig;
use super::http::{encode, ApiRequest, Http};
use super::model::{ChainsInfo, LoginSessionInfo};
use super::redact::redact;
use super::session::EndpointSessions;
use crate::{Error, ErrorKind, Result};

/// A client of one AA server. Cheap to clone; clones share the connection pool and the endpoint
/// session. `Send + Sync`: logons may run on several threads at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Http,
    sessions: EndpointSessions,
    app_ids: AppIdPolicy,
    base_url: String,
    /// Set once the server answered the SPA's `GET /logon/chains` with 404/405 and PWM's `POST`
    /// form worked: later lookups go straight to the `POST` form.
    chains_by_post: AtomicBool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("base_url", &redact(&self.inner.base_url)).finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the configuration ([`ClientConfig::validate`]: URL, header values, CA file, proxy,
    /// timeouts, appId hosts) and builds the connection pool. Nothing is sent until the first call.
    pub fn new(config: ClientConfig) -> Result<Client> {
        let http = Http::new(&config)?;
        let app_ids = AppIdPolicy::new(&config)?;
        let sessions = EndpointSessions::new(config.endpoint_id, config.endpoint_secret)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                sessions,
                app_ids,
                base_url: config.base_url,
                chains_by_post: AtomicBool::new(false),
            }),
        })
    }

    /// The base URL as configured (FIDO2:1 takes its origin from it).
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Which U2F appIds this client signs for.
    pub(crate) fn app_ids(&self) -> &AppIdPolicy {
        &self.inner.app_ids
    }

    /// The endpoint session in use, created on first use.
    pub fn endpoint_session_id(&self) -> Result<String> {
        self.inner.sessions.current(&self.inner.http)
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
        self.call_with_session(|session| {
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
        self.call_with_session(|session| {
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
        let answer = self.call_with_session(|session| {
            SessionCall::get("/logon/sessions/{id}", login_session_path(login_session_id, session))
        })?;
        LoginSessionInfo::from_json(answer)
    }

    /// Ends a login session (`DELETE /logon/sessions/{id}`).
    pub fn logout(&self, login_session_id: &str) -> Result<()> {
        require("login session id", login_session_id)?;
        self.call_with_session(|session| {
            SessionCall::delete("/logon/sessions/{id}", login_session_path(login_session_id, session))
        })?;
        Ok(())
    }

    /// Runs a call that names the endpoint session; when the server no longer knows the session
    /// (HTTP 433) a new one is created and the call is sent once more. `build` gets the session id.
    pub(crate) fn call_with_session<F>(&self, build: F) -> Result<Value>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let session = self.endpoint_session_id()?;
        match self.call_once(&build, &session) {
            Err(e) if e.http_status() == Some(433) => {
                let renewed = self.inner.sessions.renew(&self.inner.http, &session)?;
                self.call_once(&build, &renewed)
            }
            other => other,
        }
    }

    fn call_once<F>(&self, build: &F, session: &str) -> Result<Value>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let mut call = build(session)?;
        self.inner.http.call(ApiRequest {
            method: call.method,
            route: call.route,
            path_and_query: call.path_and_query,
            body: call.body.as_mut(),
        })
        // `call.body` (possibly holding an answer) was wiped once sent, and again when dropped here.
    }
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
