//! The library through its Rust API: one [`Client`] (a kept-alive connection pool) and a
//! logon = `start_logon` + `sign_with_device` (the same three requests as the floor).

use std::time::Duration;

use aa_logon::fido::DeviceProvider;
use aa_logon::{Client, ClientConfig, LogonStatus, Secret, SignOptions, TlsOptions};
use aa_sim::demo;

use crate::sim::Server;

pub type Result<T> = std::result::Result<T, String>;

/// A client of the simulator trusting its CA file (and, as a deployment, the system store).
pub fn client(server: &Server) -> Result<Client> {
    let mut config =
        ClientConfig::new(server.base_url.as_str(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    config.tls = TlsOptions { extra_ca_pem_file: Some(server.ca_file.clone()), ..TlsOptions::default() };
    config.allow_app_id_host(demo::APP_ID_HOST).map_err(|e| e.to_string())?;
    Client::new(config).map_err(|e| e.to_string())
}

pub fn sign_options() -> SignOptions {
    SignOptions { timeout: Duration::from_secs(10), ..SignOptions::default() }
}

/// One U2F logon of `user` with the keys of `devices`; Ok when the server says OK.
pub fn logon(client: &Client, user: &str, devices: &dyn DeviceProvider, options: &SignOptions) -> Result<()> {
    let mut logon = client.start_logon(user, demo::EVENT, "U2F:1").map_err(|e| e.to_string())?;
    let done = logon.sign_with_device(devices, options).map_err(|e| e.to_string())?;
    match &done.status {
        LogonStatus::Ok => Ok(()),
        other => Err(format!("logon ended with {other:?}")),
    }
}
