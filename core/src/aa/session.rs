//! The endpoint session (§1.2): created lazily with a fresh salt, renewed when the server forgets
//! it. Kept per server: the servers of a cluster share their sessions, so a session made on one
//! is used on the others too, until one of them answers 433 (it does not know it) and gets its
//! own.

use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::call::json_body;
use super::http::{encode, ApiRequest, CallFailure, Http, Method, Stage};
use super::servers::{Server, ServerIndex};
use crate::{Error, ErrorKind, Result, Secret};

/// The id and secret of the registered endpoint, and the session each server uses.
pub(crate) struct EndpointSessions {
    endpoint_id: String,
    endpoint_secret: Secret,
    /// Per server. Locked for reading and writing ids only, never around a request.
    current: Mutex<Vec<Option<String>>>,
    /// Per server: held while a session is created there, so that calls arriving meanwhile use
    /// that one instead of each creating its own; other servers are not held up.
    creating: Vec<Mutex<()>>,
}

impl EndpointSessions {
    pub(crate) fn new(endpoint_id: String, endpoint_secret: Secret, servers: usize) -> Result<Self> {
        if endpoint_id.trim().is_empty() {
            return Err(Error::new(ErrorKind::Config, "endpoint id is empty"));
        }
        if endpoint_secret.is_empty() {
            return Err(Error::new(ErrorKind::Config, "endpoint secret is empty"));
        }
        Ok(EndpointSessions {
            endpoint_id,
            endpoint_secret,
            current: Mutex::new(vec![None; servers]),
            creating: (0..servers).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The session `index` uses: its own, else one made on another server of the cluster, else
    /// a new one created there.
    pub(crate) fn current(
        &self,
        http: &Http,
        server: &Server,
        index: ServerIndex,
    ) -> std::result::Result<String, CallFailure> {
        if let Some(id) = self.known(index) {
            return Ok(id);
        }
        let _creating = lock(&self.creating[index]);
        if let Some(id) = self.known(index) {
            return Ok(id);
        }
        let id = self.create(http, server)?;
        lock(&self.current)[index] = Some(id.clone());
        Ok(id)
    }

    /// Replaces `stale` on `index` with a new session; when another call already did, uses
    /// theirs. Every server that used `stale` moves to the new one (a cluster forgets a session
    /// everywhere at once; one that does not know the new one renews in turn).
    pub(crate) fn renew(
        &self,
        http: &Http,
        server: &Server,
        index: ServerIndex,
        stale: &str,
    ) -> std::result::Result<String, CallFailure> {
        let _creating = lock(&self.creating[index]);
        if let Some(id) = lock(&self.current)[index].clone().filter(|id| id != stale) {
            return Ok(id);
        }
        log::debug!("endpoint session unknown to {}; creating a new one", server.base_url);
        let id = self.create(http, server)?;
        let mut current = lock(&self.current);
        for slot in current.iter_mut().filter(|slot| slot.as_deref() == Some(stale)) {
            *slot = Some(id.clone());
        }
        current[index] = Some(id.clone());
        Ok(id)
    }

    /// The server's own session, or (adopted for it) one made on another server.
    fn known(&self, index: ServerIndex) -> Option<String> {
        let mut current = lock(&self.current);
        if let Some(id) = &current[index] {
            return Some(id.clone());
        }
        let shared = current.iter().flatten().next().cloned()?;
        current[index] = Some(shared.clone());
        Some(shared)
    }

    fn create(&self, http: &Http, server: &Server) -> std::result::Result<String, CallFailure> {
        let salt = fresh_salt().map_err(local)?;
        let hash = Zeroizing::new(endpoint_secret_hash(&self.endpoint_id, &self.endpoint_secret, &salt));
        // Serialized from borrowed text straight into the wiped buffer: no `Value` copy of the hash.
        let mut body = json_body(&SessionBody {
            salt: &salt,
            endpoint_secret_hash: hash.as_str(),
            session_data: EmptyObject {},
        })
        .map_err(local)?;
        let answer = http.call(
            &server.api_base,
            ApiRequest {
                method: Method::Post,
                route: "/endpoints/{id}/sessions",
                path_and_query: format!("/endpoints/{}/sessions", encode(&self.endpoint_id)),
                body: Some(&mut body),
            },
        )?;
        match answer.get("endpoint_session_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(CallFailure {
                error: Error::new(
                    ErrorKind::MalformedServerData,
                    "endpoint session answer has no endpoint_session_id",
                ),
                stage: Stage::Answered,
            }),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A failure in this process, before anything was sent.
fn local(error: Error) -> CallFailure {
    CallFailure { error, stage: Stage::Local }
}

/// `POST /endpoints/{id}/sessions` body (§1.2).
#[derive(Serialize)]
struct SessionBody<'a> {
    salt: &'a str,
    endpoint_secret_hash: &'a str,
    session_data: EmptyObject,
}

/// Serializes as `{}`.
#[derive(Serialize)]
struct EmptyObject {}

/// 32 random bytes as lowercase hex.
fn fresh_salt() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::Config, format!("no random numbers from the OS: {e}")))?;
    Ok(hex(&bytes))
}

/// §1.2: `hex(SHA256(secret + hex(SHA256(id + salt))))`.
pub(crate) fn endpoint_secret_hash(endpoint_id: &str, endpoint_secret: &Secret, salt: &str) -> String {
    let id_hash = hex(&Sha256::new().chain_update(endpoint_id).chain_update(salt).finalize());
    hex(&Sha256::new().chain_update(endpoint_secret.expose()).chain_update(&id_hash).finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_matches_the_documented_vector() {
        let hash = endpoint_secret_hash(
            "178fa64ebafe11eaa1fb0242ac110003",
            &Secret::from("hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt"),
            "i_am_salt",
        );
        assert_eq!(hash, "f72f4f69212deed77d2127e532826aa0ad341b8ca523d76947f274abbf61a075");
    }

    #[test]
    fn salts_are_fresh() {
        let (a, b) = (fresh_salt().unwrap(), fresh_salt().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn empty_credentials_are_config_errors() {
        assert_eq!(EndpointSessions::new(" ".into(), "s".into(), 1).err().unwrap().kind(), ErrorKind::Config);
        assert_eq!(EndpointSessions::new("id".into(), "".into(), 1).err().unwrap().kind(), ErrorKind::Config);
    }
}
