//! ureq connector chain with our own TCP and TLS transports: ureq's built-in TLS connector
//! cannot take a custom certificate verifier (which the CA, pin and opt-out options need), and
//! owning the socket lets a request on a kept-alive connection cost no name lookup, no thread,
//! no socket-option change and one write (see the submodules).

mod buffers;
mod resolve;
mod socket;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use ureq::unversioned::transport::{
    ConnectProxyConnector, ConnectionDetails, Connector, Either, Transport, TransportAdapter,
};

use self::buffers::Buffers;
pub(crate) use self::resolve::ConnectTimeResolver;
use self::socket::Socket;
use self::transport::{TcpTransport, TlsTransport, Wire};

/// TCP (directly or through an HTTP `CONNECT` proxy), then TLS for `https` URLs.
pub(crate) fn connector_chain(tls: Arc<ClientConfig>) -> impl Connector {
    ().chain(ConnectProxyConnector::default()).chain(TcpConnector).chain(TlsConnector { tls })
}

/// Opens a TCP connection to the host of the URL (the server's, or the proxy's when ureq's
/// `CONNECT` connector asks for one), resolving its name now (see [`resolve`]).
#[derive(Debug)]
struct TcpConnector;

impl<In: Transport> Connector<In> for TcpConnector {
    type Out = Either<In, TcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(tunnel) = chained {
            return Ok(Some(Either::A(tunnel)));
        }
        if details.timeout.after.is_zero() {
            return Err(ureq::Error::Timeout(details.timeout.reason));
        }
        let budget = details.timeout.not_zero().map(|left| *left);
        let deadline = budget.map(|budget| Instant::now() + budget);
        let addresses = resolve::addresses(details.uri, budget, details.timeout.reason)?;
        let socket = Socket::connect(&addresses, deadline, details.timeout.reason)?;
        (details.register_shutdown)(socket.shutdown_handle())?;
        Ok(Some(Either::B(TcpTransport::new(socket, Buffers::new(details.config)))))
    }
}

/// A chained transport that may be our own TCP transport: TLS then runs straight on its socket.
trait IntoTcp: Transport + Sized {
    fn into_tcp(self) -> Result<TcpTransport, Self>;
}

impl<A: Transport> IntoTcp for Either<A, TcpTransport> {
    fn into_tcp(self) -> Result<TcpTransport, Self> {
        match self {
            Either::B(tcp) => Ok(tcp),
            other => Err(other),
        }
    }
}

/// Wraps the chained transport in TLS with the client's rustls configuration.
struct TlsConnector {
    tls: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl<In: IntoTcp> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Err(ureq::Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let (host, _) =
            resolve::host_and_port(details.uri).map_err(|_| ureq::Error::Tls("URL has no host"))?;
        let name =
            ServerName::try_from(host.to_owned()).map_err(|_| ureq::Error::Tls("invalid TLS server name"))?;
        let connection = ClientConnection::new(self.tls.clone(), name)?;
        let (wire, buffers) = match transport.into_tcp() {
            Ok(tcp) => {
                let (socket, buffers) = tcp.into_parts();
                (Wire::Direct(socket), buffers)
            }
            Err(tunnel) => (
                Wire::Tunnel(TransportAdapter::new(tunnel.boxed(), details.current_time.clone())),
                Buffers::new(details.config),
            ),
        };
        Ok(Some(Either::B(TlsTransport::handshake(connection, wire, buffers, details.timeout)?)))
    }
}
