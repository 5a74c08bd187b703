//! `aa_error`: the error object written to a call's optional `error_out` parameter.

use std::ffi::c_char;

use super::args::{write_string, Out};
use super::boundary::{guard_status, FfiError, FfiResult};
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::status::aa_status;

/// An error returned through an `error_out` parameter. Owned by the caller; free it with
/// aa_error_free. Immutable, so it may be read from any thread.
pub struct aa_error {
    _private: [u8; 0],
}

/// What an `aa_error` carries.
#[derive(Clone, Debug)]
pub(crate) struct ErrorDetails {
    pub(crate) status: aa_status,
    pub(crate) message: String,
    pub(crate) http_status: Option<u16>,
    pub(crate) msgid: Option<String>,
    pub(crate) reason: Option<String>,
}

pub(crate) static ERRORS: Registry<ErrorDetails> = Registry::new(HandleKind::Error);

/// Stores `details` as a new `aa_error` in `*error_out`, when the caller asked for one.
pub(crate) fn store(error_out: *mut *mut aa_error, details: ErrorDetails) {
    if let Ok(out) = Out::new(error_out, "error_out") {
        out.write(to_ptr(ERRORS.insert(details)));
    }
}

fn with_error(error: *const aa_error, read: impl FnOnce(&ErrorDetails) -> FfiResult) -> FfiResult {
    let details = ERRORS.get(from_ptr(error), "error")?;
    read(&details)
}

fn optional_string(out: *mut *mut c_char, value: Option<&str>, what: &str) -> FfiResult {
    let out = Out::new(out, what)?;
    match value {
        Some(value) => write_string(out, value, what),
        None => Err(FfiError::new(aa_status::NotAvailable, format!("the error has no {what}"))),
    }
}

/// The status code of `error` (the same value the failing call returned).
#[no_mangle]
pub extern "C" fn aa_error_status(error: *const aa_error, status_out: *mut aa_status) -> aa_status {
    guard_status(|| {
        with_error(error, |details| {
            Out::new(status_out, "status_out")?.write(details.status);
            Ok(())
        })
    })
}

/// A readable, complete description of the failure. The caller owns `*message_out` and frees it
/// with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_error_message(error: *const aa_error, message_out: *mut *mut c_char) -> aa_status {
    guard_status(|| {
        with_error(error, |details| {
            write_string(Out::new(message_out, "message_out")?, &details.message, "message")
        })
    })
}

/// The HTTP status of the AA server's answer. AA_STATUS_NOT_AVAILABLE when the failure did not
/// come from an HTTP answer.
#[no_mangle]
pub extern "C" fn aa_error_http_status(error: *const aa_error, http_status_out: *mut u16) -> aa_status {
    guard_status(|| {
        with_error(error, |details| {
            let out = Out::new(http_status_out, "http_status_out")?;
            let status = details
                .http_status
                .ok_or_else(|| FfiError::new(aa_status::NotAvailable, "the error has no HTTP status"))?;
            out.write(status);
            Ok(())
        })
    })
}

/// The AA server's message id (e.g. "AUCORE-1056"); AA_STATUS_NOT_AVAILABLE when there is none.
/// The caller owns `*msgid_out` and frees it with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_error_msgid(error: *const aa_error, msgid_out: *mut *mut c_char) -> aa_status {
    guard_status(|| {
        with_error(error, |details| optional_string(msgid_out, details.msgid.as_deref(), "msgid"))
    })
}

/// The AA server's reason (e.g. "USER_NOT_FOUND"); AA_STATUS_NOT_AVAILABLE when there is none.
/// The caller owns `*reason_out` and frees it with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_error_reason(error: *const aa_error, reason_out: *mut *mut c_char) -> aa_status {
    guard_status(|| {
        with_error(error, |details| optional_string(reason_out, details.reason.as_deref(), "reason"))
    })
}

/// Frees an error. NULL is ignored; a freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn aa_error_free(error: *mut aa_error) -> aa_status {
    guard_status(|| {
        if error.is_null() {
            return Ok(());
        }
        ERRORS.remove(from_ptr(error), "error").map(drop)
    })
}
