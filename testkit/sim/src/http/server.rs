//! Accept loop of one instance: one task per connection, HTTP/1.1 with keep-alive over TCP or TLS;
//! carries out outage commands (closing the listener, closing or resetting its connections) and
//! acknowledges them once they are in force.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::service::{handle, ConnectionControl};
use crate::app::App;
use crate::instance::{Command, Instance, OpenConnection, Outage};

/// Connection ids, unique within the process (a `/sim/v1` request names its own connection).
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// A running connection task, as the accept loop sees it.
struct Tracked {
    control: Weak<ConnectionControl>,
    abort: AbortHandle,
}

struct InstanceServer {
    instance: Arc<Instance>,
    app: Arc<App>,
    tls: Option<TlsAcceptor>,
    /// `None` while the instance refuses connections.
    listener: Option<TcpListener>,
    tasks: JoinSet<()>,
    tracked: HashMap<tokio::task::Id, Tracked>,
}

/// Serves one instance until `commands` closes (the simulator stops). Must run inside a tokio
/// runtime.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    instance: Arc<Instance>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            log::error!("aa-sim instance {} cannot use its listening socket: {error}", instance.index);
            return;
        }
    };
    let mut server = InstanceServer {
        instance,
        app,
        tls,
        listener: Some(listener),
        tasks: JoinSet::new(),
        tracked: HashMap::new(),
    };
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::SetOutage { outage, spare, done }) => {
                    done.send(server.change_outage(outage, spare).await);
                }
                None => return,
            },
            accepted = accept(server.listener.as_ref()) => match accepted {
                Ok(stream) => server.accepted(stream),
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    log::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(finished) = server.tasks.join_next_with_id(), if !server.tasks.is_empty() => {
                server.reaped(finished);
            }
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _peer)| stream),
        None => std::future::pending().await,
    }
}

impl InstanceServer {
    fn accepted(&mut self, stream: TcpStream) {
        self.instance.count_connection();
        let outage = self.instance.outage();
        if outage == Some(Outage::Reset) {
            reset(&stream);
            return;
        }
        let _ = stream.set_nodelay(true);
        // A duplicate handle lets the loop (or a fault) reset the connection while hyper owns
        // the stream.
        let (stream, control) = match split_control(stream) {
            Ok(pair) => pair,
            Err(error) => {
                log::warn!("connection setup failed: {error}");
                return;
            }
        };
        let control = Arc::new(control);
        let weak = Arc::downgrade(&control);
        // Counted before the task runs, so that dropping it unpolled still uncounts it.
        let open = self.instance.open_connection();
        let abort = if outage == Some(Outage::Hang) {
            control.mark_hung();
            self.tasks.spawn(hang(stream, control, open))
        } else {
            let app = Arc::clone(&self.app);
            let instance = Arc::clone(&self.instance);
            self.tasks.spawn(connection(stream, self.tls.clone(), app, instance, control, open))
        };
        self.tracked.insert(abort.id(), Tracked { control: weak, abort });
    }

    fn reaped(&mut self, finished: Result<(tokio::task::Id, ()), tokio::task::JoinError>) {
        let id = match finished {
            Ok((id, ())) => id,
            Err(error) => {
                if error.is_panic() {
                    log::error!("a connection task panicked: {error}");
                }
                error.id()
            }
        };
        self.tracked.remove(&id);
    }

    /// Leaves the current outage and enters `target`; on error (a failed re-bind) nothing changed.
    async fn change_outage(&mut self, target: Option<Outage>, spare: Option<u64>) -> io::Result<()> {
        let current = self.instance.outage();
        if current == target {
            return Ok(());
        }
        if current == Some(Outage::Refuse) {
            self.listener = Some(bind(&self.instance)?);
        }
        // Recorded before the hung connections are collected: a request that saw `Hang` has
        // marked its connection hung before, so it is among them (see service::hang_request).
        self.instance.record_outage(target);
        if current == Some(Outage::Hang) {
            self.close(|control| control.is_hung(), false).await;
        }
        let not_spared = |control: &ConnectionControl| Some(control.id()) != spare;
        match target {
            Some(Outage::Refuse) => {
                // Dropping the listener closes its socket: connects are refused from now on.
                self.listener = None;
                self.close(not_spared, false).await;
            }
            Some(Outage::Reset) => self.close(not_spared, true).await,
            Some(Outage::Unavailable | Outage::Hang) | None => {}
        }
        log::info!(
            "aa-sim instance {} {}",
            self.instance.index,
            match target {
                Some(outage) => format!("outage: {}", outage.name()),
                None => "restored".to_owned(),
            }
        );
        Ok(())
    }

    /// Ends the connection tasks whose control passes `select` (RST first when `reset`) and
    /// returns once they are gone, their sockets closed.
    async fn close(&mut self, select: impl Fn(&ConnectionControl) -> bool, reset: bool) {
        let mut targets: Vec<tokio::task::Id> = Vec::new();
        for (id, tracked) in &self.tracked {
            let Some(control) = tracked.control.upgrade() else { continue };
            if select(&control) {
                if reset {
                    control.arm_reset();
                }
                tracked.abort.abort();
                targets.push(*id);
            }
        }
        while !targets.is_empty() {
            let Some(finished) = self.tasks.join_next_with_id().await else { break };
            let id = match &finished {
                Ok((id, ())) => *id,
                Err(error) => error.id(),
            };
            targets.retain(|target| *target != id);
            self.reaped(finished);
        }
    }
}

fn bind(instance: &Instance) -> io::Result<TcpListener> {
    // std sets SO_REUSEADDR on Unix, so the port of the closed listener can be bound again
    // while its old connections are in TIME_WAIT.
    let listener = std::net::TcpListener::bind(instance.address).map_err(|error| {
        io::Error::new(error.kind(), format!("cannot listen on {} again: {error}", instance.address))
    })?;
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

/// With linger 0 the close sends RST instead of FIN.
fn reset(stream: &TcpStream) {
    if let Err(error) = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO)) {
        log::warn!("cannot arm connection reset: {error}");
    }
}

fn split_control(stream: TcpStream) -> io::Result<(TcpStream, ConnectionControl)> {
    let std_stream = stream.into_std()?;
    let duplicate = std_stream.try_clone()?;
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    Ok((TcpStream::from_std(std_stream)?, ConnectionControl::new(id, duplicate)))
}

/// A connection accepted while the instance hangs: held open, never read.
async fn hang(stream: TcpStream, control: Arc<ConnectionControl>, open: OpenConnection) {
    let _held = (stream, control, open);
    std::future::pending::<()>().await;
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    instance: Arc<Instance>,
    control: Arc<ConnectionControl>,
    open: OpenConnection,
) {
    let _open = open;
    match tls {
        None => serve_http(stream, app, instance, control).await,
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls_stream) => serve_http(tls_stream, app, instance, control).await,
            Err(error) => log::debug!("TLS handshake failed: {error}"),
        },
    }
}

async fn serve_http<S>(stream: S, app: Arc<App>, instance: Arc<Instance>, control: Arc<ConnectionControl>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        handle(Arc::clone(&app), Arc::clone(&instance), Arc::clone(&control), request)
    });
    if let Err(error) =
        http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await
    {
        log::debug!("connection ended: {error}");
    }
}
