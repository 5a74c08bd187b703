//! What a [`Client`](super::Client) is configured with.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use super::redact::redact;
use crate::{Error, ErrorKind, Result, Secret};

/// Default cap on the size of one server answer.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Default time allowed for opening a connection (TCP and TLS handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for one whole request, answer body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a server that failed is skipped before it is tried again.
pub const DEFAULT_SERVER_BACKOFF: Duration = Duration::from_secs(30);
/// Default number of connections a client keeps open at most (in use or kept alive).
pub const DEFAULT_MAX_CONNECTIONS: usize = 32;
/// More servers than any cluster has: a longer list is a configuration mistake.
pub const MAX_SERVERS: usize = 64;

/// Connection settings of one AA server (or a cluster of them) and the endpoint the caller
/// registered there.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://aa.example.com` or `https://aa.example.com/api/v1` (the API prefix is added when
    /// missing). The preferred server: calls go here while it answers.
    pub base_url: String,
    /// Further servers of the same cluster (same database, same endpoint id and secret), in order
    /// of preference, for when the ones before them fail. Add them with
    /// [`add_failover_url`](Self::add_failover_url), which checks them. See
    /// [`Client`](super::Client) for when a call moves to the next server.
    pub failover_urls: Vec<String>,
    /// How long a server that failed is skipped before calls try it again. Zero: never skipped.
    pub server_backoff: Duration,
    /// Most connections the client has open at once, in use or kept alive for the next call,
    /// over all servers. A call that finds them all in use waits for one (within its request
    /// timeout).
    pub max_connections: usize,
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
    /// Hosts, besides the AA server's own (the host of `base_url`), whose `https` appIds a U2F
    /// sign request may carry; bare host names or IP addresses, compared case-insensitively, any
    /// port. Add them with [`allow_app_id_host`](Self::allow_app_id_host), which checks them.
    /// An appId of any other host is refused before a key is touched: a key signs for whatever
    /// appId it is given, so a hostile server could otherwise obtain assertions for other sites.
    pub allowed_app_id_hosts: Vec<String>,
    /// Sign for any appId the server sends. For lab use only: a hostile or compromised server (or
    /// anyone who can impersonate it) can then obtain the user's U2F assertions for other sites.
    pub danger_disable_app_id_check: bool,
}

impl ClientConfig {
    /// A configuration with the default timeouts, user agent, size cap and TLS verification on.
    pub fn new(base_url: impl Into<String>, endpoint_id: impl Into<String>, endpoint_secret: Secret) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            endpoint_id: endpoint_id.into(),
            endpoint_secret,
            failover_urls: Vec::new(),
            server_backoff: DEFAULT_SERVER_BACKOFF,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            tls: TlsOptions::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            proxy: None,
            user_agent: default_user_agent(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            accept_language: None,
            allowed_app_id_hosts: Vec::new(),
            danger_disable_app_id_check: false,
        }
    }

    /// Adds a server of the same cluster, tried after `base_url` and the failover URLs added
    /// before it (see [`failover_urls`](Self::failover_urls)). Checked like the base URL; a
    /// server already in the list is refused, so a typo cannot silently double the retries.
    pub fn add_failover_url(&mut self, url: &str) -> Result<()> {
        Self::check_base_url(url)?;
        let url = url.trim_matches(' ').to_owned();
        if self.server_urls().any(|known| same_server(known, &url)) {
            return Err(config_error(format!("server {:?} is already in the list", redact(&url))));
        }
        if self.failover_urls.len() + 1 >= MAX_SERVERS {
            return Err(config_error(format!("more than {MAX_SERVERS} servers")));
        }
        self.failover_urls.push(url);
        Ok(())
    }

    /// The base URL, then the failover URLs: every server in order of preference.
    pub fn server_urls(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.base_url.as_str()).chain(self.failover_urls.iter().map(String::as_str))
    }

    /// Also accepts U2F appIds of `host` (see [`allowed_app_id_hosts`](Self::allowed_app_id_hosts)).
    /// `host` is a bare host name or IP address: no scheme, port, path or wildcard.
    pub fn allow_app_id_host(&mut self, host: &str) -> Result<()> {
        let host = Self::check_app_id_host(host)?;
        if !self.allowed_app_id_hosts.contains(&host) {
            self.allowed_app_id_hosts.push(host);
        }
        Ok(())
    }

    /// Checks every setting; [`Client::new`](super::Client::new) calls it, so a bad value is
    /// refused when the client is built, never half-way through a request. Strings that end up
    /// in HTTP headers must be printable ASCII (a CR/LF would break the request, or inject header
    /// lines into the request to a proxy).
    pub fn validate(&self) -> Result<()> {
        Self::check_base_url(&self.base_url)?;
        for (index, url) in self.failover_urls.iter().enumerate() {
            Self::check_base_url(url)?;
            let earlier = self.server_urls().take(index + 1);
            if earlier.into_iter().any(|known| same_server(known, url)) {
                return Err(config_error(format!("server {:?} is in the list twice", redact(url))));
            }
        }
        if self.failover_urls.len() >= MAX_SERVERS {
            return Err(config_error(format!("more than {MAX_SERVERS} servers")));
        }
        if self.max_connections == 0 {
            return Err(config_error("max_connections must be at least 1"));
        }
        Self::check_user_agent(&self.user_agent)?;
        if let Some(language) = &self.accept_language {
            Self::check_accept_language(language)?;
        }
        if let Some(proxy) = &self.proxy {
            Self::check_proxy_url(proxy)?;
        }
        for host in &self.allowed_app_id_hosts {
            Self::check_app_id_host(host)?;
        }
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(config_error("timeouts must be greater than zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(config_error("max_response_bytes must be greater than zero"));
        }
        Ok(())
    }

    /// The AA server's URL: `https://host[:port][/prefix]` (`http` is accepted with a warning when
    /// the client is built). Refused: credentials (`user:password@host` — AA takes none, and they
    /// would travel as Basic auth and show in logs), a query, a `#fragment` (it would cut off the
    /// API paths), and anything but printable ASCII (spell international host names in punycode).
    pub fn check_base_url(base_url: &str) -> Result<()> {
        parse_base_url(base_url).map(drop)
    }

    /// The `User-Agent` value: 1 to 512 printable ASCII characters.
    pub fn check_user_agent(user_agent: &str) -> Result<()> {
        check_header_value("user agent", user_agent)
    }

    /// The `Accept-Language` value, e.g. `de-DE, en;q=0.5`: 1 to 512 printable ASCII characters.
    pub fn check_accept_language(language: &str) -> Result<()> {
        check_header_value("accept language", language)
    }

    /// The proxy URL: `http://[user:password@]proxy[:port]` (or `https://…` for TLS to the
    /// proxy), nothing after the authority but an optional `/`. SOCKS is refused: the connection
    /// would silently bypass it.
    pub fn check_proxy_url(proxy: &str) -> Result<()> {
        let invalid = |why: &str| config_error(format!("invalid proxy URL {:?}: {why}", redact(proxy)));
        let uri = parse_printable_url(proxy).map_err(invalid)?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            Some(scheme) if scheme.starts_with("socks") => {
                return Err(invalid("SOCKS proxies are not supported; use an HTTP CONNECT proxy"))
            }
            _ => return Err(invalid("the scheme must be http or https (e.g. http://proxy.example:3128)")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let host_and_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        check_port(host_and_port).map_err(invalid)?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("a proxy URL has no path or query"));
        }
        Ok(())
    }

    /// Checks and normalizes (lowercase, IPv6 in brackets, no trailing dot) an allowed appId host.
    pub fn check_app_id_host(host: &str) -> Result<String> {
        let invalid = || {
            config_error(format!(
                "app id host {host:?} must be a bare host name or IP address (no scheme, port, path or wildcard)"
            ))
        };
        let lower = host.trim_end_matches('.').to_ascii_lowercase();
        let inner = lower.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(&lower);
        if inner.contains(':') {
            return inner.parse::<Ipv6Addr>().map(|ip| format!("[{ip}]")).map_err(|_| invalid());
        }
        let label_ok = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if inner.is_empty() || inner.len() > 253 || !inner.split('.').all(label_ok) {
            return Err(invalid());
        }
        Ok(inner.to_owned())
    }
}

/// Two base URLs name the same server when they lead to the same API: scheme and host compared
/// without case, the default port spelled out or not, the `/api/v1` prefix given or not, a
/// trailing `/` or not.
fn same_server(a: &str, b: &str) -> bool {
    match (server_key(a), server_key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.trim_matches(' ') == b.trim_matches(' '),
    }
}

/// `scheme://host:port/prefix` of a base URL, lowercase, port explicit, without `/api/v1`.
fn server_key(url: &str) -> Option<String> {
    let (uri, _) = parse_base_url(url).ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.trim_end_matches('.').to_ascii_lowercase();
    let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
    let path = uri.path().trim_end_matches('/').to_ascii_lowercase();
    let path = path.strip_suffix("/api/v1").unwrap_or(&path).trim_end_matches('/');
    Some(format!("{scheme}://{host}:{port}{path}"))
}

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

/// 1 to 512 characters from space to `~`: what every HTTP stack accepts in a header value.
fn check_header_value(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(config_error(format!("{what} is empty")));
    }
    if value.len() > 512 {
        return Err(config_error(format!("{what} is longer than 512 bytes")));
    }
    if let Some(bad) = value.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(config_error(format!(
            "{what} {:?} contains {bad:?}: only printable ASCII is allowed in an HTTP header",
            value.escape_debug().to_string()
        )));
    }
    Ok(())
}

/// The port of `host[:port]` (IPv6 in brackets), when there is one, is a number from 1 to 65535.
/// The URL parser keeps `https://host:abc` and `https://host:99999` as URLs without a port, which
/// would quietly mean port 443 (and make two spellings of one server look different).
fn check_port(authority: &str) -> std::result::Result<(), &'static str> {
    let after_host = match authority.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => authority.rfind(':').map_or("", |colon| &authority[colon..]),
    };
    match after_host.strip_prefix(':') {
        None if after_host.is_empty() => Ok(()),
        Some(port)
            if port.parse::<u16>().is_ok_and(|port| port > 0) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(())
        }
        _ => Err("the port must be a number from 1 to 65535"),
    }
}

/// A URL of printable ASCII without spaces and without a fragment; surrounding spaces ignored.
fn parse_printable_url(url: &str) -> std::result::Result<ureq::http::Uri, &'static str> {
    let url = url.trim_matches(' ');
    if url.is_empty() {
        return Err("it is empty");
    }
    if url.chars().any(|c| !('!'..='~').contains(&c)) {
        return Err("only printable ASCII without spaces is allowed (spell international names in punycode)");
    }
    if url.contains('#') {
        return Err("it must not carry a #fragment");
    }
    url.parse().map_err(|_| "not a URL")
}

/// The base URL, checked: see [`ClientConfig::check_base_url`]. Returns the parsed URL and the
/// trimmed text.
pub(crate) fn parse_base_url(base_url: &str) -> Result<(ureq::http::Uri, &str)> {
    let invalid = |why: &str| config_error(format!("invalid base URL {:?}: {why}", redact(base_url)));
    let uri = parse_printable_url(base_url).map_err(invalid)?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) {
        return Err(invalid("scheme must be https or http"));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "it must not carry credentials (user:password@): AA takes no HTTP authentication",
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    check_port(authority).map_err(invalid)?;
    if uri.query().is_some() {
        return Err(invalid("must not carry a query"));
    }
    Ok((uri, base_url.trim_matches(' ')))
}

/// `aa-logon/<crate version>`.
pub fn default_user_agent() -> String {
    format!("aa-logon/{}", env!("CARGO_PKG_VERSION"))
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &redact(&self.base_url))
            .field("failover_urls", &self.failover_urls.iter().map(|url| redact(url)).collect::<Vec<_>>())
            .field("server_backoff", &self.server_backoff)
            .field("max_connections", &self.max_connections)
            .field("endpoint_id", &self.endpoint_id)
            .field("endpoint_secret", &self.endpoint_secret)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("proxy", &self.proxy.as_deref().map(redact))
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("accept_language", &self.accept_language)
            .field("allowed_app_id_hosts", &self.allowed_app_id_hosts)
            .field("danger_disable_app_id_check", &self.danger_disable_app_id_check)
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
        assert!(config.allowed_app_id_hosts.is_empty() && !config.danger_disable_app_id_check);
        assert!(config.failover_urls.is_empty());
        assert_eq!((config.server_backoff, config.max_connections), (Duration::from_secs(30), 32));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn failover_urls_are_checked_and_kept_in_order() {
        let mut config = ClientConfig::new("https://aa1.example", "id", Secret::from("s"));
        config.add_failover_url(" https://aa2.example:8443 ").unwrap();
        config.add_failover_url("https://aa3.example/tenant").unwrap();
        assert_eq!(
            config.server_urls().collect::<Vec<_>>(),
            ["https://aa1.example", "https://aa2.example:8443", "https://aa3.example/tenant"]
        );
        for bad in [
            "",
            "aa4.example",
            "https://u:hunter2@aa4.example",
            "https://AA1.example/",
            "https://aa2.example:8443",
        ] {
            let e = config.add_failover_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
            assert!(!e.message().contains("hunter2"), "{e}");
        }
        assert_eq!(config.failover_urls.len(), 2, "refused URLs are not added");
        config.failover_urls.push("https://aa1.example".into());
        assert!(config.validate().unwrap_err().message().contains("twice"), "pushed directly: checked too");
        config.failover_urls.pop();
        config.max_connections = 0;
        assert!(config.validate().unwrap_err().message().contains("max_connections"));
    }

    #[test]
    fn header_values_must_be_printable_ascii() {
        for bad in ["", " ", "a\r\nX-Evil: 1", "a\nb", "a\tb", "a\u{7f}", "caf\u{e9}", "\0"] {
            assert_eq!(ClientConfig::check_user_agent(bad).unwrap_err().kind(), ErrorKind::Config, "{bad:?}");
            assert!(ClientConfig::check_accept_language(bad).is_err(), "{bad:?}");
        }
        assert!(ClientConfig::check_user_agent(&"x".repeat(513)).is_err());
        assert!(ClientConfig::check_user_agent("my-agent/1.0 (Linux; +https://x.example)").is_ok());
        assert!(ClientConfig::check_accept_language("de-DE, en;q=0.5").is_ok());
        let mut config = ClientConfig::new("https://aa.example", "id", Secret::from("s"));
        config.user_agent = "a\r\nb".into();
        assert!(config.validate().unwrap_err().message().contains("user agent"));
    }

    #[test]
    fn base_urls_with_credentials_fragments_or_odd_bytes_are_refused() {
        for bad in [
            "https://user:hunter2@aa.example",
            "https://user@aa.example/",
            "https://aa.example/#/x",
            "https://aa.example/api/v1#",
            "https://aa.example/a b",
            "https://aa.example/\r\n",
            "https://\u{e4}a.example",
            "ftp://aa.example",
            "https://aa.example/?q",
            "https://aa.example:com",
            "https://aa.example:99999",
            "https://aa.example:0",
            "https://aa.example:",
            "https://[::1]:x",
        ] {
            let e = ClientConfig::check_base_url(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
            assert!(!e.message().contains("hunter2"), "{e}");
        }
        for good in
            ["https://aa.example", " https://aa.example:8443/tenant/ ", "http://10.0.0.1", "https://[::1]:1"]
        {
            assert!(ClientConfig::check_base_url(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn proxy_urls_are_http_connect_proxies_only() {
        for bad in [
            "socks5://127.0.0.1:1080",
            "proxy.example:3128",
            "http://proxy.example:3128/#x",
            "http://proxy.example:3128/path",
            "http://proxy.example:3128?x=1",
            "http://pro xy:1",
            "http://proxy\r\n:1",
            "http://proxy.example:squid",
        ] {
            assert_eq!(ClientConfig::check_proxy_url(bad).unwrap_err().kind(), ErrorKind::Config, "{bad:?}");
        }
        for good in ["http://proxy.example:3128", "http://u:p@proxy.example:3128/", "https://proxy.example"] {
            assert!(ClientConfig::check_proxy_url(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn debug_masks_url_credentials() {
        let mut config = ClientConfig::new("https://u:hunter2@aa.example", "id", Secret::from("s"));
        config.proxy = Some("http://pu:proxy-pass@proxy:3128".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("proxy-pass"), "{shown}");
    }

    #[test]
    fn app_id_hosts_are_bare_hosts_normalized() {
        let mut config = ClientConfig::new("https://aa.example", "id", Secret::from("s"));
        config.allow_app_id_host("AA-Sim.Local.").unwrap();
        config.allow_app_id_host("aa-sim.local").unwrap();
        config.allow_app_id_host("::1").unwrap();
        config.allow_app_id_host("10.0.0.1").unwrap();
        assert_eq!(config.allowed_app_id_hosts, ["aa-sim.local", "[::1]", "10.0.0.1"]);
        for bad in
            ["", "https://aa.example", "aa.example:443", "aa.example/u2f", "*.example", "a b", "a..b", "-a.b"]
        {
            assert_eq!(
                ClientConfig::check_app_id_host(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad:?}"
            );
        }
        config.allowed_app_id_hosts.push("not a host".into());
        assert!(config.validate().is_err(), "hosts pushed directly are checked too");
    }
}
