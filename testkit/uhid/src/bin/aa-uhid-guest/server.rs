//! The server side of the logon scenarios: the AA simulator in this process, listening on the
//! guest's loopback interface (brought up by init), and a client of its demo endpoint that trusts
//! the CA it generated; plus the checks and options every logon scenario shares.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aa_logon::fido::{PinCallback, PinRequest};
use aa_logon::{Client, ClientConfig, Logon, LogonResponse, LogonStatus, Secret, SignOptions, TlsOptions};
use aa_sim::{demo, SimConfig, Simulator};

/// Generous: every TLS handshake runs on the guest's emulated CPU.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Finding the key and getting its touch (or PIN) through hidraw; under the scenario watchdog.
pub const SIGN_TIMEOUT: Duration = Duration::from_secs(20);

/// A simulator and a client of it. Fields drop in order: the client (and its connections) before
/// the simulator it talks to.
pub struct Server {
    pub client: Client,
    _sim: Simulator,
}

pub fn start() -> Result<Server, String> {
    let sim =
        Simulator::start(SimConfig::default()).map_err(|e| format!("the simulator does not start: {e}"))?;
    let ca_pem = sim.ca_pem().ok_or("the simulator generated no CA")?;
    let mut config =
        ClientConfig::new(sim.base_url(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    config.tls = TlsOptions { extra_ca_pem: Some(ca_pem.as_bytes().to_vec()), ..TlsOptions::default() };
    config.request_timeout = REQUEST_TIMEOUT;
    config.allow_app_id_host(sim.app_id_host()).map_err(|e| format!("allow_app_id_host: {e}"))?;
    let client = Client::new(config).map_err(|e| format!("the client does not build: {e}"))?;
    Ok(Server { client, _sim: sim })
}

impl Server {
    pub fn start_logon(&self, user: &str, event: &str, method: &str) -> Result<Logon, String> {
        let logon = self.client.start_logon(user, event, method).map_err(failed("start_logon"))?;
        if logon.response().current_method != method {
            return Err(format!("the logon started at {:?}, not {method}", logon.response().current_method));
        }
        Ok(logon)
    }
}

/// Maps a library error to a scenario failure naming the step (errors carry no secret or token).
pub fn failed(step: &'static str) -> impl Fn(aa_logon::Error) -> String {
    move |error| format!("{step} failed ({:?}): {error}", error.kind())
}

/// The logon ended `OK` through `chain` with a login session. The session id is a bearer token:
/// only its presence is checked, it is never printed.
pub fn logged_on(done: &LogonResponse, chain: &str) -> Result<(), String> {
    if done.status != LogonStatus::Ok {
        return Err(format!("status {:?} ({}), not OK", done.status, done.msg));
    }
    if done.login_session_id.is_none() {
        return Err("OK without a login session id".into());
    }
    match &done.completed_chain {
        Some(completed) if completed.name == chain => Ok(()),
        other => Err(format!("completed chain {:?}, not {chain:?}", other.as_ref().map(|c| &c.name))),
    }
}

pub fn sign_options(pin: Option<PinCallback>) -> SignOptions {
    SignOptions { timeout: SIGN_TIMEOUT, pin, ..SignOptions::default() }
}

/// A PIN callback that answers `pin` and records the retries left it was told each time.
pub fn answering(pin: &'static str) -> (PinCallback, Arc<Mutex<Vec<u32>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = asked.clone();
    let callback: PinCallback = Arc::new(move |request: &PinRequest| {
        record.lock().unwrap_or_else(PoisonError::into_inner).push(request.retries_left);
        Some(Secret::from(pin))
    });
    (callback, asked)
}
