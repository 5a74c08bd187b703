//! What a sign operation takes and gives: AA's sign requests and responses, prompts and options.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CancelToken, Secret};

/// One entry of the server's `signRequests` (camelCase on the wire, as AA sends it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    /// `U2F_V2`.
    #[serde(default)]
    pub version: String,
    /// The server's challenge, base64url; copied verbatim into clientData.
    pub challenge: String,
    /// base64url key handle of one enrolled key.
    pub key_handle: String,
    /// The appId; its SHA-256 is the application parameter and it is clientData's `origin`.
    pub app_id: String,
}

/// What AA expects back in `response.signResponse` (base64url without padding).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignResponse {
    pub key_handle: String,
    pub client_data: String,
    pub signature_data: String,
}

/// What the user should be told while a sign operation waits for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// No FIDO device is present: ask the user to insert their key.
    InsertKey,
    /// A key owning a handle was found and waits for a touch.
    TouchKey,
    /// The key was touched; the signature is on its way.
    Touched,
}

/// The prompt callback type: called from the thread that runs the sign operation.
pub type PromptCallback = Arc<dyn Fn(Prompt) + Send + Sync>;

/// What the PIN callback is told when a key needs its PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PinRequest {
    /// Wrong PINs the key still accepts before it blocks the PIN (its getPinRetries counter).
    pub retries_left: u32,
}

/// The PIN callback: called from the thread that runs the sign operation, only when the request
/// needs user verification and the key has a PIN (built-in UV goes first). It returns the PIN,
/// which the library keeps only in zeroizing storage and never logs, or `None` to give up (the
/// sign then fails with [`ErrorKind::PinRequired`](crate::ErrorKind::PinRequired)).
pub type PinCallback = Arc<dyn Fn(&PinRequest) -> Option<Secret> + Send + Sync>;

/// How a sign operation behaves.
#[derive(Clone)]
pub struct SignOptions {
    /// Overall deadline for finding a device and getting the touch.
    pub timeout: Duration,
    /// Optional prompt callback.
    pub prompt: Option<PromptCallback>,
    /// Cancel from another thread; the exchange stops within one poll interval.
    pub cancel: CancelToken,
    /// Asked for the PIN when a key needs it; without one such a sign fails with
    /// [`ErrorKind::PinRequired`](crate::ErrorKind::PinRequired).
    pub pin: Option<PinCallback>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions { timeout: Duration::from_secs(30), prompt: None, cancel: CancelToken::new(), pin: None }
    }
}

impl std::fmt::Debug for SignOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOptions")
            .field("timeout", &self.timeout)
            .field("prompt", &self.prompt.is_some())
            .field("cancel", &self.cancel)
            .field("pin", &self.pin.is_some())
            .finish()
    }
}

/// How much a relying party wants the user verified (WebAuthn `userVerification`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserVerification {
    /// The assertion must carry the UV flag: built-in UV, else the PIN.
    Required,
    /// Built-in UV when the key offers it; the PIN is not asked for.
    #[default]
    Preferred,
    /// No user verification (a key that always verifies still does).
    Discouraged,
}

impl UserVerification {
    /// From the WebAuthn string; unknown values are treated as `preferred` (the WebAuthn default).
    pub fn from_webauthn(value: &str) -> Self {
        match value {
            "required" => UserVerification::Required,
            "discouraged" => UserVerification::Discouraged,
            _ => UserVerification::Preferred,
        }
    }
}

/// A FIDO2 assertion request for the security keys (the key-facing half of a WebAuthn get).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssertionRequest {
    /// The relying party id the credential is scoped to (a host name).
    pub rp_id: String,
    /// SHA-256 of the clientDataJSON that will be sent to the server with the assertion.
    pub client_data_hash: [u8; 32],
    /// Credential ids the server accepts; empty for discoverable credentials.
    pub allow_credentials: Vec<Vec<u8>>,
    pub user_verification: UserVerification,
}

/// A key's assertion for an [`AssertionRequest`], checked against it (rpIdHash, flags, a
/// credential from the list, a DER signature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    pub credential_id: Vec<u8>,
    pub authenticator_data: Vec<u8>,
    /// DER ECDSA signature over authenticatorData ‖ clientDataHash.
    pub signature: Vec<u8>,
    /// The user handle, when the key returned one.
    pub user_handle: Option<Vec<u8>>,
}
