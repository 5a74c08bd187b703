//! The failure type every C ABI body returns: a status plus what its `aa_error` will carry.

use aa_logon::{DeviceCode, Error};

use super::status::aa_status;

/// What an `aa_error` carries.
#[derive(Clone, Debug)]
pub(crate) struct ErrorDetails {
    pub(crate) status: aa_status,
    pub(crate) message: String,
    pub(crate) http_status: Option<u16>,
    pub(crate) msgid: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) device_code: Option<DeviceCode>,
}

/// A failure on its way to C.
#[derive(Debug)]
pub(crate) struct FfiError(pub(crate) ErrorDetails);

impl FfiError {
    pub(crate) fn new(status: aa_status, message: impl Into<String>) -> Self {
        FfiError(ErrorDetails {
            status,
            message: message.into(),
            http_status: None,
            msgid: None,
            reason: None,
            device_code: None,
        })
    }

    pub(crate) fn status(&self) -> aa_status {
        self.0.status
    }
}

impl From<Error> for FfiError {
    fn from(error: Error) -> Self {
        FfiError(ErrorDetails {
            status: error.kind().into(),
            message: error.to_string(),
            http_status: error.http_status(),
            msgid: error.msgid().map(str::to_owned),
            reason: error.reason().map(str::to_owned),
            device_code: error.device_code(),
        })
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

/// The error for a C enum argument that holds no declared value.
pub(crate) fn not_an_enum(name: &str, value: u32, enum_name: &str) -> FfiError {
    FfiError::new(aa_status::InvalidArgument, format!("{name} {value} is not an {enum_name} value"))
}
