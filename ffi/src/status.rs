//! Status codes returned by every fallible C function (the base layer of the C ABI).

use std::ffi::CStr;

use aa_logon::ErrorKind;

use super::enums::u32_enum;

/// The outcome of a C API call. `AA_STATUS_OK` (0) means success; every other value is a
/// failure class. Numbers are explicit and never reused; new codes only get new numbers.
/// Groups: 1–99 misuse of the API, 100–199 configuration, 200–299 network and TLS,
/// 300–399 the AA server's verdicts and errors, 400–499 security keys.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// A string argument was longer than the library accepts (see AA_LOGON_MAX_ARGUMENT_LEN).
    ArgumentTooLong = 3,
    /// An argument had a value that is not allowed (empty URL, bad hex pin, index out of range…).
    InvalidArgument = 4,
    /// The handle or string was freed, was never issued by this library, or is of another type.
    InvalidHandle = 5,
    /// The call does not fit the logon's state (e.g. gathering a U2F request for PASSWORD:1).
    InvalidState = 6,
    /// Another thread is using this logon handle right now (only aa_logon_cancel may run concurrently).
    HandleBusy = 7,
    /// A panic was caught inside the library; the operation did not complete. A logon whose call
    /// panicked is left unusable: every later call on it (but aa_logon_free) returns this status.
    Panic = 8,
    /// The requested value is not present (e.g. login_session_id before the logon is OK).
    NotAvailable = 9,
    /// Bad client configuration (URL, CA file, pin, proxy, timeouts).
    Config = 100,
    /// TLS handshake or certificate verification with the AA server failed.
    Tls = 200,
    /// The AA server could not be reached or the connection broke.
    Network = 201,
    /// A connect or request timeout elapsed.
    Timeout = 202,
    /// The AA server answered with an HTTP error; see aa_error_http_status and aa_error_msgid.
    ServerError = 300,
    /// The AA server rejected the attempt (status FAILED); see aa_error_msgid / aa_logon_msgid.
    LogonFailed = 301,
    /// The AA server stopped the logon (status STOP).
    LogonStopped = 302,
    /// The AA server's answer was not the documented JSON, or carried a status this library does
    /// not know (never taken as success).
    MalformedServerData = 303,
    /// No security key was found before the timeout.
    NoDevice = 400,
    /// Security keys are present but none owns a key handle of the sign request.
    NoMatchingKey = 401,
    /// The security key was not touched before the timeout.
    UserPresenceTimeout = 402,
    /// The operation was cancelled with aa_logon_cancel.
    Cancelled = 403,
    /// A security key broke the CTAPHID/U2F protocol, reported an error, or was removed; see
    /// aa_error_device_code for the device's own code.
    DeviceError = 404,
    /// The PIN given for the security key was wrong. The message says how many retries are left;
    /// aa_error_device_code gives AA_DEVICE_CODE_KIND_CTAP2_STATUS 0x31 (PIN_INVALID).
    PinInvalid = 405,
    /// The security key's PIN is blocked: no retries left (CTAP2 0x32), or too many wrong PINs
    /// since it was plugged in (0x34: unplug it and plug it in again).
    PinBlocked = 406,
    /// The request needs user verification and the key needs its PIN, but no PIN was given (no
    /// PIN callback in aa_sign_options, or the callback declined); also a key with no PIN set and
    /// no built-in user verification (CTAP2 0x35).
    PinRequired = 407,
    /// The security key's built-in user verification (fingerprint…) failed or is blocked.
    UvFailed = 408,
}

u32_enum!(aa_status {
    Ok,
    NullArgument,
    InvalidUtf8,
    ArgumentTooLong,
    InvalidArgument,
    InvalidHandle,
    InvalidState,
    HandleBusy,
    Panic,
    NotAvailable,
    Config,
    Tls,
    Network,
    Timeout,
    ServerError,
    LogonFailed,
    LogonStopped,
    MalformedServerData,
    NoDevice,
    NoMatchingKey,
    UserPresenceTimeout,
    Cancelled,
    DeviceError,
    PinInvalid,
    PinBlocked,
    PinRequired,
    UvFailed,
});

impl From<ErrorKind> for aa_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Config => aa_status::Config,
            ErrorKind::InvalidState => aa_status::InvalidState,
            ErrorKind::Tls => aa_status::Tls,
            ErrorKind::Network => aa_status::Network,
            ErrorKind::Timeout => aa_status::Timeout,
            ErrorKind::AaHttp => aa_status::ServerError,
            ErrorKind::LogonFailed => aa_status::LogonFailed,
            ErrorKind::LogonStopped => aa_status::LogonStopped,
            ErrorKind::MalformedServerData => aa_status::MalformedServerData,
            ErrorKind::NoDevice => aa_status::NoDevice,
            ErrorKind::NoMatchingKey => aa_status::NoMatchingKey,
            ErrorKind::UserPresenceTimeout => aa_status::UserPresenceTimeout,
            ErrorKind::Cancelled => aa_status::Cancelled,
            ErrorKind::DeviceProtocol => aa_status::DeviceError,
            ErrorKind::PinInvalid => aa_status::PinInvalid,
            ErrorKind::PinBlocked => aa_status::PinBlocked,
            ErrorKind::PinRequired => aa_status::PinRequired,
            ErrorKind::UvFailed => aa_status::UvFailed,
            // ErrorKind is non-exhaustive: a kind added later is an internal error until mapped.
            _ => aa_status::Panic,
        }
    }
}

impl aa_status {
    /// A static, NUL-terminated description.
    pub(crate) fn description(self) -> &'static CStr {
        match self {
            aa_status::Ok => c"success",
            aa_status::NullArgument => c"a required pointer argument was NULL",
            aa_status::InvalidUtf8 => c"a string argument is not valid UTF-8",
            aa_status::ArgumentTooLong => c"a string argument is too long",
            aa_status::InvalidArgument => c"an argument has a value that is not allowed",
            aa_status::InvalidHandle => c"invalid handle: freed, unknown, or of another type",
            aa_status::InvalidState => c"the call does not fit the logon's current state",
            aa_status::HandleBusy => c"the handle is in use by another thread",
            aa_status::Panic => c"internal error: a panic was caught inside the library",
            aa_status::NotAvailable => c"the requested value is not available",
            aa_status::Config => c"invalid client configuration",
            aa_status::Tls => c"TLS error talking to the AA server",
            aa_status::Network => c"network error talking to the AA server",
            aa_status::Timeout => c"timed out talking to the AA server",
            aa_status::ServerError => c"the AA server answered with an error",
            aa_status::LogonFailed => c"the AA server rejected the logon attempt",
            aa_status::LogonStopped => c"the AA server stopped the logon",
            aa_status::MalformedServerData => c"the AA server sent malformed data",
            aa_status::NoDevice => c"no security key found",
            aa_status::NoMatchingKey => c"no security key owns a key handle of the sign request",
            aa_status::UserPresenceTimeout => c"the security key was not touched in time",
            aa_status::Cancelled => c"the operation was cancelled",
            aa_status::DeviceError => c"security key protocol error",
            aa_status::PinInvalid => c"wrong PIN for the security key",
            aa_status::PinBlocked => c"the security key's PIN is blocked",
            aa_status::PinRequired => c"the security key needs its PIN and none was given",
            aa_status::UvFailed => c"the security key's user verification failed",
        }
    }
}
