//! Arguments from C: bounded, validated string inputs and out-parameters written only on
//! success. Every function taking a raw pointer is `unsafe`: its contract is the export's.

use std::ffi::c_char;

use aa_logon::Secret;

use super::result::{FfiError, FfiResult};
use super::status::aa_status;

/// The longest string argument the library accepts, in bytes (without the terminating NUL).
pub const AA_LOGON_MAX_ARGUMENT_LEN: usize = 65536;

/// Reads a NUL-terminated UTF-8 string argument. The scan stops at the length limit, so an
/// unterminated buffer is reported instead of read without end.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string (or at least AA_LOGON_MAX_ARGUMENT_LEN + 1
/// readable bytes) that stays valid and unchanged for the lifetime `'a` the caller picks.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::new(aa_status::NullArgument, format!("{name} is NULL")));
    }
    let mut len = 0usize;
    loop {
        // SAFETY: by this function's contract the bytes up to the NUL (or the limit) are readable.
        let byte = unsafe { *ptr.add(len) };
        if byte == 0 {
            break;
        }
        len += 1;
        if len > AA_LOGON_MAX_ARGUMENT_LEN {
            return Err(FfiError::new(
                aa_status::ArgumentTooLong,
                format!("{name} is longer than {AA_LOGON_MAX_ARGUMENT_LEN} bytes"),
            ));
        }
    }
    // SAFETY: the `len` bytes before the NUL were just read and belong to the caller's string,
    // which stays valid for 'a by this function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map_err(|e| FfiError::new(aa_status::InvalidUtf8, format!("{name} is not valid UTF-8: {e}")))
}

/// A non-empty string argument.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn non_empty_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: same contract as ours.
    let value = unsafe { str_arg(ptr, name) }?;
    if value.is_empty() {
        return Err(FfiError::new(aa_status::InvalidArgument, format!("{name} is empty")));
    }
    Ok(value)
}

/// An optional string argument: NULL gives `None`.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn optional_str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: same contract as ours.
    unsafe { str_arg(ptr, name) }.map(Some)
}

/// A secret argument, copied once into zeroizing storage. The caller's buffer stays theirs.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn secret_arg(ptr: *const c_char, name: &str) -> FfiResult<Secret> {
    // SAFETY: same contract as ours.
    unsafe { str_arg(ptr, name) }.map(|s| Secret::new(s.to_owned()))
}

/// A checked out-parameter: NULL is rejected up front, the value is written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// # Safety
    /// `ptr` is NULL or points to storage for a `T` that is writable for the rest of the call.
    pub(crate) unsafe fn new(ptr: *mut T, name: &str) -> FfiResult<Self> {
        if ptr.is_null() {
            return Err(FfiError::new(aa_status::NullArgument, format!("{name} is NULL")));
        }
        Ok(Out(ptr))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: checked for NULL in `new`, whose contract makes it writable for the call.
        unsafe { self.0.write(value) }
    }
}
