//! The panic boundary and the error out-parameter: every exported body runs inside one of the
//! `guard_*` functions here, so no panic crosses into C and every failure yields a status plus,
//! where the signature has one, an `aa_error` with a readable message.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{aa_error, ErrorDetails};
use super::status::aa_status;

/// A failure on its way to C: a status plus the details an `aa_error` will carry.
#[derive(Debug)]
pub(crate) struct FfiError(pub(crate) ErrorDetails);

impl FfiError {
    pub(crate) fn new(status: aa_status, message: impl Into<String>) -> Self {
        FfiError(ErrorDetails {
            status,
            message: message.into(),
            http_status: None,
            msgid: None,
            reason: None,
        })
    }

    pub(crate) fn status(&self) -> aa_status {
        self.0.status
    }
}

impl From<crate::Error> for FfiError {
    fn from(error: crate::Error) -> Self {
        FfiError(ErrorDetails {
            status: error.kind().into(),
            message: error.to_string(),
            http_status: error.http_status(),
            msgid: error.msgid().map(str::to_owned),
            reason: error.reason().map(str::to_owned),
        })
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> FfiError {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    log::error!("panic caught at the C boundary: {detail}");
    FfiError::new(aa_status::Panic, format!("internal error (panic caught): {detail}"))
}

/// Runs the body of a fallible export: panic boundary, status mapping, and an `aa_error` written
/// to `error_out` (when it is not NULL) on failure only.
pub(crate) fn guard_call(error_out: *mut *mut aa_error, body: impl FnOnce() -> FfiResult) -> aa_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panic_error(payload)));
    match outcome {
        Ok(()) => aa_status::Ok,
        Err(error) => {
            let status = error.status();
            super::error::store(error_out, error.0);
            status
        }
    }
}

/// Runs the body of an export that returns only a status (frees, cancel).
pub(crate) fn guard_status(body: impl FnOnce() -> FfiResult) -> aa_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => aa_status::Ok,
        Ok(Err(error)) => error.status(),
        Err(payload) => panic_error(payload).status(),
    }
}

/// Runs the body of an export that returns a static string; a panic yields a static message.
pub(crate) fn guard_static(body: impl FnOnce() -> *const c_char) -> *const c_char {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        panic_error(payload);
        c"internal error".as_ptr()
    })
}
