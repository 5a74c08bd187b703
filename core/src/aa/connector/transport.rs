//! The transports ureq drives: plain TCP, and TLS with the client's rustls configuration. Both
//! send a request in one write (see [`Buffers`]), set socket timeouts only when needed (see
//! [`Socket`]) and answer ureq's "is this pooled connection still usable?" with at most one
//! non-blocking peek: ureq asks twice per request, once right after reading the answer (when
//! the transport already knows: it has just read up to the end of it) and once when it takes
//! the connection out of the pool; only the second one looks at the socket.

use std::io::{self, Read, Write};

use rustls::ClientConnection;
use ureq::unversioned::transport::{Buffers as _, NextTimeout, Transport, TransportAdapter};

use super::buffers::Buffers;
use super::socket::{is_timeout, Socket};

/// Maps an I/O failure of a call that had `timeout`: a timed-out socket is a ureq timeout.
fn io_failure(e: io::Error, timeout: &NextTimeout) -> ureq::Error {
    if is_timeout(&e) {
        ureq::Error::Timeout(timeout.reason)
    } else {
        ureq::Error::Io(e)
    }
}

/// Reads, retrying reads interrupted by a signal (Linux does not restart them under a socket
/// timeout); ureq's next call gets a fresh timeout when the time is up.
fn read_retrying(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

pub(crate) struct TcpTransport {
    socket: Socket,
    buffers: Buffers,
    /// The last call read an answer: the next `is_open` needs no probe.
    just_read: bool,
}

impl TcpTransport {
    pub(crate) fn new(socket: Socket, buffers: Buffers) -> TcpTransport {
        TcpTransport { socket, buffers, just_read: false }
    }

    /// The socket and buffers, for TLS to take over.
    pub(crate) fn into_parts(self) -> (Socket, Buffers) {
        (self.socket, self.buffers)
    }

    fn send_queued(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.buffers.queued().is_empty() {
            return Ok(());
        }
        let timeout = timeout.for_write();
        let sent = self
            .socket
            .prepare_write(timeout)
            .and_then(|()| self.socket.write_all(self.buffers.queued()).map_err(|e| io_failure(e, &timeout)));
        self.buffers.sent();
        sent
    }
}

impl Transport for TcpTransport {
    fn buffers(&mut self) -> &mut dyn ureq::unversioned::transport::Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.buffers.queue(amount);
        if self.buffers.is_filling_up() {
            self.send_queued(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.send_queued(timeout)?;
        let timeout = timeout.for_read();
        self.socket.prepare_read(timeout)?;
        let amount = read_retrying(&mut self.socket, self.buffers.input_append_buf())
            .map_err(|e| io_failure(e, &timeout))?;
        self.buffers.input_appended(amount);
        self.just_read = true;
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        std::mem::take(&mut self.just_read) || self.socket.probe()
    }
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport").field("socket", &self.socket).finish()
    }
}

/// What TLS runs over: our own socket, or (through an HTTP `CONNECT` proxy) ureq's tunnel.
pub(crate) enum Wire {
    Direct(Socket),
    Tunnel(TransportAdapter),
}

impl Wire {
    fn prepare_read(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        match self {
            Wire::Direct(socket) => socket.prepare_read(timeout.for_read()),
            // The tunnel's own transport applies the per-read limit.
            Wire::Tunnel(adapter) => {
                adapter.set_timeout(timeout);
                Ok(())
            }
        }
    }

    fn prepare_write(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        match self {
            Wire::Direct(socket) => socket.prepare_write(timeout.for_write()),
            Wire::Tunnel(adapter) => {
                adapter.set_timeout(timeout);
                Ok(())
            }
        }
    }

    fn probe(&mut self) -> bool {
        match self {
            Wire::Direct(socket) => socket.probe(),
            Wire::Tunnel(adapter) => adapter.get_mut().is_open(),
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Direct(socket) => read_retrying(socket, buf),
            Wire::Tunnel(adapter) => adapter.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Direct(socket) => socket.write(buf),
            Wire::Tunnel(adapter) => adapter.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Wire::Direct(socket) => socket.write_vectored(bufs),
            Wire::Tunnel(adapter) => adapter.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Direct(socket) => socket.flush(),
            Wire::Tunnel(adapter) => adapter.flush(),
        }
    }
}

pub(crate) struct TlsTransport {
    connection: ClientConnection,
    wire: Wire,
    buffers: Buffers,
    just_read: bool,
}

impl TlsTransport {
    /// Runs the handshake on `wire` within `timeout`.
    pub(crate) fn handshake(
        mut connection: ClientConnection,
        mut wire: Wire,
        buffers: Buffers,
        timeout: NextTimeout,
    ) -> Result<TlsTransport, ureq::Error> {
        wire.prepare_write(timeout)?;
        wire.prepare_read(timeout)?;
        while connection.is_handshaking() {
            connection.complete_io(&mut wire).map_err(|e| handshake_error(e, &timeout))?;
        }
        Ok(TlsTransport { connection, wire, buffers, just_read: false })
    }

    /// Encrypts what is queued (one TLS record up to 16 KiB) and writes it out. rustls encrypts
    /// the plaintext straight into its record buffer (the handshake is over, so nothing waits
    /// in its plaintext queue); the queued plaintext is wiped right after.
    fn send_queued(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if !self.buffers.queued().is_empty() {
            let encrypted = self.connection.writer().write_all(self.buffers.queued());
            self.buffers.sent();
            encrypted?;
        }
        if self.connection.wants_write() {
            self.wire.prepare_write(timeout)?;
            while self.connection.wants_write() {
                self.connection.write_tls(&mut self.wire).map_err(|e| io_failure(e, &timeout))?;
            }
        }
        Ok(())
    }
}

/// A handshake failure carries the rustls error inside the io error; surface it as such so
/// that callers classify it as a TLS problem rather than a network one.
fn handshake_error(e: io::Error, timeout: &NextTimeout) -> ureq::Error {
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        match e.into_inner().map(|inner| inner.downcast::<rustls::Error>()) {
            Some(Ok(tls)) => ureq::Error::Rustls(*tls),
            Some(Err(other)) => ureq::Error::Io(io::Error::other(other)),
            None => ureq::Error::ConnectionFailed,
        }
    } else {
        io_failure(e, timeout)
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn ureq::unversioned::transport::Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.buffers.queue(amount);
        if self.buffers.is_filling_up() {
            self.send_queued(timeout)?;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.send_queued(timeout)?;
        self.wire.prepare_read(timeout)?;
        let amount = rustls::Stream::new(&mut self.connection, &mut self.wire)
            .read(self.buffers.input_append_buf())
            .map_err(|e| io_failure(e, &timeout))?;
        self.buffers.input_appended(amount);
        self.just_read = true;
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // Closed by the server, or plaintext left over after the answer: not reusable.
        match self.connection.process_new_packets() {
            Ok(state) if !state.peer_has_closed() && state.plaintext_bytes_to_read() == 0 => {}
            _ => return false,
        }
        std::mem::take(&mut self.just_read) || self.wire.probe()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let wire = match &self.wire {
            Wire::Direct(socket) => format!("{socket:?}"),
            Wire::Tunnel(adapter) => format!("{:?}", adapter.inner()),
        };
        f.debug_struct("TlsTransport").field("wire", &wire).finish()
    }
}
