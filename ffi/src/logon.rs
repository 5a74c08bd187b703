//! `aa_logon`: one authentication process on the AA server, from POST /logon to its verdict.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use ::aa_logon::aa::{
    answers_from_json, ApprovalPromptCallback, DEFAULT_APPROVAL_TIMEOUT, DEFAULT_POLL_INTERVAL,
};
use ::aa_logon::fido::{PinCallback, PinRequest, Prompt, PromptCallback, SignOptions, SignResponse};
use ::aa_logon::{
    ApprovalOptions, ApprovalPrompt, CancelToken, Logon, LogonResponse, LogonStatus, ResponseJson, Secret,
};
use zeroize::Zeroizing;

use super::args::{non_empty_arg, secret_arg, str_arg, Out};
use super::boundary::{aa_error, guard_call, guard_status};
use super::client::{aa_client, client_handle, ClientHandle};
use super::enums::u32_enum;
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::result::{not_an_enum, FfiError, FfiResult};
use super::status::aa_status;
use super::strings::write_string;

/// One logon process. Use it from one thread at a time; only aa_logon_cancel may be called
/// from another thread while a call runs (other concurrent calls fail with
/// AA_STATUS_HANDLE_BUSY). Free with aa_logon_free.
pub struct aa_logon {
    _private: [u8; 0],
}

/// The server's verdict after the last exchange (the `status` field of the AA answer).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_server_status {
    /// MORE_DATA: the server wants (more) input for the current method.
    MoreData = 1,
    /// NEXT: the current method passed; call aa_logon_next with the chain's next method.
    Next = 2,
    /// OK: the chain is complete; aa_logon_login_session_id gives the login session.
    Ok = 3,
    /// FAILED: the attempt was rejected; see aa_logon_msgid and aa_logon_reason.
    Failed = 4,
    /// STOP: the server stopped the logon (e.g. a rejected push).
    Stop = 5,
    /// A status this library does not know; aa_logon_response_json has the raw answer. The call
    /// that received it failed with AA_STATUS_MALFORMED_SERVER_DATA: it is never success.
    Unknown = 6,
}

/// What the user should be told while aa_logon_sign_with_device or aa_logon_wait_for_approval
/// waits. A callback should ignore values it does not know (later versions may add some).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_prompt {
    /// No security key is present: ask the user to insert one.
    InsertKey = 1,
    /// A key that owns a key handle waits for a touch: ask the user to touch it.
    TouchKey = 2,
    /// The key was touched; the signature is being sent to the server.
    Touched = 3,
    /// SMARTPHONE:1: a push was sent; ask the user to approve it in the smartphone app.
    ApproveOnPhone = 4,
    /// VOICE:1: the server is calling the user's phone; ask the user to answer it.
    AnswerCall = 5,
}

/// Prompt callback for aa_logon_sign_with_device and aa_logon_wait_for_approval. Called on the
/// thread that called the function, during that call; `userdata` is the pointer given to it. It
/// must return promptly and must not unwind (throw) into the library: doing so aborts the process.
pub type aa_prompt_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, prompt: aa_prompt)>;

/// PIN callback of aa_sign_options: asked for the security key's PIN, only when the request
/// needs user verification, the key has a PIN and no built-in user verification. Write the PIN
/// as NUL-terminated UTF-8 into `pin_buffer` (`buffer_len` bytes, room for a PIN of up to 63
/// bytes and its NUL; the library wipes the buffer after use and never logs the PIN) and return
/// AA_STATUS_OK. `retries_left` is how many wrong PINs the key still accepts before it blocks the
/// PIN. Any other return value gives no PIN: AA_STATUS_CANCELLED cancels the sign (it fails with
/// AA_STATUS_CANCELLED), other values make it fail with AA_STATUS_PIN_REQUIRED. Called on the
/// thread running the sign, during that call; it may block while the user types, and must not
/// call into the same logon or unwind (throw) into the library.
pub type aa_pin_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        retries_left: u32,
        pin_buffer: *mut c_char,
        buffer_len: usize,
    ) -> aa_status,
>;

/// How aa_logon_sign_with_device_ex signs. Zero-initialise it (`aa_sign_options o = {0};`) and
/// set what you need: every field may be 0/NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct aa_sign_options {
    /// Longest wait for a key and a touch (and the PIN), in milliseconds; 0 = 30 s.
    pub timeout_ms: u32,
    /// Told what the user should do (may be NULL).
    pub prompt: aa_prompt_callback,
    /// Asked for the key's PIN (may be NULL: a sign that needs the PIN then fails with
    /// AA_STATUS_PIN_REQUIRED).
    pub pin: aa_pin_callback,
    /// Passed as the first argument of both callbacks.
    pub userdata: *mut c_void,
}

/// Room for the longest PIN a key takes (63 bytes of UTF-8) and its NUL.
const PIN_BUFFER_LEN: usize = 64;

pub(crate) struct LogonHandle {
    logon: Mutex<Logon>,
    cancel: CancelToken,
    client: Arc<ClientHandle>,
}

pub(crate) static LOGONS: Registry<LogonHandle> = Registry::new(HandleKind::Logon);

/// Default for aa_logon_sign_with_device's timeout_ms = 0.
const DEFAULT_SIGN_TIMEOUT: Duration = Duration::from_secs(30);

/// A `uint32_t` of milliseconds where 0 means `default`.
fn millis_or(ms: u32, default: Duration) -> Duration {
    if ms == 0 {
        default
    } else {
        Duration::from_millis(u64::from(ms))
    }
}

fn logon_handle(logon: *const aa_logon) -> FfiResult<Arc<LogonHandle>> {
    LOGONS.get(from_ptr(logon), "logon")
}

fn lock(handle: &LogonHandle) -> FfiResult<MutexGuard<'_, Logon>> {
    match handle.logon.try_lock() {
        Ok(guard) => Ok(guard),
        // An earlier call panicked half-way: the logon may be inconsistent, so refuse it.
        Err(TryLockError::Poisoned(_)) => Err(FfiError::new(
            aa_status::Panic,
            "an earlier call on this logon panicked and left it unusable; free it and start a new logon",
        )),
        Err(TryLockError::WouldBlock) => Err(FfiError::new(
            aa_status::HandleBusy,
            "the logon is in use by another thread; only aa_logon_cancel may run concurrently",
        )),
    }
}

/// Runs `action` on the locked logon.
fn with_logon(
    logon: *const aa_logon,
    action: impl FnOnce(&mut Logon, &LogonHandle) -> FfiResult,
) -> FfiResult {
    let handle = logon_handle(logon)?;
    let mut guard = lock(&handle)?;
    action(&mut guard, &handle)
}

/// Writes one string derived from the last server answer to a `char **` out-parameter.
///
/// # Safety
/// `out` is NULL or writable for the duration of the call.
unsafe fn read_string(
    logon: *const aa_logon,
    out: *mut *mut c_char,
    what: &str,
    read: impl FnOnce(&Logon) -> Option<String>,
) -> FfiResult {
    // SAFETY: this function's contract.
    let out = unsafe { Out::new(out, &format!("{what}_out")) }?;
    with_logon(logon, |logon, _| match read(logon) {
        Some(value) => write_string(out, &value, what),
        None => Err(FfiError::new(aa_status::NotAvailable, format!("the logon has no {what} yet"))),
    })
}

/// A core error about an argument the caller passed (its kind is `Config`) is an invalid
/// argument in C; any other error keeps its status.
fn argument_error(error: ::aa_logon::Error) -> FfiError {
    if error.kind() == ::aa_logon::ErrorKind::Config {
        FfiError::new(aa_status::InvalidArgument, error.message())
    } else {
        error.into()
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// Starts a logon for `user_name` (e.g. "JAGUAR\\denis" or a bare name) at `event` (e.g.
/// "Search Card") with the first method `method_id` (e.g. "U2F:1") — POST /api/v1/logon.
/// The client's endpoint session is created or renewed as needed.
/// On success `*logon_out` receives a handle owned by the caller (free with aa_logon_free).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_new(
    client: *const aa_client,
    user_name: *const c_char,
    event: *const c_char,
    method_id: *const c_char,
    logon_out: *mut *mut aa_logon,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let client = client_handle(client)?;
            let user_name = non_empty_arg(user_name, "user_name")?;
            let event = str_arg(event, "event")?;
            let method_id = non_empty_arg(method_id, "method_id")?;
            let out = Out::new(logon_out, "logon_out")?;
            let logon = client.client.start_logon(user_name, event, method_id)?;
            let cancel = logon.cancel_token();
            out.write(to_ptr(LOGONS.insert(LogonHandle { logon: Mutex::new(logon), cancel, client })));
            Ok(())
        })
    }
}

/// Frees a logon (it does not abort it on the server: call aa_logon_abort first if needed).
/// A aa_logon_sign_with_device or aa_logon_wait_for_approval still running on another thread is
/// cancelled and returns AA_STATUS_CANCELLED; the memory is released when it has returned. NULL is ignored; a freed or
/// foreign handle gives AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_free(logon: *mut aa_logon) -> aa_status {
    guard_status(|| {
        if logon.is_null() {
            return Ok(());
        }
        LOGONS.remove(from_ptr(logon), "logon").map(|handle| handle.cancel.cancel())
    })
}

/// Asks the server for the U2F sign request of the current method (which must be U2F:1) —
/// the seed's `do_logon` without a response. `*sign_request_json_out` receives
/// `{"signRequests":[{"version","challenge","keyHandle","appId"},…]}`, owned by the caller
/// (free with aa_string_free). The request is also kept for aa_logon_sign_request_* and
/// aa_logon_sign_with_device. Only a MORE_DATA answer is a challenge: an OK or NEXT answer
/// without a signature fails with AA_STATUS_MALFORMED_SERVER_DATA, FAILED with
/// AA_STATUS_LOGON_FAILED, STOP with AA_STATUS_LOGON_STOPPED. A sign request whose appId is not
/// an https URL of the AA server's host or of a host allowed with
/// aa_client_options_allow_app_id_host fails with AA_STATUS_MALFORMED_SERVER_DATA; no request is
/// kept after any failure.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_gather_sign_request(
    logon: *mut aa_logon,
    sign_request_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let out = Out::new(sign_request_json_out, "sign_request_json_out")?;
            with_logon(logon, |logon, _| {
                let challenge = logon.gather_sign_request()?;
                write_string(
                    out,
                    &super::json::sign_requests(&challenge.sign_requests).to_string(),
                    "sign request",
                )
            })
        })
    }
}

/// Number of entries in the gathered sign request (one per enrolled key of the user).
/// AA_STATUS_NOT_AVAILABLE before aa_logon_gather_sign_request.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_sign_request_count(
    logon: *const aa_logon,
    count_out: *mut usize,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let out = Out::new(count_out, "count_out")?;
            with_logon(logon, |logon, _| {
                let challenge = logon
                    .sign_request()
                    .ok_or_else(|| FfiError::new(aa_status::NotAvailable, "no sign request gathered yet"))?;
                out.write(challenge.sign_requests.len());
                Ok(())
            })
        })
    }
}

/// Which field of a sign request entry aa_logon_sign_request_field reads.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_sign_request_field {
    /// The base64url key handle.
    KeyHandle = 1,
    /// The server's base64url challenge.
    Challenge = 2,
    /// The appId (its SHA-256 is the application parameter).
    AppId = 3,
    /// The U2F version, "U2F_V2".
    Version = 4,
}

u32_enum!(aa_sign_request_field { KeyHandle, Challenge, AppId, Version });

/// Reads `field` (an aa_sign_request_field value) of sign request entry `index`
/// (0 ≤ index < aa_logon_sign_request_count). The caller owns `*value_out` and frees it with
/// aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_sign_request_field(
    logon: *const aa_logon,
    index: usize,
    field: u32,
    value_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let out = Out::new(value_out, "value_out")?;
            let field = aa_sign_request_field::try_from(field)
                .map_err(|value| not_an_enum("field", value, "aa_sign_request_field"))?;
            with_logon(logon, |logon, _| {
                let challenge = logon
                    .sign_request()
                    .ok_or_else(|| FfiError::new(aa_status::NotAvailable, "no sign request gathered yet"))?;
                let request = challenge.sign_requests.get(index).ok_or_else(|| {
                    FfiError::new(
                        aa_status::InvalidArgument,
                        format!(
                            "index {index} is out of range (the sign request has {} entries)",
                            challenge.sign_requests.len()
                        ),
                    )
                })?;
                let value = match field {
                    aa_sign_request_field::KeyHandle => &request.key_handle,
                    aa_sign_request_field::Challenge => &request.challenge,
                    aa_sign_request_field::AppId => &request.app_id,
                    aa_sign_request_field::Version => &request.version,
                };
                write_string(out, value, "sign request field")
            })
        })
    }
}

/// Calls a C prompt callback; only ever invoked on the thread running the sign call.
struct PromptTarget {
    callback: unsafe extern "C" fn(*mut c_void, aa_prompt),
    userdata: *mut c_void,
}

// SAFETY: the target is only used by the sign operation or the approval wait, which run on the
// thread that called aa_logon_sign_with_device / aa_logon_wait_for_approval and end before that
// call returns; the caller vouches for userdata on that thread.
unsafe impl Send for PromptTarget {}
// SAFETY: as above: no other thread ever invokes the callback.
unsafe impl Sync for PromptTarget {}

impl PromptTarget {
    fn show(&self, prompt: Prompt) {
        self.tell(match prompt {
            Prompt::InsertKey => aa_prompt::InsertKey,
            Prompt::TouchKey => aa_prompt::TouchKey,
            Prompt::Touched => aa_prompt::Touched,
        })
    }

    fn show_approval(&self, prompt: ApprovalPrompt) {
        self.tell(match prompt {
            ApprovalPrompt::ApproveOnPhone => aa_prompt::ApproveOnPhone,
            ApprovalPrompt::AnswerCall => aa_prompt::AnswerCall,
        })
    }

    fn tell(&self, prompt: aa_prompt) {
        // SAFETY: the caller supplied this function pointer and userdata for this call; the
        // callback type is `extern "C"`, so an unwinding callback aborts instead of unwinding here.
        unsafe { (self.callback)(self.userdata, prompt) }
    }
}

/// Asks a C PIN callback; only ever invoked on the thread running the sign call.
struct PinTarget {
    callback: unsafe extern "C" fn(*mut c_void, u32, *mut c_char, usize) -> aa_status,
    userdata: *mut c_void,
    cancel: CancelToken,
}

// SAFETY: as PromptTarget: used only by the sign operation, on the calling thread, during the call.
unsafe impl Send for PinTarget {}
// SAFETY: as above.
unsafe impl Sync for PinTarget {}

impl PinTarget {
    fn ask(&self, request: &PinRequest) -> Option<Secret> {
        let mut buffer = Zeroizing::new([0u8; PIN_BUFFER_LEN]);
        // SAFETY: the caller supplied this function pointer and userdata for this call; the
        // buffer is ours and writable for PIN_BUFFER_LEN bytes during the call; the callback type
        // is `extern "C"`, so an unwinding callback aborts instead of unwinding here.
        let status = unsafe {
            (self.callback)(self.userdata, request.retries_left, buffer.as_mut_ptr().cast(), PIN_BUFFER_LEN)
        };
        match status {
            aa_status::Ok => {}
            aa_status::Cancelled => {
                self.cancel.cancel();
                return None;
            }
            _ => return None,
        }
        let Some(end) = buffer.iter().position(|&b| b == 0) else {
            log::warn!("the PIN callback wrote no NUL within {PIN_BUFFER_LEN} bytes; no PIN is used");
            return None;
        };
        match std::str::from_utf8(&buffer[..end]) {
            Ok(pin) => Some(Secret::new(pin.to_owned())),
            Err(_) => {
                log::warn!("the PIN callback wrote a PIN that is not UTF-8; no PIN is used");
                None
            }
        }
    }
}

/// The Rust sign options of a C call: timeout (0 = 30 s), prompt and PIN callbacks with their
/// userdata, the logon's cancel token (a PIN callback answering AA_STATUS_CANCELLED fires it).
fn sign_options(
    timeout_ms: u32,
    prompt: aa_prompt_callback,
    pin: aa_pin_callback,
    userdata: *mut c_void,
    cancel: &CancelToken,
) -> SignOptions {
    let timeout = millis_or(timeout_ms, DEFAULT_SIGN_TIMEOUT);
    let prompt = prompt.map(|callback| {
        let target = PromptTarget { callback, userdata };
        Arc::new(move |p: Prompt| target.show(p)) as PromptCallback
    });
    let pin = pin.map(|callback| {
        let target = PinTarget { callback, userdata, cancel: cancel.clone() };
        Arc::new(move |request: &PinRequest| target.ask(request)) as PinCallback
    });
    SignOptions { timeout, prompt, cancel: cancel.clone(), pin }
}

/// The seed's whole U2F step in one blocking call: gathers the sign request (unless already
/// gathered), signs it with the first security key that owns a key handle and is touched,
/// forwards the signature, and returns the server's verdict: AA_STATUS_OK only when the server
/// answered OK or NEXT (see aa_logon_server_status); AA_STATUS_LOGON_FAILED when it rejected the
/// signature (FAILED, or MORE_DATA: it did not accept the signature; the logon process may still
/// be alive, so a new gather or aa_logon_abort is possible); AA_STATUS_LOGON_STOPPED for STOP;
/// AA_STATUS_MALFORMED_SERVER_DATA for a status this library does not know (never success). No
/// key is used when the gather fails (see aa_logon_gather_sign_request: a verdict instead of a
/// challenge, or an appId that is not allowed). Waits up to `timeout_ms` (0 = 30 s) for a key and a touch; `prompt` (may be
/// NULL) tells the user what to do. aa_logon_cancel from another thread ends the wait with
/// AA_STATUS_CANCELLED within about 100 ms; the logon stays usable afterwards.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_sign_with_device(
    logon: *mut aa_logon,
    timeout_ms: u32,
    prompt: aa_prompt_callback,
    userdata: *mut c_void,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_logon(logon, |logon, handle| {
                let options = sign_options(timeout_ms, prompt, None, userdata, &handle.cancel);
                let devices = handle.client.devices();
                // The logon consumes a cancellation in the call it ends, so later calls run normally.
                Ok(logon.sign_with_device(devices.as_ref(), &options).map(drop)?)
            })
        })
    }
}

/// aa_logon_sign_with_device with its options in one struct, including the PIN callback: runs
/// the current method's security-key step — U2F:1 (as aa_logon_sign_with_device) or FIDO2:1
/// (request options from the server, a CTAP2 assertion, the assertion posted, the verdict
/// polled) — and returns the server's verdict: AA_STATUS_OK only for OK and NEXT. `options` may be
/// NULL (30 s, no callbacks) and is read only during the call. User verification, when the
/// request needs it: the key's built-in UV first, else its PIN through `options->pin`. Besides
/// the statuses of aa_logon_sign_with_device: AA_STATUS_PIN_INVALID (wrong PIN; the message has
/// the retries left, aa_error_device_code gives CTAP2 0x31), AA_STATUS_PIN_BLOCKED,
/// AA_STATUS_PIN_REQUIRED (the key needs its PIN and none was given) and AA_STATUS_UV_FAILED.
/// aa_logon_cancel from another thread ends a wait for a touch (a CTAP2 key gets CTAPHID_CANCEL);
/// it cannot interrupt a PIN callback, but the sign stops as soon as the callback returns.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), `options` NULL or pointing to a readable
/// aa_sign_options whose callbacks honour their contracts, out-parameters writable for the
/// duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_sign_with_device_ex(
    logon: *mut aa_logon,
    options: *const aa_sign_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let given = if options.is_null() { None } else { Some(*options) }; // read once, here
            with_logon(logon, |logon, handle| {
                let options = match given {
                    Some(o) => sign_options(o.timeout_ms, o.prompt, o.pin, o.userdata, &handle.cancel),
                    None => sign_options(0, None, None, std::ptr::null_mut(), &handle.cancel),
                };
                let devices = handle.client.devices();
                Ok(logon.sign_with_device(devices.as_ref(), &options).map(drop)?)
            })
        })
    }
}

/// Forwards a signResponse produced elsewhere (JSON `{"keyHandle","clientData","signatureData"}`,
/// base64url) and records the server's verdict, as aa_logon_sign_with_device does: AA_STATUS_OK
/// only for OK and NEXT; MORE_DATA gives AA_STATUS_LOGON_FAILED, an unknown status
/// AA_STATUS_MALFORMED_SERVER_DATA.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_forward_sign_response(
    logon: *mut aa_logon,
    sign_response_json: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let json = str_arg(sign_response_json, "sign_response_json")?;
            let response: SignResponse = serde_json::from_str(json).map_err(|e| {
                FfiError::new(
                    aa_status::InvalidArgument,
                    format!("sign_response_json is not a signResponse: {e}"),
                )
            })?;
            with_logon(logon, |logon, _| Ok(logon.forward_sign_response(&response).map(drop)?))
        })
    }
}

/// The last signResponse sent to the server, as JSON `{"keyHandle","clientData","signatureData"}`
/// (base64url); AA_STATUS_NOT_AVAILABLE before one was sent. Carries no secret: it is what the
/// key signed for this one challenge. The caller owns `*sign_response_json_out` and frees it with
/// aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_sign_response_json(
    logon: *const aa_logon,
    sign_response_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, sign_response_json_out, "sign_response", |l| {
                l.last_sign_response().and_then(|r| serde_json::to_string(r).ok())
            })
        })
    }
}

/// Answers the current method with `answer` — a password (PASSWORD:1, LDAP_PASSWORD:1,
/// EMERG_PASSWORD:1, RADIUS:1), a one-time code (TOTP:1, HOTP:1) or the code received by
/// SMS, e-mail or phone call (second step of SMS_OTP:1, EMAIL_OTP:1, VOICE_OTP:1). The library
/// copies the answer and wipes its copy after sending; wipe yours too. Returns AA_STATUS_OK when
/// the server answered OK, NEXT or MORE_DATA — check aa_logon_server_status: MORE_DATA means the
/// server wants another answer for the same method and is no verdict (a RADIUS Access-Challenge:
/// aa_logon_message gives its prompt; answer again); only OK completes the logon.
/// AA_STATUS_LOGON_FAILED when the server rejects the answer (FAILED), AA_STATUS_LOGON_STOPPED
/// for STOP, AA_STATUS_MALFORMED_SERVER_DATA for a status this library does not know (never
/// success).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_answer(
    logon: *mut aa_logon,
    answer: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let answer = secret_arg(answer, "answer")?;
            with_logon(logon, |logon, _| Ok(logon.answer(answer).map(drop)?))
        })
    }
}

/// Sends any `response` object to the current method (do_logon with it): a CARD:1 payload
/// (`{"card_uid":"04a1…","card_cert":""}`), a FINGER:1 capture
/// (`{"capture":{"ISO":"<base64>","captureStatus":"OK"}}`), or the payload of a method this
/// library has no typed call for. `response_json` must be one JSON object
/// (AA_STATUS_INVALID_ARGUMENT otherwise, and nothing is sent; the message never quotes it). It
/// may hold secrets: the library copies it into memory it wipes after sending, never logs it, and
/// sends it as given; wipe yours too. The verdict is judged as aa_logon_answer's (AA_STATUS_OK for
/// OK, NEXT and MORE_DATA; see aa_logon_server_status), except that a response with a
/// `signResponse` member is judged as aa_logon_forward_sign_response's (only OK and NEXT).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_answer_json(
    logon: *mut aa_logon,
    response_json: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let text = secret_arg(response_json, "response_json")?;
            let response = ResponseJson::parse(text).map_err(|e| {
                FfiError::new(aa_status::InvalidArgument, format!("response_json: {}", e.message()))
            })?;
            with_logon(logon, |logon, _| Ok(logon.answer_json(response).map(drop)?))
        })
    }
}

/// SMARTPHONE:1 without the push: sends the code the smartphone app shows offline
/// (`{"totp": code}`). The current method must be SMARTPHONE:1 (AA_STATUS_INVALID_STATE
/// otherwise). The library copies the code and wipes its copy after sending. The verdict is
/// judged as aa_logon_answer's.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_answer_offline_totp(
    logon: *mut aa_logon,
    code: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let code = secret_arg(code, "code")?;
            with_logon(logon, |logon, _| Ok(logon.answer_offline_totp(code).map(drop)?))
        })
    }
}

/// The security questions of SECQUEST:1 as one JSON object of question id → text, e.g.
/// `{"6":"What hue are your shoes?","7":"Who is your hero?"}`: those of the last answer when it
/// carried any, else asked from the server (do_logon without a response). The current method
/// must be SECQUEST:1 (AA_STATUS_INVALID_STATE otherwise). An answer without questions, with
/// questions of the wrong shape, or a verdict instead of questions fails with
/// AA_STATUS_MALFORMED_SERVER_DATA. The caller owns `*questions_json_out` and frees it with
/// aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_questions_json(
    logon: *mut aa_logon,
    questions_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let out = Out::new(questions_json_out, "questions_json_out")?;
            with_logon(logon, |logon, _| {
                let questions = logon.questions()?;
                write_string(out, &serde_json::json!(questions).to_string(), "questions")
            })
        })
    }
}

/// Answers every security question of SECQUEST:1 in one call. `answers_json` is one JSON object
/// of question id → answer text, e.g. `{"6":"blue","7":"Ada"}` (AA_STATUS_INVALID_ARGUMENT
/// otherwise); when the last answer carried the questions, its ids must be exactly theirs
/// (AA_STATUS_INVALID_ARGUMENT naming the ids otherwise; nothing is sent). The answers are secrets: the
/// library reads them straight into memory it wipes after sending and never logs them; wipe your
/// copy too. The verdict is judged as aa_logon_answer's (AA_STATUS_LOGON_FAILED for wrong answers).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_answer_questions_json(
    logon: *mut aa_logon,
    answers_json: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let text = secret_arg(answers_json, "answers_json")?;
            let answers = answers_from_json(text.expose()).map_err(|e| {
                FfiError::new(aa_status::InvalidArgument, format!("answers_json: {}", e.message()))
            })?;
            drop(text);
            with_logon(logon, |logon, _| logon.answer_questions(answers).map(drop).map_err(argument_error))
        })
    }
}

/// Blocks until the verdict of an out-of-band method — SMARTPHONE:1 (a push the user approves in
/// the smartphone app) or VOICE:1 (a phone call) — polling the server (do_logon without a
/// response) every `poll_interval_ms` (0 = 3000 ms; at least 10 ms): the first poll sends the
/// push or starts the call, then `prompt` (may be NULL) is told once AA_PROMPT_APPROVE_ON_PHONE
/// or AA_PROMPT_ANSWER_CALL. Returns AA_STATUS_OK for the verdicts OK and NEXT (see
/// aa_logon_server_status); AA_STATUS_LOGON_STOPPED when the user rejected it (STOP);
/// AA_STATUS_LOGON_FAILED when the server failed it (e.g. its own confirmation timeout);
/// AA_STATUS_TIMEOUT when no verdict came within `timeout_ms` (0 = 120 s; checked between polls;
/// the logon process lives on: wait again or aa_logon_abort); AA_STATUS_CANCELLED when
/// aa_logon_cancel was called from another thread (at once while pausing, else after the poll in
/// flight; the logon stays usable); AA_STATUS_INVALID_STATE when the current method is neither.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_wait_for_approval(
    logon: *mut aa_logon,
    timeout_ms: u32,
    poll_interval_ms: u32,
    prompt: aa_prompt_callback,
    userdata: *mut c_void,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_logon(logon, |logon, handle| {
                let prompt = prompt.map(|callback| {
                    let target = PromptTarget { callback, userdata };
                    Arc::new(move |p: ApprovalPrompt| target.show_approval(p)) as ApprovalPromptCallback
                });
                let options = ApprovalOptions {
                    timeout: millis_or(timeout_ms, DEFAULT_APPROVAL_TIMEOUT),
                    poll_interval: millis_or(poll_interval_ms, DEFAULT_POLL_INTERVAL),
                    prompt,
                    progress: None,
                    cancel: handle.cancel.clone(),
                };
                // The logon consumes a cancellation in the call it ends, so later calls run normally.
                logon.wait_for_approval(&options).map(drop).map_err(argument_error)
            })
        })
    }
}

/// Asks the server to go on without an answer (do_logon with no response): makes SMS_OTP:1,
/// EMAIL_OTP:1 and VOICE_OTP:1 send their code, or polls an out-of-band method once (see
/// aa_logon_wait_for_approval). A status this library does not know fails with
/// AA_STATUS_MALFORMED_SERVER_DATA.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_request_challenge(
    logon: *mut aa_logon,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || with_logon(logon, |logon, _| Ok(logon.request_challenge().map(drop)?)))
    }
}

/// After the server answered NEXT, moves to `method_id`, the chain's next method
/// (POST /logon/{id}/next).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_next(
    logon: *mut aa_logon,
    method_id: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let method_id = non_empty_arg(method_id, "method_id")?;
            with_logon(logon, |logon, _| Ok(logon.next(method_id).map(drop)?))
        })
    }
}

/// Aborts the logon process on the server (DELETE /logon/{id}). The handle must still be freed.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_abort(logon: *mut aa_logon, error_out: *mut *mut aa_error) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe { guard_call(error_out, || with_logon(logon, |logon, _| Ok(logon.abort()?))) }
}

/// Cancels a running (or the next) aa_logon_sign_with_device or aa_logon_wait_for_approval of
/// this logon. Safe to call from any thread at any time, including while another thread is
/// inside one of them.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_cancel(logon: *const aa_logon) -> aa_status {
    guard_status(|| {
        logon_handle(logon)?.cancel.cancel();
        Ok(())
    })
}

/// The server's verdict after the last exchange.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_server_status(
    logon: *const aa_logon,
    status_out: *mut aa_server_status,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let out = Out::new(status_out, "status_out")?;
            with_logon(logon, |logon, _| {
                out.write(match logon.response().status {
                    LogonStatus::MoreData => aa_server_status::MoreData,
                    LogonStatus::Next => aa_server_status::Next,
                    LogonStatus::Ok => aa_server_status::Ok,
                    LogonStatus::Failed => aa_server_status::Failed,
                    LogonStatus::Stop => aa_server_status::Stop,
                    LogonStatus::Other(_) => aa_server_status::Unknown,
                });
                Ok(())
            })
        })
    }
}

/// The server's message of the last answer (`msg`, e.g. "Welcome"). The caller owns
/// `*message_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_message(
    logon: *const aa_logon,
    message_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, message_out, "message", |l| Some(l.response().msg.clone()))
        })
    }
}

/// The server's reason of the last answer (e.g. "PASSWORD_WRONG"); AA_STATUS_NOT_AVAILABLE when
/// empty. The caller owns `*reason_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_reason(
    logon: *const aa_logon,
    reason_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, reason_out, "reason", |l| non_empty(&l.response().reason))
        })
    }
}

/// The server's message id of the last answer (e.g. "AUCORE-2007"); AA_STATUS_NOT_AVAILABLE when
/// empty. The caller owns `*msgid_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_msgid(
    logon: *const aa_logon,
    msgid_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || read_string(logon, msgid_out, "msgid", |l| non_empty(&l.response().msgid)))
    }
}

/// The method the server expects now (e.g. "U2F:1"). The caller owns `*method_out` and frees it
/// with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_current_method(
    logon: *const aa_logon,
    method_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, method_out, "current_method", |l| non_empty(&l.response().current_method))
        })
    }
}

/// The logon process id. The caller owns `*process_id_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_process_id(
    logon: *const aa_logon,
    process_id_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, process_id_out, "process_id", |l| Some(l.process_id().to_owned()))
        })
    }
}

/// The base URL of the server that answered this logon's last call: with failover URLs, the
/// server the logon continues on. The caller owns `*url_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_server(
    logon: *const aa_logon,
    url_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe { guard_call(error_out, || read_string(logon, url_out, "url", |l| Some(l.server().to_owned()))) }
}

/// The login session id once the server answered OK; AA_STATUS_NOT_AVAILABLE before. The caller
/// owns `*login_session_id_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_login_session_id(
    logon: *const aa_logon,
    login_session_id_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, login_session_id_out, "login_session_id", |l| {
                l.response().login_session_id.clone()
            })
        })
    }
}

/// A `user_*` field of the last answer by its AA name ("user_name", "user_id", "user_email",
/// "user_sid", …); AA_STATUS_NOT_AVAILABLE when the server did not send it. The caller owns
/// `*value_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_user_field(
    logon: *const aa_logon,
    field_name: *const c_char,
    value_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            logon_handle(logon)?; // a bad handle is reported before a bad argument
            let name = non_empty_arg(field_name, "field_name")?;
            read_string(logon, value_out, name, |l| user_field(l.response(), name))
        })
    }
}

fn user_field(response: &LogonResponse, name: &str) -> Option<String> {
    match response.raw.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Every `user_*` field of the last answer (and `repo_id`, `tenant_name`) as one JSON object of
/// strings, e.g. `{"user_name":"JAGUAR\\denis","user_email":"denis@jaguar.com"}` — what
/// aa_logon_user_field gives one at a time; `{}` before the server sent any. Numbers and booleans
/// come as text; lists and objects are left out (aa_logon_response_json has them). The caller owns
/// `*user_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), out-parameters writable for the duration of
/// the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_user_json(
    logon: *const aa_logon,
    user_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, user_json_out, "user", |l| {
                Some(super::json::user(&l.response().user).to_string())
            })
        })
    }
}

/// The methods completed so far, as a JSON array of method ids (e.g. `["LDAP_PASSWORD:1"]`).
/// The caller owns `*methods_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_completed_methods_json(
    logon: *const aa_logon,
    methods_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, methods_json_out, "completed_methods", |l| {
                Some(serde_json::json!(l.response().completed_methods).to_string())
            })
        })
    }
}

/// After the server answered NEXT: the methods that may come next, as a JSON array of method
/// ids in the server's chain order (e.g. `["U2F:1","SMARTPHONE:1"]`) — for each enabled chain
/// that starts with the completed methods, its next method, each once. Pass one to aa_logon_next.
/// `[]` for any other status. The caller owns `*methods_json_out` and frees it with
/// aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_next_methods_json(
    logon: *const aa_logon,
    methods_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, methods_json_out, "next_methods", |l| {
                Some(serde_json::json!(l.next_methods()).to_string())
            })
        })
    }
}

/// The chains the server offers for this logon, as a JSON array of
/// `{"id_hex","name","short_name","methods","is_enabled","position"}`. The caller owns
/// `*chains_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_chains_json(
    logon: *const aa_logon,
    chains_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, chains_json_out, "chains", |l| {
                let chains: Vec<_> = l.response().chains.iter().map(super::json::chain).collect();
                Some(serde_json::Value::Array(chains).to_string())
            })
        })
    }
}

/// The last answer of the server exactly as received (JSON object), for fields this API has no
/// accessor for. The caller owns `*response_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_logon_response_json(
    logon: *const aa_logon,
    response_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            read_string(logon, response_json_out, "response", |l| Some(l.response().raw.to_string()))
        })
    }
}
