//! The panic boundary and the error out-parameter: every exported body runs inside one of the
//! `guard_*` functions here, so no panic crosses into C and every failure yields a status plus,
//! where the signature has one, an `aa_error` with a readable message.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::args::Out;
use super::handles::{to_ptr, HandleKind, Registry};
use super::result::{ErrorDetails, FfiError, FfiResult};
use super::status::aa_status;

/// An error returned through an `error_out` parameter. Owned by the caller; free it with
/// aa_error_free. Immutable, so it may be read from any thread.
pub struct aa_error {
    _private: [u8; 0],
}

/// Every `aa_error` not yet freed.
pub(crate) static ERRORS: Registry<ErrorDetails> = Registry::new(HandleKind::Error);

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
///
/// # Safety
/// `error_out` is NULL or points to writable storage for one `aa_error *`.
pub(crate) unsafe fn guard_call(
    error_out: *mut *mut aa_error,
    body: impl FnOnce() -> FfiResult,
) -> aa_status {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panic_error(payload)));
    match outcome {
        Ok(()) => aa_status::Ok,
        Err(error) => {
            let status = error.status();
            // SAFETY: this function's contract.
            if let Ok(out) = unsafe { Out::new(error_out, "error_out") } {
                out.write(to_ptr(ERRORS.insert(error.0)));
            }
            status
        }
    }
}

/// Runs the body of an export that returns only a status (frees, cancel, error accessors).
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
