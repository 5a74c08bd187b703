//! The Advanced Authentication REST client (`/api/v1/...`).

mod answers;
mod app_id;
mod approval;
mod call;
mod client;
#[cfg(test)]
mod client_tests;
mod config;
mod connection_limit;
mod connector;
mod failover;
mod hints;
mod http;
pub mod log_filter;
mod logon;
mod model;
pub mod redact;
mod servers;
mod session;
mod tls;

pub use answers::{answers_from_json, IntoResponseJson, ResponseJson};
pub use approval::{
    ApprovalOptions, ApprovalProgressCallback, ApprovalPrompt, ApprovalPromptCallback,
    DEFAULT_APPROVAL_TIMEOUT, DEFAULT_POLL_INTERVAL, MIN_POLL_INTERVAL,
};
pub use client::Client;
pub use config::{
    default_user_agent, ClientConfig, TlsOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SERVER_BACKOFF, MAX_SERVERS,
};
pub use logon::{Fido2Assertion, Logon};
pub use model::{Chain, ChainsInfo, LoginSessionInfo, LogonResponse, LogonStatus, U2fChallenge, UserInfo};
pub use tls::spki_sha256;
