//! Safe Rust wrappers over the exported C functions (the same symbols a C program links), so the
//! demo drives the real C ABI: handles, out-parameters, `aa_error`, library-owned strings — of
//! libaa_logon (`aa_logon_ffi`, imported as `c`) and of libaa_logon_testkit (`aa_logon_testkit`,
//! imported as `tk`).
//!
//! Every C call of the demo goes through [`c_call!`], whose one `unsafe` block is audited here:
//! its arguments can only be [`CArg`] values, each valid for the whole call by construction (a
//! live handle in an [`Owned`] guard, a `CString`, a reference, a plain number, the demo's prompt
//! callback, the testkit's layout-checked `aa_hid_io`). The helpers ([`call`], [`string`],
//! [`handle`], [`testkit_call`], [`testkit_handle`], [`hid_io`]) add the out-parameters, turn
//! failures into [`CallError`]s and put handles into RAII guards.

use std::ffi::{c_char, c_void, CString};
use std::marker::PhantomData;
use std::mem::{align_of, offset_of, size_of};
use std::ptr;

use aa_logon_ffi::{self as c, aa_error, aa_status};
use aa_logon_testkit as tk;

use crate::exit::{Exit, Failure};

/// A failed C call with everything its `aa_error` (or the testkit's last error) told.
#[derive(Debug)]
pub struct CallError {
    pub call: &'static str,
    pub status: aa_status,
    pub message: String,
    pub http_status: Option<u16>,
    pub msgid: Option<String>,
    pub reason: Option<String>,
}

pub type CallResult<T = ()> = Result<T, CallError>;

impl CallError {
    fn new(call: &'static str, status: aa_status, message: String) -> CallError {
        CallError { call, status, message, http_status: None, msgid: None, reason: None }
    }
}

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
    CString::new(value).map_err(|_| {
        CallError::new(call, aa_status::InvalidArgument, format!("{value:?} contains a NUL byte"))
    })
}

// ---------------------------------------------------------------------------------------------
// Arguments that are valid by construction, and the one unsafe call site.

/// One C argument, valid while the borrow `'a` it was made from lasts: the borrow checker
/// rejects a use after that (e.g. the pointer of a temporary `CString`).
pub struct Arg<'a, T> {
    raw: T,
    borrow: PhantomData<&'a ()>,
}

impl<T: Copy> Arg<'_, T> {
    fn new(raw: T) -> Self {
        Arg { raw, borrow: PhantomData }
    }

    /// The value handed to the C function.
    pub fn raw(&self) -> T {
        self.raw
    }
}

/// What [`c_call!`] accepts as an argument. Each implementation yields only values that satisfy
/// the `# Safety` contracts of the C functions (pointers NULL or valid for their use, strings
/// NUL-terminated, handles as received from the library) for the lifetime `'a`.
pub trait CArg<'a> {
    type Raw: Copy;
    fn into_c(self) -> Arg<'a, Self::Raw>;
}

/// A NUL-terminated string that lives as long as the borrow.
impl<'a> CArg<'a> for &'a CString {
    type Raw = *const c_char;
    fn into_c(self) -> Arg<'a, *const c_char> {
        Arg::new(self.as_ptr())
    }
}

/// A handle received from the library and not freed yet (its guard is borrowed).
impl<'a, T, S: Status> CArg<'a> for &'a Owned<T, S> {
    type Raw = *mut T;
    fn into_c(self) -> Arg<'a, *mut T> {
        Arg::new(self.ptr)
    }
}

/// An out-parameter: writable (and readable) for as long as the borrow; the C signature fixes
/// the type written.
impl<'a, T> CArg<'a> for &'a mut T {
    type Raw = *mut T;
    fn into_c(self) -> Arg<'a, *mut T> {
        Arg::new(ptr::from_mut(self))
    }
}

/// The testkit's io, passed to libaa_logon as the layout-identical `aa_logon_ffi::aa_hid_io`.
impl<'a> CArg<'a> for &'a HidIo {
    type Raw = *const c::aa_hid_io;
    fn into_c(self) -> Arg<'a, *const c::aa_hid_io> {
        // The cast is sound to dereference: the two definitions mirror one C struct field for
        // field (checked at compile time below and by testkit/capi's layout test).
        Arg::new((&self.io as *const tk::aa_hid_io).cast::<c::aa_hid_io>())
    }
}

/// A prompt callback: a Rust `extern "C" fn`, called only during the call (a panic inside it
/// aborts instead of unwinding into the library); the demo passes [`NoUserdata`] with it.
impl CArg<'static> for c::aa_prompt_callback {
    type Raw = c::aa_prompt_callback;
    fn into_c(self) -> Arg<'static, c::aa_prompt_callback> {
        Arg::new(self)
    }
}

/// No callback userdata: NULL.
pub struct NoUserdata;

impl CArg<'static> for NoUserdata {
    type Raw = *mut c_void;
    fn into_c(self) -> Arg<'static, *mut c_void> {
        Arg::new(ptr::null_mut())
    }
}

macro_rules! plain_args {
    ($($ty:ty),*) => {
        $(impl CArg<'static> for $ty {
            type Raw = $ty;
            fn into_c(self) -> Arg<'static, $ty> {
                Arg::new(self)
            }
        })*
    };
}

plain_args!(u32, usize);

/// What a C call returned, and which function it was.
pub struct Returned<S> {
    pub call: &'static str,
    pub status: S,
}

/// Calls `c::function(args…)` (libaa_logon) or `tk::function(args…)` (libaa_logon_testkit): the
/// arguments are evaluated outside the unsafe block, each through [`CArg`], so only values that
/// are valid for the whole call reach the function. Gives a [`Returned`].
macro_rules! c_call {
    ($module:ident :: $function:ident ( $($arg:expr),* $(,)? )) => {
        $crate::demo::capi::c_call!(@bind $module::$function, []; $($arg),*)
    };
    // Binds the arguments one by one (each `value` is a distinct, hygienic variable).
    (@bind $module:ident :: $function:ident, [$($bound:ident)*]; $arg:expr $(, $rest:expr)*) => {{
        let value = $crate::demo::capi::CArg::into_c($arg);
        $crate::demo::capi::c_call!(@bind $module::$function, [$($bound)* value]; $($rest),*)
    }};
    (@bind $module:ident :: $function:ident, [$($bound:ident)*]; ) => {
        $crate::demo::capi::Returned {
            call: stringify!($function),
            // SAFETY: every argument came through CArg, so each one is a live library handle
            // (borrowed from its Owned guard; handles are validated, never dereferenced, by the
            // libraries), a NUL-terminated CString, a writable out-parameter of the C type, the
            // layout-identical testkit io, a plain number, the demo's prompt callback or NULL
            // userdata, all valid until the call returns: the functions' `# Safety` contracts
            // ask no more.
            status: unsafe { $module::$function($($bound.raw()),*) },
        }
    };
}

pub(crate) use c_call;

// The testkit mirrors libaa_logon's aa_hid_io (it cannot link libaa_logon to share the type).
const _: () = {
    assert!(size_of::<tk::aa_hid_io>() == size_of::<c::aa_hid_io>());
    assert!(align_of::<tk::aa_hid_io>() == align_of::<c::aa_hid_io>());
    assert!(offset_of!(tk::aa_hid_io, userdata) == offset_of!(c::aa_hid_io, userdata));
    assert!(offset_of!(tk::aa_hid_io, enumerate) == offset_of!(c::aa_hid_io, enumerate));
    assert!(offset_of!(tk::aa_hid_io, open) == offset_of!(c::aa_hid_io, open));
    assert!(offset_of!(tk::aa_hid_io, close) == offset_of!(c::aa_hid_io, close));
    assert!(offset_of!(tk::aa_hid_io, write) == offset_of!(c::aa_hid_io, write));
    assert!(offset_of!(tk::aa_hid_io, read) == offset_of!(c::aa_hid_io, read));
    assert!(offset_of!(tk::aa_hid_io, release) == offset_of!(c::aa_hid_io, release));
};

// ---------------------------------------------------------------------------------------------
// libaa_logon: status + aa_error.

/// Turns a status plus its `aa_error` into a result, freeing the error.
fn check(returned: Returned<aa_status>, error: *mut aa_error) -> CallResult {
    let error = ErrorGuard(error);
    if returned.status == aa_status::Ok {
        return Ok(());
    }
    let message = error_string(&error, |error, out| c_call!(c::aa_error_message(error, out)))
        .unwrap_or_else(|| String::from("(no error details)"));
    let mut http_status = 0u16;
    let http_status = (c_call!(c::aa_error_http_status(&error, &mut http_status)).status == aa_status::Ok)
        .then_some(http_status);
    let msgid = error_string(&error, |error, out| c_call!(c::aa_error_msgid(error, out)));
    let reason = error_string(&error, |error, out| c_call!(c::aa_error_reason(error, out)));
    Err(CallError { call: returned.call, status: returned.status, message, http_status, msgid, reason })
}

/// An `aa_error` (or NULL), freed when dropped.
struct ErrorGuard(*mut aa_error);

impl<'a> CArg<'a> for &'a ErrorGuard {
    type Raw = *mut aa_error;
    fn into_c(self) -> Arg<'a, *mut aa_error> {
        Arg::new(self.0)
    }
}

impl Drop for ErrorGuard {
    fn drop(&mut self) {
        let _ = c_call!(c::aa_error_free(&*self));
    }
}

fn error_string(
    error: &ErrorGuard,
    read: impl FnOnce(&ErrorGuard, &mut *mut c_char) -> Returned<aa_status>,
) -> Option<String> {
    let mut value = ptr::null_mut();
    (read(error, &mut value).status == aa_status::Ok).then(|| c::take_string(value)).flatten()
}

/// Runs a call whose only output is its status: `call(|error| c_call!(c::f(…, error)))`.
pub fn call(run: impl FnOnce(&mut *mut aa_error) -> Returned<aa_status>) -> CallResult {
    let mut error = ptr::null_mut();
    let returned = run(&mut error);
    check(returned, error)
}

/// Runs a call that returns a library-owned string, copies it and frees it.
pub fn string(
    run: impl FnOnce(&mut *mut c_char, &mut *mut aa_error) -> Returned<aa_status>,
) -> CallResult<String> {
    let mut value = ptr::null_mut();
    let mut error = ptr::null_mut();
    let returned = run(&mut value, &mut error);
    // take_string is sound for any pointer; it also frees a string returned alongside a failure.
    let value = c::take_string(value);
    check(returned, error)?;
    Ok(value.unwrap_or_default())
}

/// Runs a call that returns a handle, which `free` frees when the guard is dropped.
pub fn handle<T>(
    free: unsafe extern "C" fn(*mut T) -> aa_status,
    run: impl FnOnce(&mut *mut T, &mut *mut aa_error) -> Returned<aa_status>,
) -> CallResult<Owned<T>> {
    let mut value = ptr::null_mut();
    let mut error = ptr::null_mut();
    let returned = run(&mut value, &mut error);
    check(returned, error)?;
    Ok(Owned { ptr: value, free })
}

/// Handles and strings of libaa_logon that are still allocated.
pub fn live_objects() -> usize {
    let mut count = 0usize;
    match c_call!(c::aa_live_objects(&mut count)).status {
        aa_status::Ok => count,
        _ => usize::MAX,
    }
}

// ---------------------------------------------------------------------------------------------
// libaa_logon_testkit: u32 statuses numbered like aa_status, message in aa_testkit_last_error.

/// The message of this thread's last failed testkit call.
fn testkit_last_error() -> String {
    // SAFETY: a NULL buffer of length 0 asks only for the message's length.
    let len = unsafe { tk::aa_testkit_last_error(ptr::null_mut(), 0) };
    let mut buffer = vec![0u8; len + 1];
    // SAFETY: the buffer is writable for its length and outlives the call.
    let written = unsafe { tk::aa_testkit_last_error(buffer.as_mut_ptr().cast(), buffer.len()) };
    String::from_utf8_lossy(&buffer[..written.min(len)]).into_owned()
}

fn testkit_check(returned: Returned<u32>) -> CallResult {
    if returned.status == aa_status::Ok as u32 {
        return Ok(());
    }
    let status = aa_status::try_from(returned.status).unwrap_or(aa_status::Panic);
    Err(CallError::new(returned.call, status, testkit_last_error()))
}

/// Runs a testkit call whose only output is its status.
pub fn testkit_call(run: impl FnOnce() -> Returned<u32>) -> CallResult {
    testkit_check(run())
}

/// Runs a testkit call that returns a handle, which `free` frees when the guard is dropped.
pub fn testkit_handle<T>(
    free: unsafe extern "C" fn(*mut T) -> u32,
    run: impl FnOnce(&mut *mut T) -> Returned<u32>,
) -> CallResult<Owned<T, u32>> {
    let mut value = ptr::null_mut();
    testkit_check(run(&mut value))?;
    Ok(Owned { ptr: value, free })
}

/// Runs aa_virtual_devices_hid_io: the io holds a reference to the device set until libaa_logon
/// releases it (see [`HidIo`]).
pub fn hid_io(run: impl FnOnce(&mut tk::aa_hid_io) -> Returned<u32>) -> CallResult<HidIo> {
    let mut io = tk::aa_hid_io {
        userdata: ptr::null_mut(),
        enumerate: None,
        open: None,
        close: None,
        write: None,
        read: None,
        release: None,
    };
    testkit_check(run(&mut io))?;
    Ok(HidIo { io, handed_over: false })
}

/// Testkit handles (keys and device sets) not yet freed.
pub fn testkit_live_objects() -> usize {
    let mut count = 0usize;
    match c_call!(tk::aa_testkit_live_objects(&mut count)).status {
        0 => count,
        _ => usize::MAX,
    }
}

/// An `aa_hid_io` filled by the testkit. Until [`HidIo::handed_over`] says libaa_logon took it
/// over (aa_client_set_hid_io succeeded; libaa_logon then calls its release), dropping it calls
/// its release function here, so a failed hand-over leaks nothing.
pub struct HidIo {
    io: tk::aa_hid_io,
    handed_over: bool,
}

impl HidIo {
    /// libaa_logon owns the io now and will release it.
    pub fn handed_over(mut self) {
        self.handed_over = true;
    }
}

impl Drop for HidIo {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        if let Some(release) = self.io.release {
            // SAFETY: release and userdata were filled in together by aa_virtual_devices_hid_io
            // and nobody else got the io, so this is its one release.
            unsafe { release(self.io.userdata) }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handles.

/// A status a free function returns: libaa_logon's `aa_status` or the testkit's `u32` (same
/// numbers).
pub trait Status: Copy {
    fn code(self) -> u32;
}

impl Status for aa_status {
    fn code(self) -> u32 {
        self as u32
    }
}

impl Status for u32 {
    fn code(self) -> u32 {
        self
    }
}

/// A handle received from libaa_logon (`S` = `aa_status`) or the testkit (`S` = `u32`), freed
/// with its matching `*_free` function when dropped. Made only by [`handle`] and
/// [`testkit_handle`] from a successful call; its pointer reaches C only through [`CArg`].
pub struct Owned<T, S: Status = aa_status> {
    ptr: *mut T,
    free: unsafe extern "C" fn(*mut T) -> S,
}

impl<T, S: Status> Drop for Owned<T, S> {
    fn drop(&mut self) {
        // SAFETY: ptr was received from the library that `free` belongs to (both are set together
        // from one successful call) and this is its one free; handles are validated, never
        // dereferenced, by both libraries.
        let status = unsafe { (self.free)(self.ptr) }.code();
        if status != aa_status::Ok as u32 {
            log::warn!("freeing a handle failed: {}", c::static_str(c::aa_status_str(status)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_carries_the_aa_error_message() {
        let empty = arg("aa_client_options_new", "").unwrap();
        let id = arg("aa_client_options_new", "id").unwrap();
        let result = handle(c::aa_client_options_free, |out, error| {
            c_call!(c::aa_client_options_new(&empty, &id, &id, out, error))
        });
        let error = result.err().expect("an empty URL is refused");
        assert_eq!(error.call, "aa_client_options_new");
        assert_ne!(error.status, aa_status::Ok);
        assert!(!error.message.is_empty() && error.message != "(no error details)", "{}", error.message);
    }

    #[test]
    fn a_failed_testkit_call_carries_the_testkit_message() {
        let seed = arg("aa_virtual_key_new", "capi-test").unwrap();
        let key = testkit_handle(tk::aa_virtual_key_free, |out| c_call!(tk::aa_virtual_key_new(&seed, out)))
            .expect("aa_virtual_key_new failed");
        let devices =
            testkit_handle(tk::aa_virtual_devices_free, |out| c_call!(tk::aa_virtual_devices_new(out)))
                .expect("aa_virtual_devices_new failed");
        assert!(testkit_call(|| c_call!(tk::aa_virtual_devices_plug(&devices, &key))).is_ok());
        let twice = testkit_call(|| c_call!(tk::aa_virtual_devices_plug(&devices, &key)));
        let error = twice.expect_err("a key cannot be plugged in twice");
        assert_eq!(error.call, "aa_virtual_devices_plug");
        assert_eq!(error.status, aa_status::InvalidState);
        assert!(!error.message.is_empty());
        // An io that libaa_logon never took over is released by its guard.
        let io = hid_io(|io| c_call!(tk::aa_virtual_devices_hid_io(&devices, io)))
            .expect("aa_virtual_devices_hid_io failed");
        assert!(io.io.release.is_some());
        drop(io);
    }
}
