//! Shared helpers of the fido_* integration tests: sign requests for virtual keys, prompt
//! recording (and waiting on prompts), a guard against hangs, and independent verification of a
//! signResponse with p256.
//!
//! The tests wait on events (a prompt, the key asking for a touch), never on the clock: fixed
//! sleeps race a loaded machine, and latency belongs in benchmarks.
// Each test binary includes this module and uses a different subset of it.
#![allow(dead_code)]

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use aa_logon::fido::{Prompt, SignOptions, SignRequest, SignResponse};
use aa_virtual_key::VirtualKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

pub const APP_ID: &str = "https://aa.example.com";
pub const CHALLENGE: &str = "opsXqUifDriAAmWclinfbS0e-USY0CgyJHe_Otd7z8o";

/// The sign request AA would send for `key`'s enrollment at [`APP_ID`].
pub fn request_for(key: &VirtualKey) -> SignRequest {
    SignRequest {
        version: "U2F_V2".into(),
        challenge: CHALLENGE.into(),
        key_handle: URL_SAFE_NO_PAD.encode(key.enrollment(APP_ID).key_handle),
        app_id: APP_ID.into(),
    }
}

/// How long a test waits for an event before it calls the code under test hung. A safety net only,
/// never a latency check: every awaited event comes within a poll interval or two.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// The prompts a sign operation showed, in order; other threads can wait for one to appear.
#[derive(Debug, Default)]
pub struct Prompts {
    seen: Mutex<Vec<Prompt>>,
    changed: Condvar,
}

impl Prompts {
    /// Every prompt shown so far, in order.
    pub fn seen(&self) -> Vec<Prompt> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn push(&self, prompt: Prompt) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(prompt);
        self.changed.notify_all();
    }

    /// Blocks until `prompt` has been shown (now or earlier); panics after [`HANG_GUARD`].
    pub fn wait_for(&self, prompt: Prompt) {
        let deadline = Instant::now() + HANG_GUARD;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while !seen.contains(&prompt) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {prompt:?} prompt within {HANG_GUARD:?}; prompts: {seen:?}");
            seen = self.changed.wait_timeout(seen, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

/// Sign options with `timeout` and a prompt recorder.
pub fn options(timeout: Duration) -> (SignOptions, Arc<Prompts>) {
    let prompts = Arc::new(Prompts::default());
    let recorder = prompts.clone();
    let options = SignOptions {
        timeout,
        prompt: Some(Arc::new(move |prompt| recorder.push(prompt))),
        ..SignOptions::default()
    };
    (options, prompts)
}

/// Blocks until `key` refused a request for lack of user presence (it blinks), as a user reacts
/// to the blinking; panics after [`HANG_GUARD`].
pub fn wait_until_blinking(key: &VirtualKey) {
    assert!(key.wait_for_touch_request(HANG_GUARD), "the key was never asked for a touch");
}

/// Runs `operation` on its own thread and returns its result, or panics if it is still running
/// after [`HANG_GUARD`]. A safety net for operations that must end by themselves (at their own
/// timeout, or at once); not a latency check. A panic in `operation` is passed on.
pub fn without_hanging<T: Send + 'static>(operation: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = done.send(operation());
    });
    match result.recv_timeout(HANG_GUARD) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("still running after {HANG_GUARD:?}: hung"),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ended without sending its result"),
        },
    }
}

/// clientData's origin: the appId itself, or its `scheme://host[:port]` when the appId carries a
/// path, a trailing slash or a query (a facet list URL such as Google's test vector's).
pub fn facet_origin(app_id: &str) -> &str {
    let authority_start = app_id.find("://").map_or(0, |at| at + 3);
    match app_id[authority_start..].find(['/', '?']) {
        Some(at) => &app_id[..authority_start + at],
        None => app_id,
    }
}

/// Checks the signResponse the way AA does: clientData content, then the ECDSA signature over
/// SHA-256(appId) ‖ presence ‖ counter ‖ SHA-256(clientData) with the enrolled public key.
/// Returns the signature counter.
pub fn verify(response: &SignResponse, request: &SignRequest, public_key: &[u8]) -> u32 {
    assert_eq!(response.key_handle, request.key_handle.trim_end_matches('='));
    let client_data = URL_SAFE_NO_PAD.decode(&response.client_data).expect("clientData is base64url");
    let parsed: serde_json::Value = serde_json::from_slice(&client_data).expect("clientData is JSON");
    assert_eq!(parsed["typ"], "navigator.id.getAssertion");
    assert_eq!(parsed["challenge"], request.challenge.as_str());
    assert_eq!(parsed["origin"], facet_origin(&request.app_id));

    let signature_data =
        URL_SAFE_NO_PAD.decode(&response.signature_data).expect("signatureData is base64url");
    assert_eq!(signature_data[0] & 1, 1, "user presence bit");
    let mut signed = Sha256::digest(request.app_id.as_bytes()).to_vec();
    signed.extend_from_slice(&signature_data[..5]);
    signed.extend_from_slice(&Sha256::digest(&client_data));
    let key = VerifyingKey::from_sec1_bytes(public_key).expect("enrolled public key");
    let signature = Signature::from_der(&signature_data[5..]).expect("DER signature");
    key.verify(&signed, &signature).expect("signature verifies with the enrolled key");
    u32::from_be_bytes(signature_data[1..5].try_into().unwrap())
}

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}
