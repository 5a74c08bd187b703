//! Shared helpers of the fido_* integration tests: sign requests for virtual keys, prompt
//! recording and independent verification of a signResponse with p256.
// Each test binary includes this module and uses a different subset of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Sign options with `timeout` and a prompt recorder.
pub fn options(timeout: Duration) -> (SignOptions, Arc<Mutex<Vec<Prompt>>>) {
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let recorder = prompts.clone();
    let options = SignOptions {
        timeout,
        prompt: Some(Arc::new(move |prompt| recorder.lock().unwrap().push(prompt))),
        ..SignOptions::default()
    };
    (options, prompts)
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
    assert_eq!(parsed["origin"], request.app_id.as_str());

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
