//! The TCP socket of one connection: connected once, `TCP_NODELAY` set once, socket timeouts
//! changed only when the time left for the call requires it, and a one-syscall liveness probe.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{NextTimeout, ShutdownHandle};

/// How much longer than the time left for a call a socket timeout may be before it is set
/// again. ureq hands every read and write the time left until the request's deadline, which
/// shrinks with each call; setting the socket timeout to that value each time costs a syscall
/// per read or write. Within this slack the timeout already set is kept, so a request on a
/// kept-alive connection usually sets none, and a read outlasts the deadline by at most this.
const TIMEOUT_SLACK: Duration = Duration::from_millis(10);

pub(crate) struct Socket {
    /// Shared (weakly) with the agent's shutdown handle, which can shut it down mid-call.
    stream: Arc<TcpStream>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

impl Socket {
    /// Connects to the first address that accepts before `deadline`, trying them in order; each
    /// but the last gets half of the time left, so one unreachable address cannot use it all.
    pub(crate) fn connect(
        addresses: &[SocketAddr],
        deadline: Option<Instant>,
        reason: ureq::Timeout,
    ) -> Result<Socket, ureq::Error> {
        let mut last_error = None;
        for (index, address) in addresses.iter().enumerate() {
            let left = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(ureq::Error::Timeout(reason)),
                },
                None => None,
            };
            let attempt = match left {
                Some(left) if index + 1 < addresses.len() => TcpStream::connect_timeout(address, left / 2),
                Some(left) => TcpStream::connect_timeout(address, left),
                None => TcpStream::connect(address),
            };
            match attempt {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Socket { stream: Arc::new(stream), read_timeout: None, write_timeout: None });
                }
                Err(e) if is_timeout(&e) && index + 1 == addresses.len() => {
                    return Err(ureq::Error::Timeout(reason))
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.map_or(ureq::Error::ConnectionFailed, ureq::Error::Io))
    }

    /// What the agent's shutdown uses to interrupt a call blocked on this socket.
    pub(crate) fn shutdown_handle(&self) -> Weak<dyn ShutdownHandle> {
        let weak: Weak<TcpStream> = Arc::downgrade(&self.stream);
        weak
    }

    /// Makes the next reads give up when `timeout` (already limited per read) runs out.
    pub(crate) fn prepare_read(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let wanted = time_left(&timeout)?;
        let stream = &self.stream;
        update(&mut self.read_timeout, wanted, |t| stream.set_read_timeout(t))
    }

    /// Makes the next writes give up when `timeout` (already limited per write) runs out.
    pub(crate) fn prepare_write(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let wanted = time_left(&timeout)?;
        let stream = &self.stream;
        update(&mut self.write_timeout, wanted, |t| stream.set_write_timeout(t))
    }

    /// True when the connection is still usable: the server has neither closed it nor sent
    /// anything unasked (either way a kept-alive connection must not be reused). One
    /// non-blocking peek; nothing is consumed.
    pub(crate) fn probe(&self) -> bool {
        probe(&self.stream)
    }
}

#[cfg(unix)]
fn probe(stream: &TcpStream) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    let peeked =
        socket2::SockRef::from(stream).recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT);
    matches!(peeked, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[cfg(not(unix))]
fn probe(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let open = matches!(stream.peek(&mut [0u8]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).is_ok() && open
}

/// The time left for a call: an error when none is, `None` for no limit.
fn time_left(timeout: &NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|left| *left))
}

/// Sets the socket timeout only when the one in force is shorter than `wanted` (a call would
/// time out early) or longer by more than [`TIMEOUT_SLACK`]; then to `wanted` plus half the
/// slack, so that the next calls' slightly shorter or longer waits still fit.
fn update(
    current: &mut Option<Duration>,
    wanted: Option<Duration>,
    set: impl FnOnce(Option<Duration>) -> io::Result<()>,
) -> Result<(), ureq::Error> {
    let fits = match (*current, wanted) {
        (None, None) => true,
        (Some(current), Some(wanted)) => current >= wanted && current <= wanted + TIMEOUT_SLACK,
        _ => false,
    };
    if !fits {
        let value = wanted.map(|wanted| wanted + TIMEOUT_SLACK / 2);
        set(value)?;
        *current = value;
    }
    Ok(())
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buf)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self.stream).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("peer", &self.stream.peer_addr().ok()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(current: Option<Duration>, wanted: Option<Duration>) -> (Option<Duration>, bool) {
        let mut current = current;
        let mut set = false;
        update(&mut current, wanted, |_| {
            set = true;
            Ok(())
        })
        .unwrap();
        (current, set)
    }

    #[test]
    fn a_timeout_within_the_slack_is_kept() {
        let ms = Duration::from_millis;
        assert_eq!(run(Some(ms(30_005)), Some(ms(29_999))), (Some(ms(30_005)), false));
        assert_eq!(run(None, None), (None, false));
    }

    #[test]
    fn a_timeout_too_short_or_too_long_is_replaced() {
        let ms = Duration::from_millis;
        assert_eq!(run(Some(ms(10_000)), Some(ms(30_000))), (Some(ms(30_005)), true));
        assert_eq!(run(Some(ms(30_000)), Some(ms(100))), (Some(ms(105)), true));
        assert_eq!(run(Some(ms(100)), None), (None, true));
        assert_eq!(run(None, Some(ms(100))), (Some(ms(105)), true));
    }

    fn connected_pair() -> (Socket, TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client =
            Socket::connect(&[listener.local_addr().unwrap()], None, ureq::Timeout::Connect).unwrap();
        (client, listener.accept().unwrap().0)
    }

    #[test]
    fn the_probe_sees_unasked_bytes_without_consuming_them() {
        let (client, mut server) = connected_pair();
        assert!(client.probe());
        assert!(client.probe());
        server.write_all(b"x").unwrap();
        // Waits (on the event, not a clock) until the byte has arrived.
        client.stream.peek(&mut [0u8]).unwrap();
        assert!(!client.probe());
        assert_eq!(client.stream.peek(&mut [0u8]).unwrap(), 1, "still there");
    }

    #[test]
    fn the_probe_sees_a_closed_connection() {
        let (client, server) = connected_pair();
        drop(server);
        assert_eq!(client.stream.peek(&mut [0u8]).unwrap(), 0, "end of stream arrived");
        assert!(!client.probe());
    }
}
