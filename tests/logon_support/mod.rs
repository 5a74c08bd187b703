//! Shared setup of the logon integration tests: an in-process simulator over HTTPS and clients
//! that trust its generated CA.

#![allow(dead_code)] // each test binary uses a different part

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aa_logon::{Client, ClientConfig, Secret, TlsOptions};
use aa_sim::{demo, SimConfig, Simulator};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

pub fn simulator() -> Simulator {
    Simulator::start(SimConfig::default()).expect("simulator starts")
}

/// The demo endpoint's configuration, trusting the simulator's CA.
pub fn config(sim: &Simulator) -> ClientConfig {
    let mut config =
        ClientConfig::new(sim.base_url(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    config.tls = TlsOptions { extra_ca_pem: Some(ca_pem(sim).into_bytes()), ..TlsOptions::default() };
    config.request_timeout = Duration::from_secs(10);
    config
}

pub fn client(sim: &Simulator) -> Client {
    Client::new(config(sim)).expect("client builds")
}

pub fn ca_pem(sim: &Simulator) -> String {
    sim.ca_pem().expect("the simulator generated a CA").to_owned()
}

/// The DER of the simulator's server certificate, read from a TLS handshake of our own.
pub fn server_certificate(sim: &Simulator) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem(sim).as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let address = sim.base_url().trim_start_matches("https://").to_owned();
    let host = address.rsplit_once(':').unwrap().0.to_owned();
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from(host).unwrap()).unwrap();
    let mut socket = TcpStream::connect(&address).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).unwrap();
    }
    let certificate = connection.peer_certificates().unwrap()[0].to_vec();
    connection.send_close_notify();
    let _ = connection.complete_io(&mut socket);
    let _ = socket.flush();
    certificate
}

pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}
