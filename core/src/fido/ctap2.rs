//! CTAP2 over a CTAPHID channel (CTAPHID_CBOR): a command byte and a canonical CBOR map out, a
//! status byte and an optional CBOR map back; the full CTAP2 status-code table, kept as the
//! device-level code ([`DeviceCode::Ctap2`]) of every error a key reports.

use super::cbor::{self, Value};
use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::frame::command;
use crate::{DeviceCode, Error, ErrorKind};

/// The authenticator commands a host needs for assertions (first byte of a CTAPHID_CBOR request).
pub mod cmd {
    pub const GET_ASSERTION: u8 = 0x02;
    pub const GET_INFO: u8 = 0x04;
    pub const CLIENT_PIN: u8 = 0x06;
}

/// CTAP2 status codes (CTAP 2.1 §8.2; CTAP 2.0 names for codes 2.1 retired).
pub mod status {
    pub const OK: u8 = 0x00;
    pub const INVALID_COMMAND: u8 = 0x01;
    pub const INVALID_PARAMETER: u8 = 0x02;
    pub const INVALID_LENGTH: u8 = 0x03;
    pub const INVALID_SEQ: u8 = 0x04;
    pub const TIMEOUT: u8 = 0x05;
    pub const CHANNEL_BUSY: u8 = 0x06;
    pub const LOCK_REQUIRED: u8 = 0x0A;
    pub const INVALID_CHANNEL: u8 = 0x0B;
    pub const CBOR_UNEXPECTED_TYPE: u8 = 0x11;
    pub const INVALID_CBOR: u8 = 0x12;
    pub const MISSING_PARAMETER: u8 = 0x14;
    pub const LIMIT_EXCEEDED: u8 = 0x15;
    pub const UNSUPPORTED_EXTENSION: u8 = 0x16;
    pub const FP_DATABASE_FULL: u8 = 0x17;
    pub const LARGE_BLOB_STORAGE_FULL: u8 = 0x18;
    pub const CREDENTIAL_EXCLUDED: u8 = 0x19;
    pub const PROCESSING: u8 = 0x21;
    pub const INVALID_CREDENTIAL: u8 = 0x22;
    pub const USER_ACTION_PENDING: u8 = 0x23;
    pub const OPERATION_PENDING: u8 = 0x24;
    pub const NO_OPERATIONS: u8 = 0x25;
    pub const UNSUPPORTED_ALGORITHM: u8 = 0x26;
    pub const OPERATION_DENIED: u8 = 0x27;
    pub const KEY_STORE_FULL: u8 = 0x28;
    pub const NOT_BUSY: u8 = 0x29;
    pub const NO_OPERATION_PENDING: u8 = 0x2A;
    pub const UNSUPPORTED_OPTION: u8 = 0x2B;
    pub const INVALID_OPTION: u8 = 0x2C;
    pub const KEEPALIVE_CANCEL: u8 = 0x2D;
    pub const NO_CREDENTIALS: u8 = 0x2E;
    pub const USER_ACTION_TIMEOUT: u8 = 0x2F;
    pub const NOT_ALLOWED: u8 = 0x30;
    pub const PIN_INVALID: u8 = 0x31;
    pub const PIN_BLOCKED: u8 = 0x32;
    pub const PIN_AUTH_INVALID: u8 = 0x33;
    pub const PIN_AUTH_BLOCKED: u8 = 0x34;
    pub const PIN_NOT_SET: u8 = 0x35;
    pub const PUAT_REQUIRED: u8 = 0x36;
    pub const PIN_POLICY_VIOLATION: u8 = 0x37;
    pub const PIN_TOKEN_EXPIRED: u8 = 0x38;
    pub const REQUEST_TOO_LARGE: u8 = 0x39;
    pub const ACTION_TIMEOUT: u8 = 0x3A;
    pub const UP_REQUIRED: u8 = 0x3B;
    pub const UV_BLOCKED: u8 = 0x3C;
    pub const INTEGRITY_FAILURE: u8 = 0x3D;
    pub const INVALID_SUBCOMMAND: u8 = 0x3E;
    pub const UV_INVALID: u8 = 0x3F;
    pub const UNAUTHORIZED_PERMISSION: u8 = 0x40;
    pub const OTHER: u8 = 0x7F;
}

/// The spec name of a CTAP2 status code.
pub fn status_name(code: u8) -> &'static str {
    match code {
        status::OK => "CTAP2_OK",
        status::INVALID_COMMAND => "CTAP1_ERR_INVALID_COMMAND",
        status::INVALID_PARAMETER => "CTAP1_ERR_INVALID_PARAMETER",
        status::INVALID_LENGTH => "CTAP1_ERR_INVALID_LENGTH",
        status::INVALID_SEQ => "CTAP1_ERR_INVALID_SEQ",
        status::TIMEOUT => "CTAP1_ERR_TIMEOUT",
        status::CHANNEL_BUSY => "CTAP1_ERR_CHANNEL_BUSY",
        status::LOCK_REQUIRED => "CTAP1_ERR_LOCK_REQUIRED",
        status::INVALID_CHANNEL => "CTAP1_ERR_INVALID_CHANNEL",
        status::CBOR_UNEXPECTED_TYPE => "CTAP2_ERR_CBOR_UNEXPECTED_TYPE",
        status::INVALID_CBOR => "CTAP2_ERR_INVALID_CBOR",
        status::MISSING_PARAMETER => "CTAP2_ERR_MISSING_PARAMETER",
        status::LIMIT_EXCEEDED => "CTAP2_ERR_LIMIT_EXCEEDED",
        status::UNSUPPORTED_EXTENSION => "CTAP2_ERR_UNSUPPORTED_EXTENSION",
        status::FP_DATABASE_FULL => "CTAP2_ERR_FP_DATABASE_FULL",
        status::LARGE_BLOB_STORAGE_FULL => "CTAP2_ERR_LARGE_BLOB_STORAGE_FULL",
        status::CREDENTIAL_EXCLUDED => "CTAP2_ERR_CREDENTIAL_EXCLUDED",
        status::PROCESSING => "CTAP2_ERR_PROCESSING",
        status::INVALID_CREDENTIAL => "CTAP2_ERR_INVALID_CREDENTIAL",
        status::USER_ACTION_PENDING => "CTAP2_ERR_USER_ACTION_PENDING",
        status::OPERATION_PENDING => "CTAP2_ERR_OPERATION_PENDING",
        status::NO_OPERATIONS => "CTAP2_ERR_NO_OPERATIONS",
        status::UNSUPPORTED_ALGORITHM => "CTAP2_ERR_UNSUPPORTED_ALGORITHM",
        status::OPERATION_DENIED => "CTAP2_ERR_OPERATION_DENIED",
        status::KEY_STORE_FULL => "CTAP2_ERR_KEY_STORE_FULL",
        status::NOT_BUSY => "CTAP2_ERR_NOT_BUSY",
        status::NO_OPERATION_PENDING => "CTAP2_ERR_NO_OPERATION_PENDING",
        status::UNSUPPORTED_OPTION => "CTAP2_ERR_UNSUPPORTED_OPTION",
        status::INVALID_OPTION => "CTAP2_ERR_INVALID_OPTION",
        status::KEEPALIVE_CANCEL => "CTAP2_ERR_KEEPALIVE_CANCEL",
        status::NO_CREDENTIALS => "CTAP2_ERR_NO_CREDENTIALS",
        status::USER_ACTION_TIMEOUT => "CTAP2_ERR_USER_ACTION_TIMEOUT",
        status::NOT_ALLOWED => "CTAP2_ERR_NOT_ALLOWED",
        status::PIN_INVALID => "CTAP2_ERR_PIN_INVALID",
        status::PIN_BLOCKED => "CTAP2_ERR_PIN_BLOCKED",
        status::PIN_AUTH_INVALID => "CTAP2_ERR_PIN_AUTH_INVALID",
        status::PIN_AUTH_BLOCKED => "CTAP2_ERR_PIN_AUTH_BLOCKED",
        status::PIN_NOT_SET => "CTAP2_ERR_PIN_NOT_SET",
        status::PUAT_REQUIRED => "CTAP2_ERR_PUAT_REQUIRED",
        status::PIN_POLICY_VIOLATION => "CTAP2_ERR_PIN_POLICY_VIOLATION",
        status::PIN_TOKEN_EXPIRED => "CTAP2_ERR_PIN_TOKEN_EXPIRED",
        status::REQUEST_TOO_LARGE => "CTAP2_ERR_REQUEST_TOO_LARGE",
        status::ACTION_TIMEOUT => "CTAP2_ERR_ACTION_TIMEOUT",
        status::UP_REQUIRED => "CTAP2_ERR_UP_REQUIRED",
        status::UV_BLOCKED => "CTAP2_ERR_UV_BLOCKED",
        status::INTEGRITY_FAILURE => "CTAP2_ERR_INTEGRITY_FAILURE",
        status::INVALID_SUBCOMMAND => "CTAP2_ERR_INVALID_SUBCOMMAND",
        status::UV_INVALID => "CTAP2_ERR_UV_INVALID",
        status::UNAUTHORIZED_PERMISSION => "CTAP2_ERR_UNAUTHORIZED_PERMISSION",
        status::OTHER => "CTAP1_ERR_OTHER",
        0xE0..=0xEF => "CTAP2_ERR_EXTENSION",
        0xF0..=0xFF => "CTAP2_ERR_VENDOR",
        _ => "unknown CTAP2 status",
    }
}

/// The error class of a status code a key answered: the PIN and UV codes have their own kinds,
/// a key timing out its own wait for a touch is a presence timeout; the rest is a device error.
pub fn status_kind(code: u8) -> ErrorKind {
    match code {
        status::PIN_INVALID => ErrorKind::PinInvalid,
        status::PIN_BLOCKED | status::PIN_AUTH_BLOCKED => ErrorKind::PinBlocked,
        status::PIN_NOT_SET | status::PUAT_REQUIRED => ErrorKind::PinRequired,
        status::UV_BLOCKED | status::UV_INVALID => ErrorKind::UvFailed,
        status::USER_ACTION_TIMEOUT | status::ACTION_TIMEOUT => ErrorKind::UserPresenceTimeout,
        status::KEEPALIVE_CANCEL => ErrorKind::Cancelled,
        status::NO_CREDENTIALS => ErrorKind::NoMatchingKey,
        _ => ErrorKind::DeviceProtocol,
    }
}

/// The error for status `code` answered to `what` ("getAssertion"), naming the device.
pub fn status_error(channel: &Channel, what: &str, code: u8) -> Error {
    let message =
        channel.error(format!("{what} answered {} (0x{code:02x})", status_name(code))).message().to_owned();
    Error::new(status_kind(code), message).with_device_code(DeviceCode::Ctap2(code))
}

/// How a CTAP2 exchange failed.
#[derive(Debug, PartialEq)]
pub enum Ctap2Error {
    /// The CTAPHID exchange did not complete (deadline, cancel, transport or framing error).
    Exchange(ExchangeError),
    /// The key answered this non-zero status code.
    Status(u8),
}

impl From<ExchangeError> for Ctap2Error {
    fn from(error: ExchangeError) -> Self {
        Ctap2Error::Exchange(error)
    }
}

impl From<Error> for Ctap2Error {
    fn from(error: Error) -> Self {
        Ctap2Error::Exchange(ExchangeError::Device(error))
    }
}

impl Ctap2Error {
    /// As an exchange error: a status code becomes [`status_error`] for `what`.
    pub fn into_exchange(self, channel: &Channel, what: &str) -> ExchangeError {
        match self {
            Ctap2Error::Exchange(error) => error,
            Ctap2Error::Status(code) => ExchangeError::Device(status_error(channel, what, code)),
        }
    }
}

/// The CTAPHID_CBOR payload of command `command` with optional parameters.
pub fn request_payload(command: u8, parameters: Option<&Value>) -> Vec<u8> {
    let mut payload = vec![command];
    if let Some(parameters) = parameters {
        payload.extend_from_slice(&cbor::encode(parameters));
    }
    payload
}

/// Splits a CTAPHID_CBOR reply into its status and decoded map: status 0 gives the map (`None`
/// when the key sent only the status byte), any other status [`Ctap2Error::Status`].
pub fn parse_reply(channel: &Channel, what: &str, reply: &[u8]) -> Result<Option<Value>, Ctap2Error> {
    let Some((&code, body)) = reply.split_first() else {
        return Err(channel.error(format!("empty {what} reply")).into());
    };
    if code != status::OK {
        return Err(Ctap2Error::Status(code));
    }
    if body.is_empty() {
        return Ok(None);
    }
    cbor::decode(body).map(Some).map_err(|e| channel.error(format!("{what} reply: {e}")).into())
}

/// One CTAP2 command that the key answers without waiting for the user (getInfo, clientPIN, a
/// silent getAssertion): sends it and returns the answer map.
pub fn call(
    channel: &mut Channel,
    command: u8,
    parameters: Option<&Value>,
    what: &str,
    deadline: &Deadline,
) -> Result<Option<Value>, Ctap2Error> {
    let reply = channel.transact(command::CBOR, &request_payload(command, parameters), deadline)?;
    parse_reply(channel, what, &reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_has_its_spec_name_and_kind() {
        assert_eq!(status_name(0x2E), "CTAP2_ERR_NO_CREDENTIALS");
        assert_eq!(status_name(0x36), "CTAP2_ERR_PUAT_REQUIRED");
        assert_eq!(status_name(0xE3), "CTAP2_ERR_EXTENSION");
        assert_eq!(status_name(0xF7), "CTAP2_ERR_VENDOR");
        assert_eq!(status_name(0x60), "unknown CTAP2 status");
        let named = (0u8..=0x7F).filter(|&code| status_name(code) != "unknown CTAP2 status").count();
        assert_eq!(named, 50, "the table lists every CTAP 2.0/2.1 code");
        assert_eq!(status_kind(0x31), ErrorKind::PinInvalid);
        assert_eq!(status_kind(0x34), ErrorKind::PinBlocked);
        assert_eq!(status_kind(0x36), ErrorKind::PinRequired);
        assert_eq!(status_kind(0x3F), ErrorKind::UvFailed);
        assert_eq!(status_kind(0x2F), ErrorKind::UserPresenceTimeout);
        assert_eq!(status_kind(0x27), ErrorKind::DeviceProtocol);
    }

    #[test]
    fn requests_are_the_command_byte_and_canonical_cbor() {
        assert_eq!(request_payload(cmd::GET_INFO, None), [0x04]);
        let params = cbor::int_map([(2, Value::from(1)), (1, Value::from(2))]);
        assert_eq!(request_payload(cmd::CLIENT_PIN, Some(&params)), [0x06, 0xa2, 0x01, 0x02, 0x02, 0x01]);
    }
}
