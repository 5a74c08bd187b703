//! The `aa_error` accessors: what a failed call reported, read back by C.

use std::ffi::c_char;

use aa_logon::DeviceCode;

use super::args::Out;
use super::boundary::{aa_error, guard_status, ERRORS};
use super::enums::u32_enum;
use super::handles::from_ptr;
use super::result::{ErrorDetails, FfiError, FfiResult};
use super::status::aa_status;
use super::strings::write_string;

/// Which family a device-level error code (aa_error_device_code) belongs to.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_device_code_kind {
    /// A CTAPHID_ERROR byte sent by the key (e.g. 0x06 CHANNEL_BUSY, 0x01 INVALID_CMD).
    CtaphidError = 1,
    /// An ISO 7816 status word of a U2F (CTAP1) answer, SW1 in the high byte (e.g. 0x6985 =
    /// user presence required, 0x6A80 = wrong key handle).
    Iso7816Status = 2,
    /// A CTAP2 status code of an authenticator answer (e.g. 0x31 PIN_INVALID, 0x2E NO_CREDENTIALS).
    Ctap2Status = 3,
}

u32_enum!(aa_device_code_kind { CtaphidError, Iso7816Status, Ctap2Status });

fn with_error(error: *const aa_error, read: impl FnOnce(&ErrorDetails) -> FfiResult) -> FfiResult {
    let details = ERRORS.get(from_ptr(error), "error")?;
    read(&details)
}

fn optional_string(out: Out<*mut c_char>, value: Option<&str>, what: &str) -> FfiResult {
    match value {
        Some(value) => write_string(out, value, what),
        None => Err(FfiError::new(aa_status::NotAvailable, format!("the error has no {what}"))),
    }
}

/// The status code of `error` (the same value the failing call returned).
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `status_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_status(error: *const aa_error, status_out: *mut aa_status) -> aa_status {
    guard_status(|| {
        with_error(error, |details| {
            // SAFETY: the caller's contract covers status_out.
            unsafe { Out::new(status_out, "status_out") }?.write(details.status);
            Ok(())
        })
    })
}

/// A readable, complete description of the failure. The caller owns `*message_out` and frees it
/// with aa_string_free.
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `message_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_message(
    error: *const aa_error,
    message_out: *mut *mut c_char,
) -> aa_status {
    guard_status(|| {
        // SAFETY: the caller's contract covers message_out.
        let out = unsafe { Out::new(message_out, "message_out") }?;
        with_error(error, |details| write_string(out, &details.message, "message"))
    })
}

/// The HTTP status of the AA server's answer. AA_STATUS_NOT_AVAILABLE when the failure did not
/// come from an HTTP answer.
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `http_status_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_http_status(
    error: *const aa_error,
    http_status_out: *mut u16,
) -> aa_status {
    guard_status(|| {
        // SAFETY: the caller's contract covers http_status_out.
        let out = unsafe { Out::new(http_status_out, "http_status_out") }?;
        with_error(error, |details| {
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
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `msgid_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_msgid(error: *const aa_error, msgid_out: *mut *mut c_char) -> aa_status {
    guard_status(|| {
        // SAFETY: the caller's contract covers msgid_out.
        let out = unsafe { Out::new(msgid_out, "msgid_out") }?;
        with_error(error, |details| optional_string(out, details.msgid.as_deref(), "msgid"))
    })
}

/// The AA server's reason (e.g. "USER_NOT_FOUND"); AA_STATUS_NOT_AVAILABLE when there is none.
/// The caller owns `*reason_out` and frees it with aa_string_free.
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `reason_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_reason(error: *const aa_error, reason_out: *mut *mut c_char) -> aa_status {
    guard_status(|| {
        // SAFETY: the caller's contract covers reason_out.
        let out = unsafe { Out::new(reason_out, "reason_out") }?;
        with_error(error, |details| optional_string(out, details.reason.as_deref(), "reason"))
    })
}

/// The security key's own error code behind an AA_STATUS_DEVICE_ERROR (or a device-caused
/// AA_STATUS_NO_MATCHING_KEY): `*kind_out` tells the family (an aa_device_code_kind value) and
/// `*code_out` the value. AA_STATUS_NOT_AVAILABLE when the failure carries no device code (for
/// example a key that was unplugged, or any failure that did not come from a key).
///
/// # Safety
/// `error` is NULL or a pointer received from this library; `kind_out` and `code_out` are NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn aa_error_device_code(
    error: *const aa_error,
    kind_out: *mut aa_device_code_kind,
    code_out: *mut u32,
) -> aa_status {
    guard_status(|| {
        // SAFETY: the caller's contract covers kind_out and code_out.
        let (kind_out, code_out) =
            unsafe { (Out::new(kind_out, "kind_out")?, Out::new(code_out, "code_out")?) };
        with_error(error, |details| {
            let (kind, code) = match details.device_code {
                Some(DeviceCode::Ctaphid(code)) => (aa_device_code_kind::CtaphidError, u32::from(code)),
                Some(DeviceCode::StatusWord(sw)) => (aa_device_code_kind::Iso7816Status, u32::from(sw)),
                Some(DeviceCode::Ctap2(code)) => (aa_device_code_kind::Ctap2Status, u32::from(code)),
                None => return Err(FfiError::new(aa_status::NotAvailable, "the error has no device code")),
            };
            kind_out.write(kind);
            code_out.write(code);
            Ok(())
        })
    })
}

/// Frees an error. NULL is ignored; a freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// `error` is NULL or a pointer received from this library (it is never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_error_free(error: *mut aa_error) -> aa_status {
    guard_status(|| {
        if error.is_null() {
            return Ok(());
        }
        ERRORS.remove(from_ptr(error), "error").map(drop)
    })
}
