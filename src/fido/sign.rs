//! The U2F sign flow across all present devices. (Placeholder until the FIDO stack lands.)

use super::{DeviceProvider, SignOptions, SignRequest, SignResponse};
use crate::{Error, ErrorKind, Result};

/// Signs the first request whose key handle a present device owns, once the user touches it.
pub fn sign(_devices: &dyn DeviceProvider, _requests: &[SignRequest], _options: &SignOptions) -> Result<SignResponse> {
    Err(Error::new(ErrorKind::NoDevice, "FIDO stack not built yet"))
}
