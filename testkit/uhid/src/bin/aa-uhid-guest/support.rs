//! Helpers shared by the scenarios: plugging keys, making and verifying sign requests the way the
//! simulator (the server side) does, running a sign on its own thread and recording prompts.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use aa_logon::fido::{self, HidapiDevices, Prompt, SignOptions, SignRequest, SignResponse};
use aa_uhid::{Bridge, Endpoint, Plugged};
use aa_virtual_key::{Enrollment, VirtualKey, PRODUCT, PRODUCT_ID, VENDOR_ID};

/// The appId the scenarios sign for (what AA's U2F method sends).
pub const APP_ID: &str = "https://aa.example.test/u2f";

/// Plugs a virtual key made from `seed` into the guest kernel; returns the test's handle to it.
pub fn plug_key(bridge: &mut Bridge, seed: &[u8]) -> Result<(VirtualKey, Plugged), String> {
    let key = VirtualKey::new(seed);
    let plugged = plug(bridge, Arc::new(key.clone()))?;
    Ok((key, plugged))
}

/// Plugs `endpoint` (a virtual key, or a wrapper around one) in as the virtual key's USB product.
pub fn plug(bridge: &mut Bridge, endpoint: Arc<dyn Endpoint>) -> Result<Plugged, String> {
    bridge.plug(endpoint, PRODUCT, VENDOR_ID, PRODUCT_ID).map_err(|e| format!("plugging a key: {e}"))
}

/// A challenge issued by the simulator's U2F logic for the given enrollments.
pub struct Challenge {
    pub challenge: String,
    pub requests: Vec<SignRequest>,
}

pub fn challenge_for(enrollments: &[&Enrollment]) -> Result<Challenge, String> {
    let handles: Vec<Vec<u8>> = enrollments.iter().map(|e| e.key_handle.clone()).collect();
    let (challenge, requests) = aa_sim::u2f::new_sign_requests(APP_ID, &handles);
    let requests: Vec<SignRequest> =
        serde_json::from_value(requests).map_err(|e| format!("simulator signRequests do not parse: {e}"))?;
    Ok(Challenge { challenge, requests })
}

/// Has the simulator's verifier check `response` against `enrollment`; returns the counter.
pub fn verify(
    challenge: &Challenge,
    enrollment: &Enrollment,
    response: &SignResponse,
) -> Result<u32, String> {
    let json = serde_json::to_value(response).map_err(|e| format!("signResponse does not serialise: {e}"))?;
    aa_sim::u2f::verify_sign_response(APP_ID, &challenge.challenge, &enrollment.public_key, 0, &json)
        .map_err(|rejection| format!("the simulator rejected the signResponse: {rejection:?}"))
}

/// Each prompt shown, with when.
type PromptLog = Mutex<Vec<(Prompt, Instant)>>;

/// Prompts seen by a sign operation, with a way to wait for one.
#[derive(Clone, Default)]
pub struct Prompts {
    shared: Arc<(PromptLog, Condvar)>,
}

impl Prompts {
    pub fn callback(&self) -> fido::PromptCallback {
        let shared = self.shared.clone();
        Arc::new(move |prompt| {
            let (seen, changed) = &*shared;
            seen.lock().unwrap_or_else(PoisonError::into_inner).push((prompt, Instant::now()));
            changed.notify_all();
        })
    }

    /// Waits until `prompt` has been shown; returns when it was.
    pub fn wait_for(&self, prompt: Prompt, timeout: Duration) -> Result<Instant, String> {
        let (seen, changed) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut guard = seen.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some((_, at)) = guard.iter().find(|(shown, _)| *shown == prompt) {
                return Ok(*at);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no {prompt:?} prompt within {timeout:?}; saw {:?}", names(&guard)));
            }
            guard = changed.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    pub fn sequence(&self) -> Vec<Prompt> {
        names(&self.shared.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn names(seen: &[(Prompt, Instant)]) -> Vec<Prompt> {
    seen.iter().map(|(prompt, _)| *prompt).collect()
}

/// A sign running on its own thread through the production hidapi transport.
pub struct PendingSign {
    handle: JoinHandle<aa_logon::Result<SignResponse>>,
    pub started: Instant,
}

impl PendingSign {
    pub fn start(
        requests: Vec<SignRequest>,
        timeout: Duration,
        prompts: &Prompts,
    ) -> Result<PendingSign, String> {
        let options = SignOptions { timeout, prompt: Some(prompts.callback()), ..SignOptions::default() };
        let started = Instant::now();
        let handle = thread::Builder::new()
            .name("sign".into())
            .spawn(move || fido::sign(&HidapiDevices::new(), &requests, &options))
            .map_err(|e| format!("cannot start the sign thread: {e}"))?;
        Ok(PendingSign { handle, started })
    }

    pub fn finish(self) -> Result<aa_logon::Result<SignResponse>, String> {
        self.handle.join().map_err(|_| "the sign thread panicked".to_string())
    }
}

/// Signs on the calling thread with the production transport.
pub fn sign_now(requests: &[SignRequest], timeout: Duration) -> Result<SignResponse, String> {
    let options = SignOptions { timeout, ..SignOptions::default() };
    fido::sign(&HidapiDevices::new(), requests, &options).map_err(|e| format!("sign failed: {e}"))
}

pub fn b64url(bytes: &[u8]) -> String {
    aa_sim::u2f::encode_b64url(bytes)
}
