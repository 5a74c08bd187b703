//! [`Client`]: one AA server, one endpoint, one connection pool shared by all logons.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};

use super::app_id::AppIdPolicy;
use super::config::ClientConfig;
use super::http::{encode, ApiRequest, Http, Method};
use super::logon::Logon;
use super::model::{ChainsInfo, LoginSessionInfo, LogonResponse};
use super::redact::redact;
use super::session::EndpointSessions;
use crate::secret::SecretBytes;
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

    /// Starts a logon of `user_name` for `event` with the first method `method_id` (`POST /logon`).
    pub fn start_logon(&self, user_name: &str, event: &str, method_id: &str) -> Result<Logon> {
        require("user name", user_name)?;
        require("method id", method_id)?;
        let answer = self.call_with_session(|session| {
            let body = json!({
                "method_id": method_id,
                "user_name": user_name,
                "event": event,
                "endpoint_session_id": session,
            });
            SessionCall::post("/logon", "/logon".to_owned(), &body)
        })?;
        let response = LogonResponse::from_json(answer)?;
        if response.logon_process_id.is_empty() {
            return Err(Error::new(ErrorKind::MalformedServerData, "logon answer has no logon_process_id"));
        }
        Logon::started(self.clone(), user_name, response)
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

/// One call built for a given endpoint session.
pub(crate) struct SessionCall {
    pub method: Method,
    /// Names the call in logs, without ids.
    pub route: &'static str,
    pub path_and_query: String,
    pub body: Option<SecretBytes>,
}

impl SessionCall {
    pub(crate) fn get(route: &'static str, path_and_query: String) -> Result<SessionCall> {
        Ok(SessionCall { method: Method::Get, route, path_and_query, body: None })
    }

    pub(crate) fn delete(route: &'static str, path_and_query: String) -> Result<SessionCall> {
        Ok(SessionCall { method: Method::Delete, route, path_and_query, body: None })
    }

    pub(crate) fn post(route: &'static str, path: String, body: &impl Serialize) -> Result<SessionCall> {
        Ok(SessionCall { method: Method::Post, route, path_and_query: path, body: Some(json_body(body)?) })
    }

    /// A `do_logon` body `{"endpoint_session_id": …, "response": <response_json>}` whose
    /// response is JSON text already checked to be one object; written straight into a buffer
    /// that is wiped on drop, sized exactly first so it never reallocates.
    pub(crate) fn post_with_response(
        route: &'static str,
        path: String,
        endpoint_session_id: &str,
        response_json: &str,
    ) -> Result<SessionCall> {
        const HEAD: &[u8] = b"{\"endpoint_session_id\":";
        const MIDDLE: &[u8] = b",\"response\":";
        let encode_error =
            |e: serde_json::Error| Error::new(ErrorKind::InvalidState, format!("cannot encode request: {e}"));
        let mut counter = ByteCounter(0);
        serde_json::to_writer(&mut counter, endpoint_session_id).map_err(encode_error)?;
        let size = HEAD.len() + counter.0 + MIDDLE.len() + response_json.len() + 1;
        let mut body = SecretBytes::new(Vec::with_capacity(size));
        body.extend_from_slice(HEAD);
        serde_json::to_writer(&mut *body, endpoint_session_id).map_err(encode_error)?;
        body.extend_from_slice(MIDDLE);
        body.extend_from_slice(response_json.as_bytes());
        body.push(b'}');
        debug_assert_eq!(body.len(), size);
        Ok(SessionCall { method: Method::Post, route, path_and_query: path, body: Some(body) })
    }
}

/// Serializes `body` into a buffer that is wiped on drop. The exact size is measured first so the
/// buffer never reallocates (a reallocation would leave an unwiped copy of a secret behind).
pub(crate) fn json_body(body: &impl Serialize) -> Result<SecretBytes> {
    let encode_error =
        |e: serde_json::Error| Error::new(ErrorKind::InvalidState, format!("cannot encode request: {e}"));
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, body).map_err(encode_error)?;
    let mut buffer = SecretBytes::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *buffer, body).map_err(encode_error)?;
    Ok(buffer)
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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

fn require(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::new(ErrorKind::Config, format!("{what} is empty")))
    } else {
        Ok(())
    }
}
