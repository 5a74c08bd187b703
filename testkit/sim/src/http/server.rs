//! Accept loop: one task per connection, HTTP/1.1 with keep-alive over TCP or TLS.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::service::{handle, ConnectionControl};
use crate::app::App;

const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Serves until `shutdown` turns true. Must run inside a tokio runtime.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            log::error!("aa-sim cannot use its listening socket: {error}");
            return;
        }
    };
    let sweeper_app = Arc::clone(&app);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        loop {
            ticks.tick().await;
            sweeper_app.store().sweep(Instant::now());
        }
    });
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    app.connections_accepted.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection(stream, tls.clone(), Arc::clone(&app)));
                }
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    log::warn!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, app: Arc<App>) {
    let _ = stream.set_nodelay(true);
    // A duplicate handle lets a fault reset the connection (linger 0) while hyper owns the stream.
    let (stream, control) = match split_control(stream) {
        Ok(pair) => pair,
        Err(error) => {
            log::warn!("connection setup failed: {error}");
            return;
        }
    };
    let control = Arc::new(control);
    match tls {
        None => serve_http(stream, app, control).await,
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls_stream) => serve_http(tls_stream, app, control).await,
            Err(error) => log::debug!("TLS handshake failed: {error}"),
        },
    }
}

fn split_control(stream: TcpStream) -> std::io::Result<(TcpStream, ConnectionControl)> {
    let std_stream = stream.into_std()?;
    let duplicate = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, ConnectionControl::new(duplicate)))
}

async fn serve_http<S>(stream: S, app: Arc<App>, control: Arc<ConnectionControl>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| handle(Arc::clone(&app), Arc::clone(&control), request));
    if let Err(error) =
        http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await
    {
        log::debug!("connection ended: {error}");
    }
}
