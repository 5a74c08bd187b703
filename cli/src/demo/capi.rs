//! Safe Rust wrappers over the exported C functions (the same symbols a C program links), so the
//! demo drives the real C ABI: handles, out-parameters, `aa_error`, library-owned strings.

use std::ffi::{c_char, CString};
use std::ptr;

use aa_logon::ffi::{self as c, aa_error, aa_status};

use crate::exit::{Exit, Failure};

/// A failed C call with everything its `aa_error` told.
pub struct CallError {
    pub call: &'static str,
    pub status: aa_status,
    pub message: String,
    pub http_status: Option<u16>,
    pub msgid: Option<String>,
    pub reason: Option<String>,
}

pub type CallResult<T = ()> = Result<T, CallError>;

impl From<CallError> for Failure {
    fn from(error: CallError) -> Failure {
        let (exit, kind) = classify(error.status);
        let description = c::static_str(c::aa_status_str(error.status as u32));
        Failure {
            exit,
            kind,
            message: format!(
                "{} returned {} ({}, {description}): {}",
                error.call, error.status as u32, kind, error.message
            ),
            http_status: error.http_status,
            msgid: error.msgid,
            reason: error.reason,
        }
    }
}

/// The CLI exit code and kind name for a C status.
fn classify(status: aa_status) -> (Exit, &'static str) {
    match status {
        aa_status::Ok => (Exit::Ok, "ok"),
        aa_status::Config => (Exit::Usage, "config"),
        aa_status::Tls => (Exit::Network, "tls"),
        aa_status::Network => (Exit::Network, "network"),
        aa_status::Timeout => (Exit::Network, "timeout"),
        aa_status::ServerError => (Exit::Server, "server_error"),
        aa_status::MalformedServerData => (Exit::Server, "malformed_server_data"),
        aa_status::LogonFailed => (Exit::LogonFailed, "logon_failed"),
        aa_status::LogonStopped => (Exit::LogonFailed, "logon_stopped"),
        aa_status::NoDevice => (Exit::Device, "no_device"),
        aa_status::NoMatchingKey => (Exit::Device, "no_matching_key"),
        aa_status::UserPresenceTimeout => (Exit::Device, "user_presence_timeout"),
        aa_status::DeviceError => (Exit::Device, "device_error"),
        aa_status::Cancelled => (Exit::Cancelled, "cancelled"),
        _ => (Exit::Internal, "internal"),
    }
}

/// A C string argument; interior NULs cannot occur in the demo's values but are reported.
pub fn arg(call: &'static str, value: &str) -> CallResult<CString> {
    CString::new(value).map_err(|_| CallError {
        call,
        status: aa_status::InvalidArgument,
        message: format!("{value:?} contains a NUL byte"),
        http_status: None,
        msgid: None,
        reason: None,
    })
}

/// Turns a status plus its `aa_error` into a result, freeing the error.
pub fn check(call: &'static str, status: aa_status, error: *mut aa_error) -> CallResult {
    if status == aa_status::Ok {
        c::aa_error_free(error);
        return Ok(());
    }
    let mut message = ptr::null_mut();
    let message = match c::aa_error_message(error, &mut message) {
        aa_status::Ok => c::take_string(message).unwrap_or_default(),
        _ => String::from("(no error details)"),
    };
    let mut http_status = 0u16;
    let http_status =
        (c::aa_error_http_status(error, &mut http_status) == aa_status::Ok).then_some(http_status);
    let msgid = error_string(error, c::aa_error_msgid);
    let reason = error_string(error, c::aa_error_reason);
    c::aa_error_free(error);
    Err(CallError { call, status, message, http_status, msgid, reason })
}

fn error_string(
    error: *mut aa_error,
    read: extern "C" fn(*const aa_error, *mut *mut c_char) -> aa_status,
) -> Option<String> {
    let mut value = ptr::null_mut();
    (read(error, &mut value) == aa_status::Ok).then(|| c::take_string(value)).flatten()
}

/// Runs a call whose only output is its status.
pub fn call(name: &'static str, run: impl FnOnce(*mut *mut aa_error) -> aa_status) -> CallResult {
    let mut error = ptr::null_mut();
    let status = run(&mut error);
    check(name, status, error)
}

/// Runs a call that returns a library-owned string, copies it and frees it.
pub fn string(
    name: &'static str,
    run: impl FnOnce(*mut *mut c_char, *mut *mut aa_error) -> aa_status,
) -> CallResult<String> {
    let mut value = ptr::null_mut();
    let mut error = ptr::null_mut();
    let status = run(&mut value, &mut error);
    check(name, status, error)?;
    Ok(c::take_string(value).unwrap_or_default())
}

/// Runs a call that returns a handle.
pub fn handle<T>(
    name: &'static str,
    run: impl FnOnce(*mut *mut T, *mut *mut aa_error) -> aa_status,
) -> CallResult<*mut T> {
    let mut value = ptr::null_mut();
    let mut error = ptr::null_mut();
    let status = run(&mut value, &mut error);
    check(name, status, error)?;
    Ok(value)
}

/// Frees a handle when dropped, with the matching aa_*_free function.
pub struct Owned<T> {
    pub ptr: *mut T,
    free: extern "C" fn(*mut T) -> aa_status,
}

impl<T> Owned<T> {
    pub fn new(ptr: *mut T, free: extern "C" fn(*mut T) -> aa_status) -> Self {
        Owned { ptr, free }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        let status = (self.free)(self.ptr);
        if status != aa_status::Ok {
            log::warn!("freeing a handle failed: {}", c::static_str(c::aa_status_str(status as u32)));
        }
    }
}

/// Handles and strings of the library that are still allocated.
pub fn live_objects() -> usize {
    let mut count = 0usize;
    if c::aa_live_objects(&mut count) == aa_status::Ok {
        count
    } else {
        usize::MAX
    }
}
