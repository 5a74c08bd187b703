//! Arguments from C: bounded, validated string inputs and out-parameters that are written only
//! on success. Also the library-owned strings handed to C and their single free function.

use std::collections::BTreeSet;
use std::ffi::{c_char, CString};
use std::sync::Mutex;

use super::boundary::{guard_status, FfiError, FfiResult};
use super::status::aa_status;
use crate::Secret;

/// The longest string argument the library accepts, in bytes (without the terminating NUL).
pub const AA_LOGON_MAX_ARGUMENT_LEN: usize = 65536;

/// Reads a NUL-terminated UTF-8 string argument. The scan stops at the length limit, so an
/// unterminated buffer is reported instead of read without end.
pub(crate) fn str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(FfiError::new(aa_status::NullArgument, format!("{name} is NULL")));
    }
    let mut len = 0usize;
    loop {
        // SAFETY: the caller passes a NUL-terminated string; we read byte by byte up to its NUL
        // and never past AA_LOGON_MAX_ARGUMENT_LEN + 1 bytes.
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
    // which the caller keeps alive for the duration of the call.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map_err(|e| FfiError::new(aa_status::InvalidUtf8, format!("{name} is not valid UTF-8: {e}")))
}

/// A non-empty string argument.
pub(crate) fn non_empty_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    let value = str_arg(ptr, name)?;
    if value.is_empty() {
        return Err(FfiError::new(aa_status::InvalidArgument, format!("{name} is empty")));
    }
    Ok(value)
}

/// A secret argument, copied once into zeroizing storage. The caller's buffer stays theirs.
pub(crate) fn secret_arg(ptr: *const c_char, name: &str) -> FfiResult<Secret> {
    str_arg(ptr, name).map(|s| Secret::new(s.to_owned()))
}

/// A checked out-parameter: NULL is rejected up front, the value is written only on success.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub(crate) fn new(ptr: *mut T, name: &str) -> FfiResult<Self> {
        if ptr.is_null() {
            return Err(FfiError::new(aa_status::NullArgument, format!("{name} is NULL")));
        }
        Ok(Out(ptr))
    }

    pub(crate) fn write(self, value: T) {
        // SAFETY: the pointer was checked for NULL in `new`; the caller guarantees it points to
        // writable storage for a `T` for the duration of the call.
        unsafe { self.0.write(value) }
    }
}

/// Addresses of strings this library handed out and that are not freed yet.
static LIVE_STRINGS: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

fn live_strings() -> std::sync::MutexGuard<'static, BTreeSet<usize>> {
    LIVE_STRINGS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Turns `value` into a library-owned C string for an out-parameter.
pub(crate) fn new_c_string(value: &str, what: &str) -> FfiResult<*mut c_char> {
    let c_string = CString::new(value).map_err(|_| {
        FfiError::new(aa_status::MalformedServerData, format!("{what} contains a NUL character"))
    })?;
    let raw = c_string.into_raw();
    live_strings().insert(raw.addr());
    Ok(raw)
}

/// Writes `value` as a new library-owned string to a `char **` out-parameter.
pub(crate) fn write_string(out: Out<*mut c_char>, value: &str, what: &str) -> FfiResult {
    out.write(new_c_string(value, what)?);
    Ok(())
}

/// Frees a string returned by this library through a `char **` out-parameter.
///
/// NULL is accepted and ignored. Returns `AA_STATUS_INVALID_HANDLE` (and frees nothing) for a
/// pointer this library did not hand out or that was already freed.
#[no_mangle]
pub extern "C" fn aa_string_free(string: *mut c_char) -> aa_status {
    guard_status(|| free_library_string(string))
}

fn free_library_string(string: *mut c_char) -> FfiResult {
    if string.is_null() {
        return Ok(());
    }
    if !live_strings().remove(&string.addr()) {
        return Err(FfiError::new(
            aa_status::InvalidHandle,
            "string was not returned by aa-logon or was already freed",
        ));
    }
    // SAFETY: the address was produced by CString::into_raw in new_c_string and was still in the
    // live set, so this is its one and only reclamation.
    drop(unsafe { CString::from_raw(string) });
    Ok(())
}

/// Number of library strings not yet freed (leak checks in tests).
pub(crate) fn live_string_count() -> usize {
    live_strings().len()
}

/// For Rust programs that drive the C API itself (the CLI's demo, tests): copies a string this
/// library returned through a `char **` out-parameter and frees it. Sound for any pointer:
/// anything the library did not hand out (or already freed) gives `None` and is not touched.
pub fn take_string(string: *mut c_char) -> Option<String> {
    if string.is_null() || !live_strings().contains(&string.addr()) {
        return None;
    }
    let copy = copy_live_string(string);
    let freed = free_library_string(string);
    debug_assert!(freed.is_ok());
    Some(copy)
}

/// Copies a string known to be in the live set.
fn copy_live_string(string: *mut c_char) -> String {
    // SAFETY: the caller checked that the address is a live string made by new_c_string
    // (CString::into_raw), a valid NUL-terminated allocation until it is freed.
    unsafe { std::ffi::CStr::from_ptr(string) }.to_string_lossy().into_owned()
}

/// For Rust programs that drive the C API: the text of a static string returned by
/// aa_status_str, aa_log_level_str or aa_version.
pub fn static_str(string: *const c_char) -> &'static str {
    [aa_status_str_table(), super::log::level_names(), &[super::version::version_cstr()]]
        .into_iter()
        .flatten()
        .find(|s| s.as_ptr() == string)
        .and_then(|s| s.to_str().ok())
        .unwrap_or("")
}

fn aa_status_str_table() -> &'static [&'static std::ffi::CStr] {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Vec<&'static std::ffi::CStr>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<_> = aa_status::ALL.iter().map(|s| s.description()).collect();
        table.push(c"unknown status");
        table
    })
}
