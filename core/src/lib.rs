//! aa-logon: log users on to NetIQ / OpenText Advanced Authentication with U2F security keys.
//!
//! The Rust API ([`Client`], [`Logon`]) is what the C ABI (crate `aa-logon-ffi`) wraps. No
//! `unsafe` and no `extern "C"` here: the FFI crate is the only place with either.

#![forbid(unsafe_code)]

pub mod aa;
mod cancel;
mod error;
pub mod fido;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod secret;

pub use aa::{
    ApprovalOptions, ApprovalPrompt, Chain, ChainsInfo, Client, ClientConfig, LoginSessionInfo, Logon,
    LogonResponse, LogonStatus, ResponseJson, TlsOptions, U2fChallenge, UserInfo,
};
pub use cancel::CancelToken;
pub use error::{DeviceCode, Error, ErrorKind, Result};
pub use fido::{DeviceProvider, Prompt, SignOptions, SignRequest, SignResponse};
pub use secret::Secret;
