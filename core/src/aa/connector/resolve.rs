//! Name resolution when a connection is opened, never per request: ureq asks its resolver for
//! every request, before it looks in its connection pool, so the resolver given to ureq
//! ([`ConnectTimeResolver`]) answers without a lookup and the TCP connector resolves here, once
//! per new connection. Each new connection resolves afresh, so DNS changes are honoured on
//! reconnect.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Gives ureq a placeholder address without a lookup; the TCP connector resolves the real one
/// (see the module documentation). SOCKS proxies, the only ones for which ureq itself would use
/// these addresses, are refused by the configuration.
#[derive(Debug, Default)]
pub(crate) struct ConnectTimeResolver;

impl Resolver for ConnectTimeResolver {
    fn resolve(
        &self,
        _uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let mut addresses = self.empty();
        addresses.push(SocketAddr::from(([0, 0, 0, 0], 0)));
        Ok(addresses)
    }
}

/// The host of `uri` without the brackets of an IPv6 literal, and its port.
pub(crate) fn host_and_port(uri: &Uri) -> Result<(&str, u16), ureq::Error> {
    let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("https")) => 443,
        (None, Some("http")) => 80,
        (None, _) => return Err(ureq::Error::BadUri(format!("no port for {uri}"))),
    };
    Ok((host, port))
}

/// The addresses to connect to for `uri`. An IP literal needs no lookup and no thread. A name is
/// looked up by the system resolver on a helper thread, so that a resolver that hangs cannot
/// hold the caller past `budget` (the connect timeout): this happens once per new connection,
/// never on a kept-alive one.
pub(crate) fn addresses(
    uri: &Uri,
    budget: Option<Duration>,
    reason: ureq::Timeout,
) -> Result<Vec<SocketAddr>, ureq::Error> {
    let (host, port) = host_and_port(uri)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = (host.to_owned(), port);
    let found = match budget {
        None => name.to_socket_addrs().map(Iterator::collect),
        Some(budget) => {
            let (sender, receiver) = mpsc::sync_channel(1);
            std::thread::Builder::new()
                .name("aa-logon-resolve".into())
                .spawn(move || sender.send(name.to_socket_addrs().map(Iterator::collect::<Vec<_>>)))
                .map_err(ureq::Error::Io)?;
            match receiver.recv_timeout(budget) {
                Ok(found) => found,
                Err(_) => return Err(ureq::Error::Timeout(reason)),
            }
        }
    };
    match found {
        Ok(found) if !found.is_empty() => Ok(found),
        Ok(_) => Err(ureq::Error::HostNotFound),
        Err(e) => Err(ureq::Error::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_lookup_and_ports_default_by_scheme() {
        let uri: Uri = "https://127.0.0.1/api".parse().unwrap();
        assert_eq!(
            addresses(&uri, Some(Duration::from_secs(1)), ureq::Timeout::Connect).unwrap(),
            vec!["127.0.0.1:443".parse().unwrap()]
        );
        let uri: Uri = "http://[::1]:8080/".parse().unwrap();
        assert_eq!(
            addresses(&uri, None, ureq::Timeout::Connect).unwrap(),
            vec!["[::1]:8080".parse().unwrap()]
        );
    }

    #[test]
    fn names_are_looked_up() {
        let uri: Uri = "https://localhost:8443/".parse().unwrap();
        let found = addresses(&uri, Some(Duration::from_secs(10)), ureq::Timeout::Connect).unwrap();
        assert!(found.iter().all(|a| a.ip().is_loopback() && a.port() == 8443), "{found:?}");
    }
}
