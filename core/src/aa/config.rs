//! What a [`Client`](super::Client) is configured with.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::Secret;

/// Default cap on the size of one server answer.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Default time allowed for opening a connection (TCP and TLS handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for one whole request, answer body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection settings of one AA server and the endpoint the caller registered there.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://aa.example.com` or `https://aa.example.com/api/v1` (the API prefix is added when missing).
    pub base_url: String,
    /// Endpoint id (32 hex chars) from the endpoint registration.
    pub endpoint_id: String,
    /// Endpoint secret from the endpoint registration.
    pub endpoint_secret: Secret,
    /// How the server's certificate is verified.
    pub tls: TlsOptions,
    /// Time allowed for connecting (TCP connect plus TLS handshake).
    pub connect_timeout: Duration,
    /// Time allowed for one request from start to the last byte of the answer.
    pub request_timeout: Duration,
    /// Proxy URL, e.g. `http://proxy.example:3128`; HTTPS traffic goes through it with `CONNECT`.
    pub proxy: Option<String>,
    /// `User-Agent` header value.
    pub user_agent: String,
    /// Answers larger than this are refused as malformed server data.
    pub max_response_bytes: u64,
    /// Optional `Accept-Language` header (locale of the server's `msg` texts).
    pub accept_language: Option<String>,
}

impl ClientConfig {
    /// A configuration with the default timeouts, user agent, size cap and TLS verification on.
    pub fn new(base_url: impl Into<String>, endpoint_id: impl Into<String>, endpoint_secret: Secret) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            endpoint_id: endpoint_id.into(),
            endpoint_secret,
            tls: TlsOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            proxy: None,
            user_agent: default_user_agent(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            accept_language: None,
        }
    }
}

/// `aa-logon/<crate version>`.
pub fn default_user_agent() -> String {
    format!("aa-logon/{}", env!("CARGO_PKG_VERSION"))
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("endpoint_id", &self.endpoint_id)
            .field("endpoint_secret", &self.endpoint_secret)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("proxy", &self.proxy)
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("accept_language", &self.accept_language)
            .finish()
    }
}

/// Server certificate verification. The default trusts the operating system's store only.
#[derive(Clone, Default, Debug)]
pub struct TlsOptions {
    /// PEM file with CA certificates trusted in addition to the system store.
    pub extra_ca_pem_file: Option<PathBuf>,
    /// PEM text with CA certificates trusted in addition to the system store.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// SHA-256 of the server certificate's SubjectPublicKeyInfo; checked on top of normal verification.
    pub pinned_spki_sha256: Option<[u8; 32]>,
    /// Accept any certificate chain (the pin, when set, is still checked). For lab use only: anyone
    /// on the network path can then read and change the traffic, secrets included.
    pub danger_disable_tls_verification: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let config = ClientConfig::new("https://aa.example", "abc", Secret::from("very-secret-value"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = ClientConfig::new("https://aa.example", "abc", Secret::from("s"));
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.max_response_bytes, 1 << 20);
        assert!(config.user_agent.starts_with("aa-logon/"));
        assert!(!config.tls.danger_disable_tls_verification);
    }
}
