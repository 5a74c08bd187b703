//! One JSON request to one AA server over the client's shared ureq agent: size cap, error
//! envelope and transport errors mapped to [`ErrorKind`]s, how far the request got (for the
//! failover rules), and a log line without secrets.

use std::time::Instant;

use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use super::config::{parse_base_url, ClientConfig};
use super::connection_limit::ConnectionLimit;
use super::connector::{connector_chain, ConnectTimeResolver, NotSent};
use super::redact::redact;
use super::tls;
use crate::secret::SecretBytes;
use crate::{Error, ErrorKind, Result};

/// The API prefix every path is relative to.
const API_PREFIX: &str = "/api/v1";

/// Room for the answer's status line and headers. ureq reports a head too large only when it is
/// larger than its limit *and* fits in this buffer, so the limit is set one byte below it.
const INPUT_BUFFER_SIZE: usize = 64 * 1024;
/// Room for a request's head and body, sent with one write when they fit in half of it.
const OUTPUT_BUFFER_SIZE: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One API call. `route` names the call for logs without ids or query values (they are tokens).
pub(crate) struct ApiRequest<'a> {
    pub method: Method,
    pub route: &'a str,
    pub path_and_query: String,
    /// Serialized JSON body, in a buffer of its owner (see `client::json_body`). It is sent from
    /// there as bytes (ureq copies it only into the connection's output buffer, which the TLS
    /// transport wipes after each write) and overwritten with zeros as soon as it has been sent,
    /// before the answer is read; the owner's `Zeroizing` wipes it once more when dropped.
    pub body: Option<&'a mut SecretBytes>,
}

/// How far a failed request got: what decides whether another server may be asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Failed in this process before any server was involved (all connections busy, no random
    /// numbers): no server is to blame, another one would not help.
    Local,
    /// No connection could be opened (name lookup, TCP connect, TLS handshake): not one byte of
    /// the request left this process.
    NotSent,
    /// The request was (or may have been) sent and no complete answer came back: a timeout, a
    /// reset, a connection closed early. The server may have acted on it.
    Sent,
    /// The server answered (an HTTP error, an error envelope, an answer that is not JSON).
    Answered,
}

/// A request that did not succeed, and how far it got.
#[derive(Debug)]
pub(crate) struct CallFailure {
    pub error: Error,
    pub stage: Stage,
}

impl CallFailure {
    /// The server, or the load balancer in front of it, says it cannot serve now.
    pub(crate) fn is_unavailable_answer(&self) -> bool {
        self.stage == Stage::Answered && matches!(self.error.http_status(), Some(502..=504))
    }
}

pub(crate) struct Http {
    agent: ureq::Agent,
    connections: ConnectionLimit,
    request_timeout: std::time::Duration,
    max_response_bytes: u64,
    accept_language: Option<String>,
}

impl Http {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self> {
        config.validate()?;
        let proxy = match &config.proxy {
            Some(url) => Some(ureq::Proxy::new(url.trim_matches(' ')).map_err(|e| {
                Error::new(ErrorKind::Config, format!("invalid proxy URL {:?}: {e}", redact(url)))
            })?),
            None => None,
        };
        let tls_config = tls::client_config(&config.tls)?;
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout))
            // An explicit setting always wins over proxy environment variables.
            .proxy(proxy)
            .user_agent(config.user_agent.as_str())
            .accept("application/json")
            .max_redirects(0)
            // Per connection. An AA answer's headers are far smaller; bodies stream through.
            // ureq's defaults (128 KiB each) cost page faults on every new connection.
            .input_buffer_size(INPUT_BUFFER_SIZE)
            .max_response_header_size(INPUT_BUFFER_SIZE - 1)
            .output_buffer_size(OUTPUT_BUFFER_SIZE)
            // Keep one per call that may run at once (ureq keeps 3 per host by default, so a 4th
            // thread would reconnect each time); with `connections` this bounds the open ones.
            .max_idle_connections(config.max_connections)
            .max_idle_connections_per_host(config.max_connections)
            .build();
        let agent = ureq::Agent::with_parts(agent_config, connector_chain(tls_config), ConnectTimeResolver);
        Ok(Http {
            agent,
            connections: ConnectionLimit::new(config.max_connections),
            request_timeout: config.request_timeout,
            max_response_bytes: config.max_response_bytes,
            accept_language: config.accept_language.clone(),
        })
    }

    /// Sends the request to the server whose API is at `api_base` (see [`api_base`]); returns
    /// the JSON answer of a 2xx (`Null` for an empty body) or the failure. The request body is
    /// wiped once sent (see [`ApiRequest::body`]).
    pub(crate) fn call(
        &self,
        api_base: &str,
        mut request: ApiRequest<'_>,
    ) -> std::result::Result<Value, CallFailure> {
        let url = format!("{api_base}{}", request.path_and_query);
        let permit = match self.connections.acquire(self.request_timeout) {
            Ok(permit) => permit,
            Err(error) => return Err(CallFailure { error, stage: Stage::Local }),
        };
        let started = Instant::now();
        let sent = self.send(&url, &request);
        if let Some(body) = request.body.as_deref_mut() {
            // Sent (or failed): the body is not needed any more, whatever comes next.
            body.as_mut_slice().zeroize();
        }
        let outcome = sent.and_then(|mut response| {
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .with_config()
                .limit(self.max_response_bytes)
                .read_to_vec()
                .map_err(|e| transport_error(e, self.max_response_bytes));
            // The answer may carry tokens (login_session_id); its bytes are wiped when dropped.
            body.map(|body| (status, Zeroizing::new(body)))
        });
        drop(permit);
        let elapsed = started.elapsed();
        let (status, body) = match outcome {
            Ok(answer) => answer,
            Err((e, stage)) => {
                let error = e.to_string();
                log::debug!(
                    "{} {} failed after {elapsed:?}: {}",
                    request.method.as_str(),
                    request.route,
                    redact(&error)
                );
                return Err(CallFailure { error: super::hints::with_next_step(e, &url), stage });
            }
        };
        log::debug!("{} {} -> {status} in {elapsed:?}", request.method.as_str(), redact(request.route));
        interpret_answer(status, &body).map_err(|error| CallFailure { error, stage: Stage::Answered })
    }

    fn send(
        &self,
        url: &str,
        request: &ApiRequest<'_>,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, (Error, Stage)> {
        let language = self.accept_language.as_deref();
        let result = match (request.method, request.body.as_deref()) {
            (Method::Get, _) => with_language(self.agent.get(url), language).call(),
            (Method::Delete, _) => with_language(self.agent.delete(url), language).call(),
            (Method::Post, body) => with_language(self.agent.post(url), language)
                .header("Content-Type", "application/json")
                .send(body.map_or(&b"{}"[..], |body| body.as_slice())),
        };
        result.map_err(|e| transport_error(e, self.max_response_bytes))
    }
}

fn with_language<B>(request: ureq::RequestBuilder<B>, language: Option<&str>) -> ureq::RequestBuilder<B> {
    match language {
        Some(language) => request.header("Accept-Language", language),
        None => request,
    }
}

/// `https://host[:port][/prefix]` → `https://host[:port][/prefix]/api/v1` (prefix kept when present).
pub(crate) fn api_base(base_url: &str) -> Result<String> {
    let (uri, trimmed) = parse_base_url(base_url)?;
    if uri.scheme_str() == Some("http") {
        log::warn!("base URL {:?} is plain HTTP: passwords and OTPs travel unencrypted", redact(trimmed));
    }
    let trimmed = trimmed.trim_end_matches('/');
    Ok(if trimmed.ends_with(API_PREFIX) { trimmed.to_owned() } else { format!("{trimmed}{API_PREFIX}") })
}

/// Classifies a ureq failure, and how far the request got.
fn transport_error(e: ureq::Error, limit: u64) -> (Error, Stage) {
    match NotSent::unwrap(e) {
        Ok(connect_failure) => (classify(connect_failure, limit), Stage::NotSent),
        Err(e) => {
            let error = classify(e, limit);
            let stage =
                if error.kind() == ErrorKind::MalformedServerData { Stage::Answered } else { Stage::Sent };
            (error, stage)
        }
    }
}

fn classify(e: ureq::Error, limit: u64) -> Error {
    let kind = match &e {
        ureq::Error::Timeout(_) => ErrorKind::Timeout,
        ureq::Error::Rustls(_) | ureq::Error::Tls(_) | ureq::Error::TlsRequired => ErrorKind::Tls,
        ureq::Error::Io(io) if is_timeout(io) => ErrorKind::Timeout,
        ureq::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            ErrorKind::Tls
        }
        ureq::Error::BodyExceedsLimit(_) => {
            return Error::new(
                ErrorKind::MalformedServerData,
                format!("server answer is larger than {limit} bytes"),
            )
        }
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => ErrorKind::MalformedServerData,
        ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => ErrorKind::Config,
        _ => ErrorKind::Network,
    };
    // Transport errors may quote a URL (with its tokens); the caller may log the message.
    Error::new(kind, redact(&e.to_string()).into_owned())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
}

/// Turns status + body into the JSON answer or the error the server described.
pub(crate) fn interpret_answer(status: u16, body: &[u8]) -> Result<Value> {
    let json = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        serde_json::from_slice::<Value>(body)
    };
    if (200..300).contains(&status) {
        let json = json.map_err(|e| {
            Error::new(ErrorKind::MalformedServerData, format!("server answer is not valid JSON: {e}"))
        })?;
        if json.get("status").and_then(Value::as_str) == Some("error") {
            return Err(envelope_error(status, &json));
        }
        return Ok(json);
    }
    match json {
        Ok(json) if json.get("errors").is_some() || json.get("status").is_some() => {
            Err(envelope_error(status, &json))
        }
        _ => {
            Err(Error::new(ErrorKind::AaHttp, format!("server answered HTTP {status}"))
                .with_http_status(status))
        }
    }
}

/// The §3.3 error envelope: `errors[0].msgid/description`, top-level (or first error's) `reason`.
fn envelope_error(status: u16, json: &Value) -> Error {
    let first = json.get("errors").and_then(Value::as_array).and_then(|errors| errors.first());
    fn text<'a>(v: Option<&'a Value>, key: &str) -> &'a str {
        v.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("")
    }
    let description = match text(first, "description") {
        "" => match text(first, "name") {
            "" => format!("server answered HTTP {status}"),
            name => name.to_owned(),
        },
        description => description.to_owned(),
    };
    let reason = match text(Some(json), "reason") {
        "" => text(first, "reason"),
        reason => reason,
    };
    Error::new(ErrorKind::AaHttp, description)
        .with_http_status(status)
        .with_msgid(text(first, "msgid"))
        .with_reason(reason)
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_appends_the_prefix_once() {
        assert_eq!(api_base("https://aa.example").unwrap(), "https://aa.example/api/v1");
        assert_eq!(api_base("https://aa.example:8443/").unwrap(), "https://aa.example:8443/api/v1");
        assert_eq!(api_base("https://aa.example/api/v1/").unwrap(), "https://aa.example/api/v1");
        assert_eq!(api_base("https://aa.example/tenant").unwrap(), "https://aa.example/tenant/api/v1");
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for url in [
            "",
            "aa.example",
            "ftp://aa.example",
            "https://",
            "https://aa.example/?x=1",
            "::::",
            "https://u:p@aa.example",
            "https://aa.example/#x",
        ] {
            assert_eq!(api_base(url).unwrap_err().kind(), ErrorKind::Config, "{url}");
        }
    }

    #[test]
    fn error_envelope_keeps_the_server_details() {
        let body = br#"{"status":"error","errors":[{"location":"server","name":"AuError","msgid":"AUCORE-1056","description":"User is not found"}],"reason":"USER_NOT_FOUND"}"#;
        let e = interpret_answer(400, body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AaHttp);
        assert_eq!(e.http_status(), Some(400));
        assert_eq!(e.msgid(), Some("AUCORE-1056"));
        assert_eq!(e.reason(), Some("USER_NOT_FOUND"));
        assert_eq!(e.message(), "User is not found");
    }

    #[test]
    fn validation_error_without_msgid_names_the_field() {
        let body = br#"{"status":"error","errors":[{"location":"body","name":"endpoint_secret_hash","description":"String does not match expected pattern"}]}"#;
        let e = interpret_answer(400, body).unwrap_err();
        assert_eq!(e.msgid(), None);
        assert_eq!(e.message(), "String does not match expected pattern");
    }

    #[test]
    fn non_json_error_bodies_keep_the_status() {
        let e = interpret_answer(502, b"<html>Bad gateway</html>").unwrap_err();
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::AaHttp, Some(502)));
    }

    #[test]
    fn error_status_inside_a_200_is_an_error() {
        let e =
            interpret_answer(200, br#"{"status":"error","errors":[{"msgid":"AUCORE-1","description":"x"}]}"#)
                .unwrap_err();
        assert_eq!((e.kind(), e.msgid()), (ErrorKind::AaHttp, Some("AUCORE-1")));
    }

    #[test]
    fn truncated_json_is_malformed() {
        let e = interpret_answer(200, br#"{"status":"MORE_DA"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedServerData);
        assert_eq!(interpret_answer(200, b"").unwrap(), Value::Null);
    }

    #[test]
    fn encoding_keeps_unreserved_characters_only() {
        assert_eq!(encode("LOCAL\\admin x&y=é"), "LOCAL%5Cadmin%20x%26y%3D%C3%A9");
        assert_eq!(encode("abc-_.~09"), "abc-_.~09");
    }
}
