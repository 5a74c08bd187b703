//! The endpoint session (§1.2): created lazily with a fresh salt, renewed when the server forgets it.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::call::json_body;
use super::http::{encode, ApiRequest, Http, Method};
use crate::{Error, ErrorKind, Result, Secret};

/// The id and secret of the registered endpoint, and the session currently in use.
pub(crate) struct EndpointSessions {
    endpoint_id: String,
    endpoint_secret: Secret,
    current: Mutex<Option<String>>,
}

impl EndpointSessions {
    pub(crate) fn new(endpoint_id: String, endpoint_secret: Secret) -> Result<Self> {
        if endpoint_id.trim().is_empty() {
            return Err(Error::new(ErrorKind::Config, "endpoint id is empty"));
        }
        if endpoint_secret.is_empty() {
            return Err(Error::new(ErrorKind::Config, "endpoint secret is empty"));
        }
        Ok(EndpointSessions { endpoint_id, endpoint_secret, current: Mutex::new(None) })
    }

    /// The session in use, creating one first when there is none.
    pub(crate) fn current(&self, http: &Http) -> Result<String> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = current.as_ref() {
            return Ok(id.clone());
        }
        let id = self.create(http)?;
        *current = Some(id.clone());
        Ok(id)
    }

    /// Replaces `stale` with a new session; when another thread already did, uses theirs.
    pub(crate) fn renew(&self, http: &Http, stale: &str) -> Result<String> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = current.as_ref().filter(|id| id.as_str() != stale) {
            return Ok(id.clone());
        }
        *current = None;
        log::debug!("endpoint session expired; creating a new one");
        let id = self.create(http)?;
        *current = Some(id.clone());
        Ok(id)
    }

    fn create(&self, http: &Http) -> Result<String> {
        let salt = fresh_salt()?;
        let hash = Zeroizing::new(endpoint_secret_hash(&self.endpoint_id, &self.endpoint_secret, &salt));
        // Serialized from borrowed text straight into the wiped buffer: no `Value` copy of the hash.
        let mut body = json_body(&SessionBody {
            salt: &salt,
            endpoint_secret_hash: hash.as_str(),
            session_data: EmptyObject {},
        })?;
        let answer = http.call(ApiRequest {
            method: Method::Post,
            route: "/endpoints/{id}/sessions",
            path_and_query: format!("/endpoints/{}/sessions", encode(&self.endpoint_id)),
            body: Some(&mut body),
        })?;
        match answer.get("endpoint_session_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(Error::new(
                ErrorKind::MalformedServerData,
                "endpoint session answer has no endpoint_session_id",
            )),
        }
    }
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
        assert_eq!(EndpointSessions::new(" ".into(), "s".into()).err().unwrap().kind(), ErrorKind::Config);
        assert_eq!(EndpointSessions::new("id".into(), "".into()).err().unwrap().kind(), ErrorKind::Config);
    }
}
