//! The CTAP2 layer (CTAPHID_CBOR payloads): command byte ‖ CBOR in, status ‖ CBOR out. Requests
//! that need the user's touch stop at a [`Plan`]; the device waits for presence (sending KEEPALIVE)
//! and then calls [`Ctap2::finish`], or answers KEEPALIVE_CANCEL / USER_ACTION_TIMEOUT instead.

mod assertion;
pub(crate) mod cbor;
pub(crate) mod client_pin;
pub(crate) mod credential;
mod make_credential;
pub(crate) mod pin_protocol;
pub mod status;

use std::time::Instant;

use ciborium::value::Value;

use self::cbor::{canonical_map, Request};
use self::client_pin::PinState;
use self::credential::{Residents, AAGUID, COSE_ALG_ES256};
use self::pin_protocol::PinProtocol;
use crate::authenticator::Authenticator;
use crate::keys::KeyMaterial;
use crate::protocols::Protocols;

pub use self::assertion::NEXT_ASSERTION_WINDOW;
pub use self::cbor::{MAX_MSG_SIZE, MAX_NESTING};
pub use self::client_pin::{permission, MAX_PIN_RETRIES, MAX_UV_RETRIES};
pub use self::credential::MAX_RESIDENT_CREDENTIALS;

/// CTAP2 command bytes.
pub mod command {
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    pub const GET_ASSERTION: u8 = 0x02;
    pub const GET_INFO: u8 = 0x04;
    pub const CLIENT_PIN: u8 = 0x06;
    pub const GET_NEXT_ASSERTION: u8 = 0x08;
    pub const SELECTION: u8 = 0x0B;
}

/// authData flag bits.
pub(crate) mod flags {
    pub const USER_PRESENT: u8 = 0x01;
    pub const USER_VERIFIED: u8 = 0x04;
    pub const ATTESTED_CREDENTIAL_DATA: u8 = 0x40;
}

/// What a request needs after the user's touch.
pub(crate) enum Plan {
    Assertion(assertion::Signing),
    Credential(make_credential::Creation),
    /// An excludeList entry is ours: CREDENTIAL_EXCLUDED once the user confirms.
    Excluded,
    /// A zero-length pinUvAuthParam (the platform asks the user to pick a key): PIN_NOT_SET or
    /// PIN_INVALID after the touch.
    PinProbe,
    /// authenticatorSelection.
    Selection,
}

pub(crate) enum Step {
    /// The answer: status ‖ CBOR.
    Reply(Vec<u8>),
    /// The answer needs user presence first.
    AwaitPresence(Plan),
}

pub(crate) struct Ctap2 {
    protocols: Protocols,
    pub(crate) pin: PinState,
    pub(crate) residents: Residents,
    next: Option<assertion::NextAssertions>,
}

/// How a makeCredential/getAssertion proves user verification.
enum PinUvAuth<'a> {
    Absent,
    /// Zero-length pinUvAuthParam.
    Probe,
    Present(PinProtocol, &'a [u8]),
}

/// The options map of makeCredential/getAssertion; unknown options are ignored.
#[derive(Default)]
struct Options {
    rk: Option<bool>,
    up: Option<bool>,
    uv: Option<bool>,
}

impl Ctap2 {
    pub(crate) fn new(material: KeyMaterial, protocols: Protocols) -> Self {
        Ctap2 { protocols, pin: PinState::new(material), residents: Residents::default(), next: None }
    }

    pub(crate) fn protocols(&self) -> Protocols {
        self.protocols
    }

    /// The key was unplugged and plugged in again.
    pub(crate) fn power_cycle(&mut self) {
        self.pin.power_cycle();
        self.next = None;
    }

    /// Starts one request: answers it, or says what it needs the user's touch for.
    pub(crate) fn begin(&mut self, authenticator: &mut Authenticator, request: &[u8], now: Instant) -> Step {
        let Some((&command, parameters)) = request.split_first() else {
            return Step::Reply(vec![status::INVALID_LENGTH]);
        };
        if request.len() > cbor::MAX_MSG_SIZE {
            return Step::Reply(vec![status::REQUEST_TOO_LARGE]);
        }
        let parsed = match Request::decode(parameters) {
            Ok(parsed) => parsed,
            Err(code) => return Step::Reply(vec![code]),
        };
        let result = match command {
            command::GET_INFO => Ok(Step::Reply(self.info())),
            command::GET_ASSERTION => self.get_assertion(authenticator, &parsed, now),
            command::GET_NEXT_ASSERTION => self.get_next_assertion(authenticator, now).map(Step::Reply),
            command::MAKE_CREDENTIAL => self.make_credential(authenticator, &parsed),
            command::CLIENT_PIN => self.pin.command(&parsed).map(Step::Reply),
            command::SELECTION => Ok(Step::AwaitPresence(Plan::Selection)),
            _ => Err(status::INVALID_COMMAND),
        };
        result.unwrap_or_else(|code| Step::Reply(vec![code]))
    }

    /// Completes a request once the user was present.
    pub(crate) fn finish(&mut self, authenticator: &mut Authenticator, plan: Plan, now: Instant) -> Vec<u8> {
        let result = match plan {
            Plan::Assertion(signing) => self.sign_assertion(authenticator, signing, true, now),
            Plan::Credential(creation) => self.create_credential(authenticator, creation),
            Plan::Excluded => Err(status::CREDENTIAL_EXCLUDED),
            Plan::PinProbe if self.pin.is_set() => Err(status::PIN_INVALID),
            Plan::PinProbe => Err(status::PIN_NOT_SET),
            Plan::Selection => Ok(vec![status::OK]),
        };
        result.unwrap_or_else(|code| vec![code])
    }

    /// authenticatorGetInfo.
    fn info(&self) -> Vec<u8> {
        let versions: Vec<Value> = self.protocols.versions().iter().map(|v| cbor::text(v)).collect();
        let mut options = vec![
            (cbor::text("rk"), Value::Bool(true)),
            (cbor::text("up"), Value::Bool(true)),
            (cbor::text("clientPin"), Value::Bool(self.pin.is_set())),
            (cbor::text("pinUvAuthToken"), Value::Bool(true)),
            (cbor::text("makeCredUvNotRqd"), Value::Bool(true)),
        ];
        if self.pin.uv.available {
            options.push((cbor::text("uv"), Value::Bool(true)));
        }
        let es256 = canonical_map(vec![
            (cbor::text("alg"), cbor::int(COSE_ALG_ES256)),
            (cbor::text("type"), cbor::text("public-key")),
        ]);
        let max_msg_size = i64::try_from(cbor::MAX_MSG_SIZE).expect("small constant");
        cbor::success(canonical_map(vec![
            (cbor::int(0x01), Value::Array(versions)),
            (cbor::int(0x03), cbor::bytes(&AAGUID)),
            (cbor::int(0x04), canonical_map(options)),
            (cbor::int(0x05), cbor::int(max_msg_size)),
            (cbor::int(0x06), Value::Array(vec![cbor::int(2), cbor::int(1)])),
            (cbor::int(0x09), Value::Array(vec![cbor::text("usb")])),
            (cbor::int(0x0A), Value::Array(vec![es256])),
        ]))
    }

    /// Establishes the uv flag: a valid pinUvAuthParam, or built-in UV when the uv option asks.
    fn user_verification(
        &mut self,
        auth: &PinUvAuth<'_>,
        uv_option: bool,
        client_data_hash: &[u8],
        permission: u64,
        rp_id: &str,
    ) -> Result<bool, u8> {
        match auth {
            PinUvAuth::Present(protocol, param) => {
                self.pin.verify_token(*protocol, client_data_hash, param, permission, rp_id)?;
                Ok(true)
            }
            PinUvAuth::Absent | PinUvAuth::Probe if uv_option => {
                if !self.pin.uv.available {
                    return Err(status::INVALID_OPTION);
                }
                self.pin.uv.perform()?;
                Ok(true)
            }
            PinUvAuth::Absent | PinUvAuth::Probe => Ok(false),
        }
    }
}

fn pin_uv_auth(request: &Request, param_key: u64, protocol_key: u64) -> Result<PinUvAuth<'_>, u8> {
    let Some(param) = request.bytes(param_key)? else { return Ok(PinUvAuth::Absent) };
    if param.is_empty() {
        return Ok(PinUvAuth::Probe);
    }
    let number = request.unsigned(protocol_key)?.ok_or(status::MISSING_PARAMETER)?;
    let protocol = PinProtocol::from_number(number).ok_or(status::INVALID_PARAMETER)?;
    Ok(PinUvAuth::Present(protocol, param))
}

fn options(request: &Request, key: u64) -> Result<Options, u8> {
    let Some(map) = request.map(key)? else { return Ok(Options::default()) };
    let get = |name: &str| cbor::field(map, name).map(cbor::as_bool).transpose();
    Ok(Options { rk: get("rk")?, up: get("up")?, uv: get("uv")? })
}

/// The required 32-byte clientDataHash.
fn client_data_hash(request: &Request, key: u64) -> Result<Vec<u8>, u8> {
    let hash = request.bytes(key)?.ok_or(status::MISSING_PARAMETER)?;
    if hash.len() != 32 {
        return Err(status::INVALID_LENGTH);
    }
    Ok(hash.to_vec())
}
