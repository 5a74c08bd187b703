//! What a sign operation takes and gives: AA's sign requests and responses, prompts and options.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::CancelToken;

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

/// How a sign operation behaves.
#[derive(Clone)]
pub struct SignOptions {
    /// Overall deadline for finding a device and getting the touch.
    pub timeout: Duration,
    /// Optional prompt callback.
    pub prompt: Option<PromptCallback>,
    /// Cancel from another thread; the exchange stops within one poll interval.
    pub cancel: CancelToken,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions { timeout: Duration::from_secs(30), prompt: None, cancel: CancelToken::new() }
    }
}

impl std::fmt::Debug for SignOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignOptions")
            .field("timeout", &self.timeout)
            .field("prompt", &self.prompt.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}
