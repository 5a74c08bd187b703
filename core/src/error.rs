//! The one error type of the library. Every failure has a stable [`ErrorKind`]; AA server errors
//! keep the HTTP code, msgid, reason and description the server sent.

use std::fmt;

/// Stable classes of failure. The C ABI maps each to its own status code, so never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad configuration or argument (URL, CA file, pin, option values).
    Config,
    /// The call does not fit the logon's current state (e.g. gathering a U2F request while the
    /// current method is PASSWORD:1, or using a finished logon).
    InvalidState,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// Connection refused, reset, DNS or proxy failure, or any other transport problem.
    Network,
    /// A connect or request timeout elapsed while talking to the server.
    Timeout,
    /// The server answered with an HTTP error (400, 433, 434, 444, 5xx…); see
    /// [`Error::http_status`] and [`Error::msgid`].
    AaHttp,
    /// The server rejected the attempt: status `FAILED`, or `MORE_DATA` in answer to a forwarded
    /// signature (the server did not accept it).
    LogonFailed,
    /// The server stopped the logon: status `STOP` (e.g. a rejected push).
    LogonStopped,
    /// No FIDO device was found before the timeout.
    NoDevice,
    /// Devices were present but none owns any key handle of the sign request.
    NoMatchingKey,
    /// The user did not touch the key before the timeout.
    UserPresenceTimeout,
    /// The operation was cancelled by the caller.
    Cancelled,
    /// A device broke the CTAPHID or U2F protocol, returned an error, or went away.
    DeviceProtocol,
    /// The PIN given for the security key was wrong; the key's retries left are in the message
    /// and the device code is CTAP2 `0x31` (PIN_INVALID).
    PinInvalid,
    /// The security key's PIN is blocked (no retries left, or too many wrong PINs since it was
    /// plugged in: CTAP2 `0x32` PIN_BLOCKED / `0x34` PIN_AUTH_BLOCKED).
    PinBlocked,
    /// The request needs user verification and the key needs its PIN for it, but no PIN was
    /// given (no PIN callback, or the callback declined); also a key that has no PIN set and no
    /// built-in user verification (CTAP2 `0x35` PIN_NOT_SET).
    PinRequired,
    /// The key's built-in user verification (fingerprint…) failed or is blocked.
    UvFailed,
    /// The server's answer was not the JSON the API documents, carried a status this library does
    /// not know (never taken as success), answered a U2F gather with a verdict instead of a
    /// challenge, or carried a U2F appId the client does not allow.
    MalformedServerData,
}

impl ErrorKind {
    /// A short, stable, human-readable name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "configuration error",
            ErrorKind::InvalidState => "invalid state",
            ErrorKind::Tls => "TLS error",
            ErrorKind::Network => "network error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::AaHttp => "AA server error",
            ErrorKind::LogonFailed => "logon failed",
            ErrorKind::LogonStopped => "logon stopped",
            ErrorKind::NoDevice => "no security key found",
            ErrorKind::NoMatchingKey => "no security key owns a key handle of the request",
            ErrorKind::UserPresenceTimeout => "security key was not touched in time",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::DeviceProtocol => "security key protocol error",
            ErrorKind::PinInvalid => "wrong PIN",
            ErrorKind::PinBlocked => "PIN blocked",
            ErrorKind::PinRequired => "PIN required",
            ErrorKind::UvFailed => "user verification failed",
            ErrorKind::MalformedServerData => "malformed server data",
        }
    }
}

/// A security key's own error code, kept for callers that act on it (as libfido2 reports them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceCode {
    /// A CTAPHID_ERROR byte (`0x01` INVALID_CMD … `0x7F` OTHER).
    Ctaphid(u8),
    /// An ISO 7816 status word of a U2F answer (`0x6985`, `0x6A80`, …).
    StatusWord(u16),
    /// A CTAP2 status code (`0x2E` NO_CREDENTIALS, `0x31` PIN_INVALID, …).
    Ctap2(u8),
}

/// An error with its kind, a readable message and, for server answers, the server's details.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    msgid: Option<String>,
    reason: Option<String>,
    device_code: Option<DeviceCode>,
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// This error with another message (a prefix, a note), its kind and server details kept.
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// A new error of `kind` with a readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            http_status: None,
            msgid: None,
            reason: None,
            device_code: None,
        }
    }

    /// Attaches the HTTP status code of a server answer.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Attaches the server's message id (`AUCORE-…`).
    pub fn with_msgid(mut self, msgid: impl Into<String>) -> Self {
        let msgid = msgid.into();
        self.msgid = (!msgid.is_empty()).then_some(msgid);
        self
    }

    /// Attaches the server's reason (`USER_NOT_FOUND`, `PASSWORD_WRONG`, …).
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        self.reason = (!reason.is_empty()).then_some(reason);
        self
    }

    /// Attaches the security key's own error code.
    pub fn with_device_code(mut self, code: DeviceCode) -> Self {
        self.device_code = Some(code);
        self
    }

    /// The security key's own error code, when a key reported one.
    pub fn device_code(&self) -> Option<DeviceCode> {
        self.device_code
    }

    /// The stable class of this failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The readable description (server description for server errors).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// HTTP status of the server answer, when the error came from one.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The server's message id, e.g. `AUCORE-1056`.
    pub fn msgid(&self) -> Option<&str> {
        self.msgid.as_deref()
    }

    /// The server's reason, e.g. `USER_NOT_FOUND`.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)?;
        let details: Vec<String> =
            [self.http_status.map(|s| format!("HTTP {s}")), self.msgid.clone(), self.reason.clone()]
                .into_iter()
                .flatten()
                .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("http_status", &self.http_status)
            .field("msgid", &self.msgid)
            .field("reason", &self.reason)
            .field("device_code", &self.device_code)
            .finish()
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_server_details() {
        let e = Error::new(ErrorKind::AaHttp, "User is not found")
            .with_http_status(400)
            .with_msgid("AUCORE-1056")
            .with_reason("USER_NOT_FOUND");
        assert_eq!(
            e.to_string(),
            "AA server error: User is not found (HTTP 400, AUCORE-1056, USER_NOT_FOUND)"
        );
        assert_eq!(e.msgid(), Some("AUCORE-1056"));
    }
}
