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
    Client::new(config(server)?).map_err(|e| e.to_string())
}

/// The configuration of [`client`], for callers that change it further.
pub fn config(server: &Server) -> Result<ClientConfig> {
    let mut config =
        ClientConfig::new(server.base_url.as_str(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    config.tls = TlsOptions { extra_ca_pem_file: Some(server.ca_file.clone()), ..TlsOptions::default() };
    config.allow_app_id_host(demo::APP_ID_HOST).map_err(|e| e.to_string())?;
    Ok(config)
}

pub fn sign_options() -> SignOptions {
    SignOptions { timeout: Duration::from_secs(10), ..SignOptions::default() }
}

/// One U2F logon of `user` with the keys of `devices`; Ok when the server says OK.
pub fn logon(client: &Client, user: &str, devices: &dyn DeviceProvider, options: &SignOptions) -> Result<()> {
    logon_answered_by(client, user, devices, options).map(drop)
}

/// [`logon`], returning the URL of the server that answered its last call.
pub fn logon_answered_by(
    client: &Client,
    user: &str,
    devices: &dyn DeviceProvider,
    options: &SignOptions,
) -> Result<String> {
    let mut logon = client.start_logon(user, demo::EVENT, "U2F:1").map_err(|e| e.to_string())?;
    let done = logon.sign_with_device(devices, options).map_err(|e| e.to_string())?;
    match &done.status {
        LogonStatus::Ok => Ok(logon.server().to_owned()),
        other => Err(format!("logon ended with {other:?}")),
    }
}
