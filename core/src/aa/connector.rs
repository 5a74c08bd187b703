//! ureq connector chain with our own rustls configuration: ureq's built-in TLS connector cannot
//! take a custom certificate verifier, which the CA, pin and opt-out options need.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport, TransportAdapter,
};
use zeroize::Zeroize;

/// TCP (directly or through an HTTP `CONNECT` proxy), then TLS for `https` URLs.
pub(crate) fn connector_chain(tls: Arc<ClientConfig>) -> impl Connector {
    ().chain(ConnectProxyConnector::default()).chain(TcpConnector::default()).chain(TlsConnector { tls })
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

impl<In: Transport> Connector<In> for TlsConnector {
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
        let host = details.uri.host().ok_or(ureq::Error::Tls("URL has no host"))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name =
            ServerName::try_from(host.to_owned()).map_err(|_| ureq::Error::Tls("invalid TLS server name"))?;
        let mut connection = ClientConnection::new(self.tls.clone(), name)?;
        let mut socket = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        socket.set_timeout(details.timeout);
        connection.complete_io(&mut socket).map_err(handshake_error)?;
        let buffers =
            LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        Ok(Some(Either::B(TlsTransport { buffers, stream: StreamOwned::new(connection, socket) })))
    }
}

/// A handshake failure carries the rustls error inside the io error; surface it as such so
/// that callers classify it as a TLS problem rather than a network one.
fn handshake_error(e: std::io::Error) -> ureq::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        match e.into_inner().map(|inner| inner.downcast::<rustls::Error>()) {
            Some(Ok(tls)) => ureq::Error::Rustls(*tls),
            Some(Err(other)) => ureq::Error::Io(std::io::Error::other(other)),
            None => ureq::Error::ConnectionFailed,
        }
    } else {
        ureq::Error::from(e)
    }
}

pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").field("inner", &self.stream.sock.inner()).finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    /// Writes `amount` bytes of ureq's output buffer (request line, headers, body: a password
    /// among them) through TLS, then overwrites them with zeros, so the plaintext does not stay
    /// in the pooled connection's buffer until a later request happens to overwrite it. rustls
    /// encrypts the plaintext in place into its own record buffer (the handshake is complete
    /// before the first write, so nothing waits in its plaintext queue).
    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &mut self.buffers.output()[..amount];
        let written = self.stream.write_all(output);
        output.zeroize();
        written?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
