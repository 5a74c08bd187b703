//! Handlers of the AA REST API (`/api/v1/…`), one module per resource.

pub mod chains;
pub mod do_logon;
pub mod endpoints;
pub mod fido2_login;
pub mod login_sessions;
pub mod logon;
mod methods;
mod process_reply;
