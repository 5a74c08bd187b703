//! The documented exit codes and how every failure maps onto them.

use std::fmt;
use std::process::ExitCode;

use aa_logon::{Error, ErrorKind};

/// Exit codes of `aa-logon`; documented in `--help` and cli/README.md. Never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what it was asked (logon OK, list printed, session ended).
    Ok = 0,
    /// The AA server rejected or stopped the logon (FAILED, STOP), a push or call was not
    /// approved in time, or the server asked for a method this tool cannot run.
    LogonFailed = 1,
    /// Bad command line, configuration (URL, secret, CA file, pin) or missing input.
    Usage = 2,
    /// Network, TLS or timeout talking to the AA server.
    Network = 3,
    /// The AA server answered with an HTTP error (unknown user, expired session…) or with data
    /// that is not the documented JSON.
    Server = 4,
    /// Security key problem: none found, none owns a key handle, not touched in time, a wrong,
    /// blocked or missing PIN, failed user verification, or a device broke the protocol.
    Device = 5,
    /// Interrupted with Ctrl-C.
    Cancelled = 6,
    /// An internal error of this tool or the library.
    Internal = 7,
}

/// The exit code table, as shown at the end of `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  logon failed or stopped by the AA server (FAILED, STOP), not approved in time, or a method
     this tool cannot run
  2  usage or configuration error (bad option, URL, CA file, pin, missing secret or input)
  3  network, TLS or timeout error talking to the AA server
  4  AA server error (HTTP error such as unknown user, or malformed answer)
  5  security key error (no key found, no key owns a key handle, not touched in time, wrong,
     blocked or missing PIN, user verification failed, protocol)
  6  cancelled (Ctrl-C)
  7  internal error";

impl Exit {
    /// The exit code for a library error.
    pub fn for_kind(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::LogonFailed | ErrorKind::LogonStopped => Exit::LogonFailed,
            ErrorKind::Config => Exit::Usage,
            ErrorKind::Tls | ErrorKind::Network | ErrorKind::Timeout => Exit::Network,
            ErrorKind::AaHttp | ErrorKind::MalformedServerData => Exit::Server,
            ErrorKind::NoDevice
            | ErrorKind::NoMatchingKey
            | ErrorKind::UserPresenceTimeout
            | ErrorKind::DeviceProtocol
            | ErrorKind::PinInvalid
            | ErrorKind::PinBlocked
            | ErrorKind::PinRequired
            | ErrorKind::UvFailed => Exit::Device,
            ErrorKind::Cancelled => Exit::Cancelled,
            _ => Exit::Internal,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// A failure of a command: what to tell the user and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    /// Stable machine name of the class (`logon_failed`, `network`, …).
    pub kind: &'static str,
    pub message: String,
    pub http_status: Option<u16>,
    pub msgid: Option<String>,
    pub reason: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, kind: &'static str, message: impl Into<String>) -> Failure {
        Failure { exit, kind, message: message.into(), http_status: None, msgid: None, reason: None }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, "usage", message)
    }

    #[cfg(feature = "virtual-device")]
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Internal, "internal", message)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "message": self.message,
            "http_status": self.http_status,
            "msgid": self.msgid,
            "reason": self.reason,
            "exit_code": self.exit.code(),
        })
    }
}

/// A stable machine name for an error kind.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => "config",
        ErrorKind::InvalidState => "invalid_state",
        ErrorKind::Tls => "tls",
        ErrorKind::Network => "network",
        ErrorKind::Timeout => "timeout",
        ErrorKind::AaHttp => "server_error",
        ErrorKind::LogonFailed => "logon_failed",
        ErrorKind::LogonStopped => "logon_stopped",
        ErrorKind::NoDevice => "no_device",
        ErrorKind::NoMatchingKey => "no_matching_key",
        ErrorKind::UserPresenceTimeout => "user_presence_timeout",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::DeviceProtocol => "device_error",
        ErrorKind::PinInvalid => "pin_invalid",
        ErrorKind::PinBlocked => "pin_blocked",
        ErrorKind::PinRequired => "pin_required",
        ErrorKind::UvFailed => "uv_failed",
        ErrorKind::MalformedServerData => "malformed_server_data",
        _ => "internal",
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            exit: Exit::for_kind(error.kind()),
            kind: kind_name(error.kind()),
            message: error.message().to_owned(),
            http_status: error.http_status(),
            msgid: error.msgid().map(str::to_owned),
            reason: error.reason().map(str::to_owned),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.replace('_', " "), self.message)?;
        let details: Vec<String> = [
            self.http_status.map(|s| format!("HTTP {s}")),
            self.msgid.as_ref().map(|m| format!("msgid {m}")),
            self.reason.as_ref().map(|r| format!("reason {r}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

pub type CmdResult<T = ()> = Result<T, Failure>;
