//! One API call as built for a given endpoint session, and the request bodies: serialized into
//! buffers that are wiped after sending, sized exactly first so they never reallocate (a
//! reallocation would leave an unwiped copy of a secret behind). Below the client, the endpoint
//! session and the logon, which all build calls.

use serde::Serialize;

use super::http::Method;
use crate::secret::SecretBytes;
use crate::{Error, ErrorKind, Result};

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
