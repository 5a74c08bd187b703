//! aa-logon: log users on to NetIQ / OpenText Advanced Authentication with U2F security keys.
//!
//! The Rust API ([`Client`], [`Logon`]) is what the C ABI in [`ffi`] wraps.

pub mod aa;
mod cancel;
mod error;
pub mod ffi;
pub mod fido;
mod secret;

pub use aa::{
    Chain, ChainsInfo, Client, ClientConfig, LoginSessionInfo, Logon, LogonResponse, LogonStatus, TlsOptions,
    U2fChallenge, UserInfo,
};
pub use cancel::CancelToken;
pub use error::{Error, ErrorKind, Result};
pub use fido::{DeviceProvider, Prompt, SignOptions, SignRequest, SignResponse};
pub use secret::Secret;
