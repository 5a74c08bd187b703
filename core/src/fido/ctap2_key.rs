//! One CTAP2 key during a sign: its getInfo, the silent check whether it holds a credential
//! (getAssertion with `up: false`), the user verification a request needs (built-in UV, else
//! the PIN through the caller's callback), and the getAssertion the key holds until touched —
//! sent once and read over several turns, so other keys are served meanwhile.

use std::time::Duration;

use super::ctap2::{self, cmd, status, Ctap2Error};
use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::frame::command;
use super::get_assertion::{AssertionParams, AssertionResponse, Verification};
use super::get_info::{get_info, Ctap2Info, DEFAULT_MAX_MSG_SIZE};
use super::job::{Job, Signed};
use super::pin;
use super::request::{PinCallback, PinRequest, UserVerification};
use crate::{DeviceCode, Error, ErrorKind};

/// Budget of one clientPIN exchange. Longer than the turn budget of other exchanges (a key's ECDH
/// may take a while), and an exchange that runs out of it is an error, never sent again: a PIN
/// attempt sent twice could cost two retries.
const PIN_EXCHANGE_BUDGET: Duration = Duration::from_secs(10);

/// What the silent check found out about one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probed {
    /// The key holds the credential.
    Holds,
    /// The key cannot answer silently (no `up: false`, or it wants UV first): it is asked with
    /// a touch, and says then.
    CannotTell,
    /// The key does not hold it (CTAP2_ERR_NO_CREDENTIALS).
    NotHeld,
}

/// What one turn of the touch-waiting request gave.
#[derive(Debug)]
pub enum Polled {
    Signed(Signed),
    /// Still waiting (for the touch, or a request the key gave up on was sent again).
    Waiting,
    /// The key does not hold the credentials asked for.
    NotHeld,
}

/// How a request's user verification is done on this key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    None,
    BuiltIn,
    Pin,
}

/// A CTAP2 key in a sign operation.
#[derive(Debug)]
pub struct Ctap2Key {
    info: Ctap2Info,
    /// The key answered CTAP2_ERR_PUAT_REQUIRED: it wants user verification after all.
    uv_demanded: bool,
    /// The request on its way, for checking its answer.
    sent: Option<AssertionParams>,
    /// A request prepared (user verification done, e.g. the PIN given) but not on its way: it
    /// could not be sent, or the key stopped waiting for its touch. Sent again as it is, so the
    /// user is not asked for the PIN twice.
    prepared: Option<AssertionParams>,
    /// KEEPALIVE UPNEEDED arrived for the request on its way: the key blinks for a touch.
    touch_requested: bool,
    /// An expired PIN token was renewed once already.
    token_renewed: bool,
}

impl Ctap2Key {
    /// Asks the key for its getInfo.
    pub fn start(channel: &mut Channel, deadline: &Deadline) -> Result<Ctap2Key, ExchangeError> {
        let info = get_info(channel, deadline).map_err(|e| e.into_exchange(channel, "getInfo"))?;
        log::debug!(
            "CTAP2 key: versions {:?}, PIN {}, built-in UV {}, PIN/UV protocols {:?}",
            info.versions,
            match info.pin_set() {
                Some(true) => "set",
                Some(false) => "not set",
                None => "not supported",
            },
            info.built_in_uv(),
            info.pin_uv_auth_protocols
        );
        Ok(Ctap2Key {
            info,
            uv_demanded: false,
            sent: None,
            prepared: None,
            touch_requested: false,
            token_renewed: false,
        })
    }

    /// True once the key asked for a touch (KEEPALIVE UPNEEDED) for the request on its way.
    pub fn touch_requested(&self) -> bool {
        self.touch_requested
    }

    /// Asks silently (`up: false`, never blinks) whether the key holds the credential of `item`.
    pub fn probe(
        &mut self,
        channel: &mut Channel,
        job: &Job,
        item: usize,
        deadline: &Deadline,
    ) -> Result<Probed, ExchangeError> {
        let params = job.params(&[item], false);
        if params.allow_list.is_empty() {
            // Discoverable credentials: only the key's answer to the real request tells.
            return Ok(Probed::CannotTell);
        }
        let payload = params.to_cbor();
        match ctap2::call(channel, cmd::GET_ASSERTION, Some(&payload), "getAssertion (up=false)", deadline) {
            Ok(_) => Ok(Probed::Holds),
            Err(Ctap2Error::Status(status::NO_CREDENTIALS)) => Ok(Probed::NotHeld),
            Err(Ctap2Error::Status(
                status::UNSUPPORTED_OPTION
                | status::INVALID_OPTION
                | status::PUAT_REQUIRED
                | status::UP_REQUIRED,
            )) => Ok(Probed::CannotTell),
            Err(error) => Err(error.into_exchange(channel, "getAssertion (up=false)")),
        }
    }

    /// One turn of the real request for `items`: sends it when none is on its way (after
    /// preparing user verification, which may ask for the PIN), then reads its answer for up to
    /// `reply_budget`. `exchange_budget` bounds each short exchange of the PIN protocol.
    #[allow(clippy::too_many_arguments)]
    pub fn poll(
        &mut self,
        channel: &mut Channel,
        job: &Job,
        items: &[usize],
        deadline: &Deadline,
        reply_budget: Duration,
        exchange_budget: Duration,
        pin: Option<&PinCallback>,
    ) -> Result<Polled, ExchangeError> {
        if !channel.has_outstanding() || self.sent.is_none() {
            let params = match self.prepared.take() {
                Some(params) => params,
                None => {
                    let mut params = job.params(items, true);
                    params.verification = self.verification(channel, job, &params, deadline, pin)?;
                    params
                }
            };
            let payload = ctap2::request_payload(cmd::GET_ASSERTION, Some(&params.to_cbor()));
            let limit = self.info.max_msg_size.unwrap_or(DEFAULT_MAX_MSG_SIZE);
            if payload.len() as u64 > limit {
                return Err(channel
                    .error(format!(
                        "a getAssertion of {} bytes exceeds the key's maxMsgSize {limit}",
                        payload.len()
                    ))
                    .into());
            }
            if let Err(error) = channel.begin(command::CBOR, &payload, &deadline.within(exchange_budget)) {
                self.prepared = Some(params);
                return Err(error);
            }
            self.sent = Some(params);
            self.touch_requested = false;
        }
        let reply = channel.poll_reply(&deadline.within(reply_budget));
        if channel.stall().is_some_and(|stall| stall.awaits_touch()) && !self.touch_requested {
            log::debug!("CTAP2 key waits for a touch (KEEPALIVE UPNEEDED)");
            self.touch_requested = true;
        }
        let reply = reply?;
        let Some(params) = self.sent.take() else {
            return Err(channel.error("an answer to no request").into());
        };
        match ctap2::parse_reply(channel, "getAssertion", &reply) {
            Ok(Some(answer)) => {
                let response = AssertionResponse::parse(&answer)
                    .map_err(|e| channel.error(format!("getAssertion: {e}")))?;
                if response.number_of_credentials.is_some_and(|n| n > 1) {
                    log::debug!("the key holds several matching credentials; the first one answers");
                }
                job.finish(items, &params, &response).map(Polled::Signed).map_err(|e| {
                    channel.error(format!("the key was touched but its assertion is bad: {e}")).into()
                })
            }
            Ok(None) => Err(channel.error("getAssertion answered without data").into()),
            Err(Ctap2Error::Status(status::NO_CREDENTIALS)) => Ok(Polled::NotHeld),
            Err(Ctap2Error::Status(status::USER_ACTION_TIMEOUT | status::ACTION_TIMEOUT)) => {
                // The key stopped waiting for its touch before our deadline: ask again.
                log::debug!("the key timed out waiting for a touch; asking again");
                self.prepared = Some(params);
                Ok(Polled::Waiting)
            }
            Err(Ctap2Error::Status(status::PIN_AUTH_INVALID | status::PIN_TOKEN_EXPIRED))
                if matches!(params.verification, Verification::Token { .. }) && !self.token_renewed =>
            {
                // The token of a request sent again had expired: one new PIN flow.
                log::debug!(
                    "the key refused the PIN token of a request sent again; asking for the PIN once more"
                );
                self.token_renewed = true;
                Ok(Polled::Waiting)
            }
            Err(Ctap2Error::Status(status::PUAT_REQUIRED)) if !self.uv_demanded => {
                log::debug!("the key wants user verification (PUAT_REQUIRED); asking again with it");
                self.uv_demanded = true;
                Ok(Polled::Waiting)
            }
            Err(Ctap2Error::Status(code @ (status::OPERATION_DENIED | status::PIN_AUTH_INVALID)))
                if params.verification == Verification::BuiltIn =>
            {
                Err(ExchangeError::Device(
                    Error::new(
                        ErrorKind::UvFailed,
                        ctap2::status_error(channel, "built-in user verification", code).message(),
                    )
                    .with_device_code(DeviceCode::Ctap2(code)),
                ))
            }
            Err(error) => Err(error.into_exchange(channel, "getAssertion")),
        }
    }

    /// The items of one request: at most maxCredentialCountInList of them (the first ones).
    pub fn within_list_limit<'i>(&self, items: &'i [usize]) -> &'i [usize] {
        match self.info.max_credential_count_in_list.and_then(|n| usize::try_from(n).ok()) {
            Some(limit) if limit > 0 && items.len() > limit => {
                log::debug!(
                    "asking for {limit} of {} credentials (the key's maxCredentialCountInList)",
                    items.len()
                );
                &items[..limit]
            }
            _ => items,
        }
    }

    /// Gives up the request on its way (CTAPHID_CANCEL, then the key's answer is dropped).
    pub fn abandon(&mut self, channel: &mut Channel) {
        self.prepared = None;
        if self.sent.take().is_some() && channel.has_outstanding() {
            let answered = channel.cancel_outstanding();
            log::debug!("CTAP2 request cancelled (key answered: {answered})");
        }
    }

    /// What the request needs from this key: see [`plan`].
    fn verification(
        &self,
        channel: &mut Channel,
        job: &Job,
        params: &AssertionParams,
        deadline: &Deadline,
        pin: Option<&PinCallback>,
    ) -> Result<Verification, ExchangeError> {
        match plan(job.user_verification(), &self.info, self.uv_demanded) {
            Ok(Plan::None) => Ok(Verification::None),
            Ok(Plan::BuiltIn) => Ok(Verification::BuiltIn),
            Ok(Plan::Pin) => self.pin_verification(channel, params, deadline, pin),
            Err(error) => Err(channel_named(channel, error).into()),
        }
    }

    /// The PIN way: retries (a blocked PIN stops here), the caller's PIN, the token, the param.
    fn pin_verification(
        &self,
        channel: &mut Channel,
        params: &AssertionParams,
        deadline: &Deadline,
        callback: Option<&PinCallback>,
    ) -> Result<Verification, ExchangeError> {
        let protocol = pin::choose_protocol(&self.info).ok_or_else(|| {
            channel.error(format!(
                "the key offers no PIN/UV auth protocol this library speaks ({:?})",
                self.info.pin_uv_auth_protocols
            ))
        })?;
        let retries =
            pin_exchange(channel, deadline, |channel, budget| pin::retries(channel, protocol, budget))
                .map_err(|e| e.into_exchange(channel, "getPinRetries"))?;
        if retries == 0 {
            return Err(pin_error(
                channel,
                ErrorKind::PinBlocked,
                status::PIN_BLOCKED,
                "the PIN is blocked (no retries left); reset the key or unblock it with its vendor's tool",
            )
            .into());
        }
        let Some(callback) = callback else {
            return Err(pin_error(
                channel,
                ErrorKind::PinRequired,
                status::PUAT_REQUIRED,
                &format!("the request needs user verification and the key needs its PIN, but no PIN callback was given ({retries} retries left)"),
            )
            .into());
        };
        let given = callback(&PinRequest { retries_left: retries });
        // The user may have taken a while, or cancelled at the PIN prompt: a cancel or the
        // deadline wins over what the callback gave.
        deadline.check()?;
        let Some(secret) = given else {
            return Err(pin_error(
                channel,
                ErrorKind::PinRequired,
                status::PUAT_REQUIRED,
                "no PIN was given",
            )
            .into());
        };
        let minimum = self
            .info
            .min_pin_length
            .map_or(pin::MIN_PIN_CODE_POINTS, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if let Err(why) = pin::check_pin(&secret, minimum) {
            return Err(Error::new(
                ErrorKind::PinInvalid,
                format!(
                    "{}; it was not sent to the key ({retries} retries left)",
                    channel_prefixed(channel, &why)
                ),
            )
            .into());
        }
        let token = pin_exchange(channel, deadline, |channel, budget| {
            pin::token_with_pin(channel, &self.info, protocol, &secret, &params.rp_id, budget)
        });
        match token {
            Ok(token) => Ok(Verification::Token {
                param: token.auth_param(&params.client_data_hash),
                protocol: token.protocol().number(),
            }),
            Err(Ctap2Error::Status(status::PIN_INVALID)) => {
                let left = pin_exchange(channel, deadline, |channel, budget| {
                    pin::retries(channel, protocol, budget)
                })
                .ok();
                let message = match left {
                    Some(left) => format!("wrong PIN; {left} retries left"),
                    None => "wrong PIN".to_owned(),
                };
                Err(pin_error(channel, ErrorKind::PinInvalid, status::PIN_INVALID, &message).into())
            }
            Err(Ctap2Error::Status(code @ status::PIN_AUTH_BLOCKED)) => Err(pin_error(
                channel,
                ErrorKind::PinBlocked,
                code,
                "too many wrong PINs since the key was plugged in: unplug it and plug it in again",
            )
            .into()),
            Err(Ctap2Error::Status(code @ status::PIN_BLOCKED)) => {
                Err(pin_error(channel, ErrorKind::PinBlocked, code, "the PIN is blocked (no retries left)")
                    .into())
            }
            Err(error) => Err(error.into_exchange(channel, "clientPIN")),
        }
    }
}

/// Runs one clientPIN exchange within [`PIN_EXCHANGE_BUDGET`] (never past `deadline`); running
/// out of that budget is a device error rather than a turn to try again later.
fn pin_exchange<T>(
    channel: &mut Channel,
    deadline: &Deadline,
    exchange: impl FnOnce(&mut Channel, &Deadline) -> Result<T, Ctap2Error>,
) -> Result<T, Ctap2Error> {
    match exchange(channel, &deadline.within(PIN_EXCHANGE_BUDGET)) {
        Err(Ctap2Error::Exchange(ExchangeError::DeadlinePassed)) if deadline.check().is_ok() => Err(channel
            .error(format!("the key did not answer a clientPIN exchange within {PIN_EXCHANGE_BUDGET:?}"))
            .into()),
        other => other,
    }
}

/// How a request's user verification is done: built-in UV when the key has it configured and
/// UV is required or preferred; the PIN only when UV is required (by the request, by an
/// `alwaysUv` key, or by the key's PUAT_REQUIRED answer) and no built-in UV is there.
fn plan(policy: UserVerification, info: &Ctap2Info, demanded: bool) -> Result<Plan, Error> {
    let required = policy == UserVerification::Required || info.always_uv() || demanded;
    if info.built_in_uv() && (required || policy == UserVerification::Preferred) {
        return Ok(Plan::BuiltIn);
    }
    if !required {
        return Ok(Plan::None);
    }
    match info.pin_set() {
        Some(true) => Ok(Plan::Pin),
        _ => Err(Error::new(
            ErrorKind::PinRequired,
            "the request needs user verification, but the key has no PIN set and no built-in user \
             verification: set a PIN on the key",
        )
        .with_device_code(DeviceCode::Ctap2(status::PIN_NOT_SET))),
    }
}

fn channel_prefixed(channel: &Channel, message: &str) -> String {
    channel.error(message).message().to_owned()
}

fn channel_named(channel: &Channel, error: Error) -> Error {
    let mut named = Error::new(error.kind(), channel_prefixed(channel, error.message()));
    if let Some(code) = error.device_code() {
        named = named.with_device_code(code);
    }
    named
}

fn pin_error(channel: &Channel, kind: ErrorKind, code: u8, message: &str) -> Error {
    Error::new(kind, channel_prefixed(channel, message)).with_device_code(DeviceCode::Ctap2(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(options: &[(&str, bool)]) -> Ctap2Info {
        Ctap2Info {
            versions: vec!["FIDO_2_1".into()],
            options: options.iter().map(|(name, set)| ((*name).to_owned(), *set)).collect(),
            ..Ctap2Info::default()
        }
    }

    #[test]
    fn user_verification_plans() {
        use UserVerification::*;
        let pin = info(&[("clientPin", true)]);
        let uv = info(&[("clientPin", true), ("uv", true)]);
        let bare = info(&[("clientPin", false)]);
        let always = info(&[("clientPin", true), ("alwaysUv", true)]);
        assert_eq!(plan(Required, &pin, false).unwrap(), Plan::Pin);
        assert_eq!(plan(Preferred, &pin, false).unwrap(), Plan::None, "preferred never asks for the PIN");
        assert_eq!(plan(Discouraged, &pin, false).unwrap(), Plan::None);
        assert_eq!(plan(Discouraged, &pin, true).unwrap(), Plan::Pin, "the key demanded it");
        assert_eq!(plan(Required, &uv, false).unwrap(), Plan::BuiltIn);
        assert_eq!(plan(Preferred, &uv, false).unwrap(), Plan::BuiltIn);
        assert_eq!(plan(Discouraged, &uv, false).unwrap(), Plan::None);
        assert_eq!(plan(Discouraged, &always, false).unwrap(), Plan::Pin);
        let error = plan(Required, &bare, false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PinRequired);
        assert_eq!(error.device_code(), Some(DeviceCode::Ctap2(0x35)));
        assert_eq!(plan(Preferred, &bare, false).unwrap(), Plan::None);
    }
}
