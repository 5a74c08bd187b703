//! ureq connector chain with our own TCP and TLS transports: ureq's built-in TLS connector
//! cannot take a custom certificate verifier (which the CA, pin and opt-out options need), and
//! owning the socket lets a request on a kept-alive connection cost no name lookup, no thread,
//! no socket-option change and one write (see the submodules).

mod buffers;
mod resolve;
mod socket;
mod transport;

use std::fmt;
use std::io;
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
            return Err(not_sent(ureq::Error::Timeout(details.timeout.reason)));
        }
        let budget = details.timeout.not_zero().map(|left| *left);
        let deadline = budget.map(|budget| Instant::now() + budget);
        let addresses = resolve::addresses(details.uri, budget, details.timeout.reason).map_err(not_sent)?;
        let socket = Socket::connect(&addresses, deadline, details.timeout.reason).map_err(not_sent)?;
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
            resolve::host_and_port(details.uri).map_err(|_| not_sent(ureq::Error::Tls("URL has no host")))?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| not_sent(ureq::Error::Tls("invalid TLS server name")))?;
        let connection = ClientConnection::new(self.tls.clone(), name).map_err(|e| not_sent(e.into()))?;
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
        let transport =
            TlsTransport::handshake(connection, wire, buffers, details.timeout).map_err(not_sent)?;
        Ok(Some(Either::B(transport)))
    }
}

/// A failure to open a connection: no byte of the request has left this process, so the request
/// may go to another server whatever it carries. It travels to `http.rs` inside ureq's `Io`
/// variant (the only one that takes a foreign error); [`NotSent::unwrap`] recovers it.
#[derive(Debug)]
pub(crate) struct NotSent(pub ureq::Error);

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for NotSent {}

impl NotSent {
    /// The connect failure inside `error`, if it is one; otherwise `error` back.
    pub(crate) fn unwrap(error: ureq::Error) -> Result<ureq::Error, ureq::Error> {
        match error {
            ureq::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<NotSent>()) => {
                match io.into_inner().map(|inner| inner.downcast::<NotSent>()) {
                    Some(Ok(not_sent)) => Ok(not_sent.0),
                    Some(Err(other)) => Err(ureq::Error::Io(io::Error::other(other))),
                    None => Err(ureq::Error::ConnectionFailed),
                }
            }
            other => Err(other),
        }
    }
}

fn not_sent(error: ureq::Error) -> ureq::Error {
    ureq::Error::Io(io::Error::other(NotSent(error)))
}
