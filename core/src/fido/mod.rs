//! FIDO host stack: device discovery, CTAPHID framing, U2F/CTAP1 APDUs and the sign flow.
//!
//! Everything above the [`HidTransport`] seam is the same for real keys (hidapi) and for the
//! testkit's virtual key and the C ABI's caller-supplied transports.

mod apdu;
mod cbor;
mod ctap2;
mod ctap2_key;
mod ctaphid;
mod deadline;
mod details;
mod frame;
mod get_assertion;
mod get_info;
mod hidapi_devices;
mod init;
mod job;
mod pin;
mod request;
mod sign;
#[cfg(test)]
mod test_support;
mod trace;
mod transport;
mod u2f;

pub use details::{describe, wink, DeviceDetails};
pub use get_info::Ctap2Info;
pub use hidapi_devices::HidapiDevices;
pub use init::{Capabilities, DeviceVersion};
pub use sign::{get_assertion, sign};
pub use trace::FRAMES_TARGET;

pub use request::{
    Assertion, AssertionRequest, PinCallback, PinRequest, Prompt, PromptCallback, SignOptions, SignRequest,
    SignResponse, UserVerification,
};
pub use transport::{DeviceInfo, DeviceProvider, HidTransport, Report, REPORT_LEN};
