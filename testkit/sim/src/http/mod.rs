//! The HTTP side: accepting (plain or TLS) connections, hyper HTTP/1.1 with keep-alive, faults,
//! request logging.

mod body;
mod server;
mod service;

pub use server::serve;
