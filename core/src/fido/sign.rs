//! The sign flow across all present devices: wait for a key, find which key owns which handle
//! (U2F check-only, or a silent CTAP2 getAssertion), then poll the owners for a touch; the first
//! touched owner signs. U2F:1 prefers CTAP1 on keys that have it and answers with CTAP2
//! getAssertion on keys without it (NMSG, no `U2F_V2`, `alwaysUv`); FIDO2:1 is CTAP2 only.
//!
//! Every exchange with one device has its own short budget (cut to the overall deadline), and the
//! devices take turns: owners are polled first in each round, then the devices still being probed
//! get one turn each. A device that does not answer within its budget sits out for as long as it
//! held the others up; after [`MAX_STRIKES`] such exchanges in a row it is dropped for this sign.
//! So a key that streams KEEPALIVE, stays BUSY or answers on the wrong channel never keeps a good
//! key beside it from being opened, probed and polled.

use std::time::{Duration, Instant};

use super::ctap2_key::{Ctap2Key, Polled, Probed};
use super::ctaphid::{Channel, Stall};
use super::deadline::{Deadline, ExchangeError};
use super::get_assertion::MAX_CREDENTIAL_ID_LEN;
use super::job::{Job, Signed};
use super::request::{Assertion, AssertionRequest, Prompt, SignOptions, SignRequest, SignResponse};
use super::transport::DeviceProvider;
use super::u2f::{self, Authentication, Control, PreparedRequest};
use crate::{DeviceCode, Error, ErrorKind, Result};

/// Pace of enforce-presence polling: a touch is seen within one interval (libfido2's U2F pace).
const TOUCH_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the device list is read while no owning key is present.
const INSERT_SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// How often the device list is read while waiting for a touch (for extra keys and removals).
const TOUCH_SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// Longest one exchange of the probe may take (INIT, or one check-only AUTHENTICATE; neither needs
/// a touch, and keys answer them in milliseconds). Also the soft limit of one device's probe turn.
const PROBE_BUDGET: Duration = Duration::from_secs(1);
/// First budget of one enforce-presence poll while other keys wait for their turn: U2F keys answer
/// `6985` at once until touched. A key that runs over gets twice the budget on its next turn, up
/// to [`MAX_POLL_BUDGET`], because the answer that ran over may be a signature being computed (a
/// slow key, a remote-HID bridge): abandoning it would lose the touch. A key alone polls without
/// a per-poll limit (only the overall deadline), as it can starve nobody.
const POLL_BUDGET: Duration = Duration::from_millis(300);
/// The largest per-poll budget a key grows to while other keys wait.
const MAX_POLL_BUDGET: Duration = Duration::from_millis(2400);
/// Exchanges in a row a device may leave unanswered within their budget before it is dropped.
const MAX_STRIKES: u32 = 3;

/// Signs the first request whose key handle a present device owns, once the user touches it.
///
/// Keys take turns, each exchange with one key within its own budget (1 s for a check-only probe,
/// 300 ms for an enforce-presence poll, never past `options.timeout`): a key that streams
/// KEEPALIVE, stays BUSY or does not answer cannot hold up a good key beside it, and after three
/// unanswered exchanges in a row it is dropped for this sign.
///
/// Errors, by kind:
/// - [`ErrorKind::Config`] / [`ErrorKind::MalformedServerData`]: no request, or a request that
///   cannot be sent to a key; no device is touched.
/// - [`ErrorKind::NoDevice`]: no FIDO device was listed at any time before the deadline.
/// - [`ErrorKind::NoMatchingKey`]: every present key answered the check-only probe and none owns
///   a handle; returned as soon as that is known, without waiting for the deadline.
/// - [`ErrorKind::UserPresenceTimeout`]: an owning key waited for a touch until the deadline
///   (also when it was pulled out meanwhile and not plugged back in).
/// - [`ErrorKind::DeviceProtocol`], at once: an owning key answered an enforce-presence request
///   with something other than `6985` or a valid signature (a short or malformed signature after
///   the touch, an unexpected status word, a CTAPHID error, broken framing); the key's status
///   word or CTAPHID error code is attached as [`DeviceCode`](crate::DeviceCode) when it sent
///   one. Also at once when every present key failed or was dropped, so the sign cannot succeed.
///   A key that kept answering ERR_CHANNEL_BUSY carries `DeviceCode::Ctaphid(0x06)`.
/// - [`ErrorKind::DeviceProtocol`], at the deadline: devices were present but had not finished
///   answering the check-only probe ("did not answer in time"). A key that does not answer a
///   probe which needs no touch is a device fault, not a missing touch, so this is not reported
///   as a presence timeout (the user was never asked to touch anything) nor as "no device".
/// - [`ErrorKind::Cancelled`]: the caller's cancel token fired.
pub fn sign(
    devices: &dyn DeviceProvider,
    requests: &[SignRequest],
    options: &SignOptions,
) -> Result<SignResponse> {
    if requests.is_empty() {
        return Err(Error::new(ErrorKind::Config, "there is no sign request to sign"));
    }
    let prepared = requests.iter().map(PreparedRequest::new).collect::<Result<Vec<_>>>()?;
    let deadline = Deadline::after(options.timeout, &options.cancel);
    let signed = SignFlow::new(devices, Job::U2f(&prepared), deadline, options).run();
    match signed? {
        Signed::U2f(response) => Ok(response),
        Signed::Fido2(_) => {
            Err(Error::new(ErrorKind::DeviceProtocol, "a U2F sign produced a FIDO2 assertion"))
        }
    }
}

/// Gets a FIDO2 assertion from the first CTAP2 key that holds an allowed credential and is
/// touched, with user verification as `request.user_verification` asks: built-in UV when the key
/// has it, else (only when UV is required) the PIN from `options.pin`. Keys take turns as in
/// [`sign`]; the request the touched key answered is checked (rpIdHash, flags, credential, DER
/// signature) before it is returned. Keys without CTAP2 are left alone.
///
/// Errors as [`sign`], plus: [`ErrorKind::PinRequired`] (UV required, the key needs its PIN and
/// none was given, or it has none set and no built-in UV), [`ErrorKind::PinInvalid`] (wrong PIN;
/// retries left in the message, device code CTAP2 `0x31`), [`ErrorKind::PinBlocked`],
/// [`ErrorKind::UvFailed`]; other CTAP2 errors are [`ErrorKind::DeviceProtocol`] with the CTAP2
/// status as [`DeviceCode::Ctap2`](crate::DeviceCode::Ctap2).
pub fn get_assertion(
    devices: &dyn DeviceProvider,
    request: &AssertionRequest,
    options: &SignOptions,
) -> Result<Assertion> {
    if request.rp_id.trim().is_empty() {
        return Err(Error::new(ErrorKind::MalformedServerData, "the assertion request has no rpId"));
    }
    if let Some(bad) =
        request.allow_credentials.iter().find(|id| id.is_empty() || id.len() > MAX_CREDENTIAL_ID_LEN)
    {
        return Err(Error::new(
            ErrorKind::MalformedServerData,
            format!(
                "an allowed credential id of {} bytes is not 1 to {MAX_CREDENTIAL_ID_LEN} bytes",
                bad.len()
            ),
        ));
    }
    let deadline = Deadline::after(options.timeout, &options.cancel);
    let signed = SignFlow::new(devices, Job::Fido2(request), deadline, options).run();
    match signed? {
        Signed::Fido2(assertion) => Ok(assertion),
        Signed::U2f(_) => Err(Error::new(ErrorKind::DeviceProtocol, "a FIDO2 sign produced a U2F answer")),
    }
}

/// A device seen in the list, in the order it was first listed.
struct Device {
    path: String,
    state: State,
}

/// What became of a device seen in the list.
enum State {
    /// Being asked, handle by handle, whether it owns them.
    Probing(Probe),
    /// Owns at least one handle: polled for a touch.
    Owner(Owner),
    /// Owns none of the handles (or has no U2F): left alone.
    NotOwner,
    /// Failed to open, answer or keep answering: left alone until it is plugged in again.
    Failed { error: Error, was_owner: bool },
}

/// How a device is spoken to, decided once its channel is open.
enum Protocol {
    /// U2F/CTAP1 (CTAPHID_MSG).
    U2f,
    /// CTAP2 (CTAPHID_CBOR); boxed, as its getInfo is large next to nothing.
    Ctap2(Box<Ctap2Key>),
}

/// A device whose check-only probe is under way.
struct Probe {
    /// `None` until INIT succeeded.
    channel: Option<Channel>,
    /// `None` until chosen (right after INIT; for CTAP2-capable keys after getInfo).
    protocol: Option<Protocol>,
    /// Index of the next request whose handle is to be checked.
    next_request: usize,
    /// Indices of the requests whose handles this device owns.
    owned: Vec<usize>,
    strikes: u32,
    next_turn: Instant,
}

/// An opened device that owns handles, waiting for its touch.
struct Owner {
    channel: Channel,
    /// The CTAP2 state of a key answered over CTAP2; `None` for U2F.
    ctap2: Option<Box<Ctap2Key>>,
    /// Indices into the prepared requests whose handles this device owns.
    owned: Vec<usize>,
    strikes: u32,
    next_poll: Instant,
    /// This key's budget for one poll while other keys wait (see [`POLL_BUDGET`]).
    poll_budget: Duration,
}

/// How one exchange within its budget ended.
enum Step<T> {
    Answered(T),
    /// The device did not finish answering within its budget (the overall deadline holds).
    Unanswered,
    Failed(Error),
    /// The overall deadline passed or the caller cancelled.
    Stopped(ExchangeError),
}

/// How one device's turn ended.
enum Turn {
    Continue(State),
    Signed(Signed),
    /// The sign ends now with this error; the device keeps `State`.
    End(Error, State),
    /// Deadline or cancel during the turn.
    Stopped(ExchangeError, State),
}

struct SignFlow<'a> {
    provider: &'a dyn DeviceProvider,
    job: Job<'a>,
    deadline: Deadline<'a>,
    options: &'a SignOptions,
    /// Devices present at the last scan.
    devices: Vec<Device>,
    ever_listed: bool,
    owner_found: bool,
    /// An owning key (or one that failed while owning) was pulled out: it may come back.
    owner_removed: bool,
    non_owner_found: bool,
    last_failure: Option<Error>,
    last_prompt: Option<Prompt>,
}

impl<'a> SignFlow<'a> {
    fn new(
        provider: &'a dyn DeviceProvider,
        job: Job<'a>,
        deadline: Deadline<'a>,
        options: &'a SignOptions,
    ) -> Self {
        SignFlow {
            provider,
            job,
            deadline,
            options,
            devices: Vec::new(),
            ever_listed: false,
            owner_found: false,
            owner_removed: false,
            non_owner_found: false,
            last_failure: None,
            last_prompt: None,
        }
    }

    fn run(&mut self) -> Result<Signed> {
        let mut next_scan = Instant::now();
        loop {
            self.deadline.check().map_err(|stop| self.stop_error(stop))?;
            if Instant::now() >= next_scan {
                self.scan()?;
                let interval = if self.has_owner() { TOUCH_SCAN_INTERVAL } else { INSERT_SCAN_INTERVAL };
                next_scan = Instant::now() + interval;
            }
            if let Some(response) = self.round()? {
                self.prompt(Prompt::Touched);
                return Ok(response);
            }
            if self.has_owner() {
                // A CTAP2 owner blinks only once its request is out and it said so (UPNEEDED).
                if self.awaits_touch() {
                    self.prompt(Prompt::TouchKey);
                }
            } else if self.has_probing() {
                // Keys are still being asked; nothing to tell the user yet.
            } else if self.devices.is_empty() || self.owner_found {
                // Nothing plugged in, or the owning key was pulled out: wait for (re-)insertion.
                self.prompt(Prompt::InsertKey);
            } else {
                // Every present key was asked and none owns a handle: waiting would not help.
                return Err(self.ineligible_error());
            }
            let wake = self.next_turn().map_or(next_scan, |turn| turn.min(next_scan));
            self.deadline.sleep_until(wake).map_err(|stop| self.stop_error(stop))?;
        }
    }

    /// Reads the device list: forgets removed devices, queues new ones for probing.
    fn scan(&mut self) -> Result<()> {
        let present = self.provider.list()?;
        let mut owner_removed = false;
        self.devices.retain(|device| {
            let still_there = present.iter().any(|info| info.path == device.path);
            if !still_there {
                owner_removed |=
                    matches!(device.state, State::Owner(_) | State::Failed { was_owner: true, .. });
                let role = if matches!(device.state, State::Owner(_)) { "owning key" } else { "device" };
                log::info!("{}: {role} removed", device.path);
            }
            still_there
        });
        self.owner_removed |= owner_removed;
        for info in present {
            self.ever_listed = true;
            if !self.devices.iter().any(|device| device.path == info.path) {
                let probe = Probe {
                    channel: None,
                    protocol: None,
                    next_request: 0,
                    owned: Vec::new(),
                    strikes: 0,
                    next_turn: Instant::now(),
                };
                self.devices.push(Device { path: info.path, state: State::Probing(probe) });
            }
        }
        Ok(())
    }

    /// One turn for every device whose turn it is: owners first (a poll is short and it is what
    /// the user waits for), then the devices being probed.
    fn round(&mut self) -> Result<Option<Signed>> {
        for polling in [true, false] {
            for index in 0..self.devices.len() {
                let now = Instant::now();
                let due = match &self.devices[index].state {
                    State::Owner(owner) => polling && owner.next_poll <= now,
                    State::Probing(probe) => !polling && probe.next_turn <= now,
                    State::NotOwner | State::Failed { .. } => false,
                };
                if !due {
                    continue;
                }
                let path = self.devices[index].path.clone();
                // The device's state is out of the list during its turn; NotOwner stands in.
                let turn = match std::mem::replace(&mut self.devices[index].state, State::NotOwner) {
                    State::Owner(owner) => self.poll_turn(&path, owner),
                    State::Probing(probe) => self.probe_turn(&path, probe),
                    other => Turn::Continue(other),
                };
                match turn {
                    Turn::Continue(state) => self.devices[index].state = state,
                    Turn::Signed(response) => return Ok(Some(response)),
                    Turn::End(error, state) => {
                        self.devices[index].state = state;
                        return Err(error);
                    }
                    Turn::Stopped(stop, state) => {
                        self.devices[index].state = state;
                        return Err(self.stop_error(stop));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Opens the device if needed and asks it about the remaining handles (never signs), each
    /// exchange within [`PROBE_BUDGET`]; yields once the turn used up that budget.
    fn probe_turn(&mut self, path: &str, mut probe: Probe) -> Turn {
        let job = self.job;
        let turn_started = Instant::now();
        loop {
            let budget = self.deadline.within(PROBE_BUDGET);
            if let (Some(channel), None) = (probe.channel.as_mut(), probe.protocol.as_ref()) {
                match self.choose_protocol(path, channel, &budget) {
                    Step::Answered(Some(protocol)) => probe.protocol = Some(protocol),
                    Step::Answered(None) => {
                        self.non_owner_found = true;
                        return Turn::Continue(State::NotOwner);
                    }
                    Step::Unanswered => return self.probe_unanswered(path, probe),
                    Step::Failed(error) => return Turn::Continue(self.failed(path, error)),
                    Step::Stopped(stop) => return Turn::Stopped(stop, State::Probing(probe)),
                }
            } else if let (Some(channel), Some(Protocol::Ctap2(key))) =
                (probe.channel.as_mut(), probe.protocol.as_mut())
            {
                match self.step(key.probe(channel, &job, probe.next_request, &budget)) {
                    Step::Answered(Probed::Holds | Probed::CannotTell) => {
                        probe.owned.push(probe.next_request)
                    }
                    Step::Answered(Probed::NotHeld) => {}
                    Step::Unanswered => return self.probe_unanswered(path, probe),
                    Step::Failed(error) => return Turn::Continue(self.failed(path, error)),
                    Step::Stopped(stop) => return Turn::Stopped(stop, State::Probing(probe)),
                }
                probe.next_request += 1;
            } else if let (Some(channel), Job::U2f(requests)) = (probe.channel.as_mut(), job) {
                let result =
                    u2f::authenticate(channel, Control::CheckOnly, &requests[probe.next_request], &budget);
                match self.step(result) {
                    Step::Answered(Authentication::PresenceRequired) => probe.owned.push(probe.next_request),
                    Step::Answered(Authentication::NotThisKey | Authentication::Signed(_)) => {}
                    Step::Unanswered => return self.probe_unanswered(path, probe),
                    Step::Failed(error)
                        if refuses_u2f(&error) && channel.init_reply().capabilities.cbor() =>
                    {
                        // It claimed U2F but has none: answer the same requests over CTAP2.
                        log::info!("{path}: refuses U2F ({error}); using CTAP2");
                        match self.step(Ctap2Key::start(channel, &budget)) {
                            Step::Answered(key) => probe.protocol = Some(Protocol::Ctap2(Box::new(key))),
                            Step::Unanswered => return self.probe_unanswered(path, probe),
                            Step::Failed(error) => return Turn::Continue(self.failed(path, error)),
                            Step::Stopped(stop) => return Turn::Stopped(stop, State::Probing(probe)),
                        }
                        continue;
                    }
                    Step::Failed(error) => return Turn::Continue(self.failed(path, error)),
                    Step::Stopped(stop) => return Turn::Stopped(stop, State::Probing(probe)),
                }
                probe.next_request += 1;
            } else if probe.channel.is_some() {
                // Only U2F jobs are asked over U2F; choose_protocol never picks it for another.
                return Turn::Continue(self.failed(
                    path,
                    Error::new(ErrorKind::DeviceProtocol, format!("{path}: no protocol for this request")),
                ));
            } else {
                let transport = match self.provider.open(path) {
                    Ok(transport) => transport,
                    Err(error) => return Turn::Continue(self.failed(path, error)),
                };
                match self.step(Channel::open(transport, path, &budget)) {
                    Step::Answered(channel) => probe.channel = Some(channel),
                    Step::Unanswered => return self.probe_unanswered(path, probe),
                    Step::Failed(error) => return Turn::Continue(self.failed(path, error)),
                    Step::Stopped(stop) => return Turn::Stopped(stop, State::Probing(probe)),
                }
            }
            probe.strikes = 0;
            if probe.next_request == job.len() {
                return Turn::Continue(self.probed(path, probe));
            }
            if turn_started.elapsed() >= PROBE_BUDGET {
                // A slow but answering key: the others get their turn before it goes on.
                probe.next_turn = Instant::now();
                return Turn::Continue(State::Probing(probe));
            }
        }
    }

    fn probed(&mut self, path: &str, probe: Probe) -> State {
        let count = self.job.len();
        match probe.channel {
            Some(channel) if !probe.owned.is_empty() => {
                log::debug!("{path}: owns {} of the {count} key handles", probe.owned.len());
                self.owner_found = true;
                let ctap2 = match probe.protocol {
                    Some(Protocol::Ctap2(key)) => Some(key),
                    _ => None,
                };
                State::Owner(Owner {
                    channel,
                    ctap2,
                    owned: probe.owned,
                    strikes: 0,
                    next_poll: Instant::now(),
                    poll_budget: POLL_BUDGET,
                })
            }
            _ => {
                log::debug!("{path}: owns none of the {count} key handles; left alone");
                self.non_owner_found = true;
                State::NotOwner
            }
        }
    }

    /// A probe exchange ran out of its budget: the device sits out a while, or is dropped.
    fn probe_unanswered(&mut self, path: &str, mut probe: Probe) -> Turn {
        probe.strikes += 1;
        let stall = probe.channel.as_ref().and_then(Channel::stall);
        if probe.strikes >= MAX_STRIKES {
            let error = unanswered_error(path, PROBE_BUDGET, stall);
            log::debug!("{path}: dropped from this sign: {error}");
            self.last_failure = Some(error.clone());
            return Turn::Continue(State::Failed { error, was_owner: false });
        }
        log::debug!(
            "{path}: no answer to the probe within {PROBE_BUDGET:?} ({}/{MAX_STRIKES}); others go first",
            probe.strikes
        );
        probe.next_turn = Instant::now() + PROBE_BUDGET;
        Turn::Continue(State::Probing(probe))
    }

    /// One enforce-presence request within [`POLL_BUDGET`]; a signature wins the sign.
    fn poll_turn(&mut self, path: &str, mut owner: Owner) -> Turn {
        let Job::U2f(requests) = self.job else {
            return self.ctap2_poll_turn(path, owner);
        };
        if owner.ctap2.is_some() {
            return self.ctap2_poll_turn(path, owner);
        }
        let started = Instant::now();
        let request = &requests[owner.owned[0]];
        // This device's own state is out of the list during its turn: any left is another key.
        let alone = !self.has_owner() && !self.has_probing();
        let budget = if alone { self.deadline } else { self.deadline.within(owner.poll_budget) };
        let result = u2f::authenticate(&mut owner.channel, Control::EnforcePresence, request, &budget);
        match self.step(result) {
            Step::Answered(Authentication::Signed(signature)) => {
                log::debug!("{path}: touched; signature counter {}", signature.counter());
                Turn::Signed(Signed::U2f(request.sign_response(&signature)))
            }
            Step::Answered(Authentication::PresenceRequired) => {
                owner.strikes = 0;
                owner.next_poll = started + TOUCH_POLL_INTERVAL;
                Turn::Continue(State::Owner(owner))
            }
            Step::Answered(Authentication::NotThisKey) => {
                // It claimed the handle in the probe but now refuses it: try its next one.
                owner.strikes = 0;
                owner.owned.remove(0);
                if owner.owned.is_empty() {
                    let error = Error::new(
                        ErrorKind::DeviceProtocol,
                        format!("{path}: refused the key handles it claimed when probed"),
                    );
                    log::warn!("{error}");
                    return self.owner_dropped(error);
                }
                owner.next_poll = Instant::now();
                Turn::Continue(State::Owner(owner))
            }
            Step::Unanswered if owner.channel.stall().is_some_and(Stall::awaits_touch) => {
                // The key holds its answer until touched (KEEPALIVE UPNEEDED): alive and waiting.
                owner.strikes = 0;
                owner.next_poll = Instant::now();
                Turn::Continue(State::Owner(owner))
            }
            Step::Unanswered => {
                owner.strikes += 1;
                let budget = owner.poll_budget;
                owner.poll_budget = (budget * 2).min(MAX_POLL_BUDGET);
                if owner.strikes >= MAX_STRIKES {
                    let error = unanswered_error(path, budget, owner.channel.stall());
                    log::debug!("{path}: dropped from this sign: {error}");
                    return self.owner_dropped(error);
                }
                log::debug!(
                    "{path}: no answer to a poll within {budget:?} ({}/{MAX_STRIKES}); others go first",
                    owner.strikes
                );
                owner.next_poll = Instant::now() + TOUCH_POLL_INTERVAL;
                Turn::Continue(State::Owner(owner))
            }
            Step::Failed(error) if owner.channel.transport_failed() => {
                // Unplugged (or lost by the OS): like a removal, wait for it to come back.
                log::info!("{path}: owning key went away while waiting for a touch: {error}");
                self.last_failure = Some(error.clone());
                Turn::Continue(State::Failed { error, was_owner: true })
            }
            Step::Failed(error) => {
                // The key answered, but wrongly (bad signature after the touch, error status, CTAPHID
                // error, broken framing). The user is probably touching it: tell them now.
                log::warn!("{path}: failed while waiting for a touch: {error}");
                self.last_failure = Some(error.clone());
                Turn::End(error.clone(), State::Failed { error, was_owner: true })
            }
            Step::Stopped(stop) => Turn::Stopped(stop, State::Owner(owner)),
        }
    }

    /// One turn of a CTAP2 owner: its getAssertion (sent on the first turn, after user
    /// verification was prepared) is read for up to [`POLL_BUDGET`]; the key holds it until
    /// touched, sending KEEPALIVE, so an unanswered turn is no strike.
    fn ctap2_poll_turn(&mut self, path: &str, mut owner: Owner) -> Turn {
        let Some(key) = owner.ctap2.as_mut() else {
            return Turn::End(
                Error::new(
                    ErrorKind::DeviceProtocol,
                    format!("{path}: a U2F key asked for a FIDO2 assertion"),
                ),
                State::NotOwner,
            );
        };
        let items = match self.job {
            Job::U2f(_) => vec![owner.owned[0]],
            Job::Fido2(_) => key.within_list_limit(&owner.owned).to_vec(),
        };
        let job = self.job;
        let result = key.poll(
            &mut owner.channel,
            &job,
            &items,
            &self.deadline,
            POLL_BUDGET,
            PROBE_BUDGET,
            self.options.pin.as_ref(),
        );
        match self.step(result) {
            Step::Answered(Polled::Signed(signed)) => {
                log::debug!("{path}: touched; CTAP2 assertion received");
                Turn::Signed(signed)
            }
            Step::Answered(Polled::Waiting) | Step::Unanswered => {
                owner.strikes = 0;
                owner.next_poll = Instant::now();
                Turn::Continue(State::Owner(owner))
            }
            Step::Answered(Polled::NotHeld) => {
                owner.owned.retain(|item| !items.contains(item));
                if owner.owned.is_empty() {
                    log::debug!("{path}: holds none of the credentials (NO_CREDENTIALS); left alone");
                    self.non_owner_found = true;
                    // It never owned any: only an owner that may still answer or come back keeps
                    // the sign waiting (else it would wait out its deadline as for a pulled key).
                    self.owner_found = self.owner_removed
                        || self.devices.iter().any(|device| {
                            matches!(device.state, State::Owner(_) | State::Failed { was_owner: true, .. })
                        });
                    return Turn::Continue(State::NotOwner);
                }
                owner.next_poll = Instant::now();
                Turn::Continue(State::Owner(owner))
            }
            Step::Failed(error) if owner.channel.transport_failed() => {
                log::info!("{path}: owning key went away while waiting for a touch: {error}");
                self.last_failure = Some(error.clone());
                Turn::Continue(State::Failed { error, was_owner: true })
            }
            Step::Failed(error) => {
                // A PIN or UV failure, or a key that answered wrongly: the user must hear it now.
                log::warn!("{path}: failed while waiting for a touch: {error}");
                self.last_failure = Some(error.clone());
                Turn::End(error.clone(), State::Failed { error, was_owner: true })
            }
            Step::Stopped(stop) => Turn::Stopped(stop, State::Owner(owner)),
        }
    }

    /// How the device just opened is spoken to, `None` when it cannot do this job. U2F jobs use
    /// CTAP1 whenever the key has it (today's keys see no extra exchange) and CTAP2 on keys
    /// without it (NMSG; a key that turns out to refuse U2F is switched in the probe); FIDO2 jobs
    /// need CTAP2.
    fn choose_protocol(
        &mut self,
        path: &str,
        channel: &mut Channel,
        budget: &Deadline,
    ) -> Step<Option<Protocol>> {
        let capabilities = channel.init_reply().capabilities;
        if !self.job.needs_ctap2() && !capabilities.no_msg() {
            return Step::Answered(Some(Protocol::U2f));
        }
        if !capabilities.cbor() {
            let missing =
                if self.job.needs_ctap2() { "CTAP2 (no CBOR capability)" } else { "U2F (NMSG) and CTAP2" };
            log::info!("{path}: key without {missing}; left alone");
            return Step::Answered(None);
        }
        if !self.job.needs_ctap2() {
            log::info!("{path}: key without U2F (NMSG); answering the U2F requests over CTAP2");
        }
        match self.step(Ctap2Key::start(channel, budget)) {
            Step::Answered(key) => Step::Answered(Some(Protocol::Ctap2(Box::new(key)))),
            Step::Failed(error) => Step::Failed(error),
            Step::Unanswered => Step::Unanswered,
            Step::Stopped(stop) => Step::Stopped(stop),
        }
    }

    /// Some owner waits for a touch now: a U2F owner (it refuses until touched) or a CTAP2
    /// owner whose key said UPNEEDED.
    fn awaits_touch(&self) -> bool {
        self.devices.iter().any(|device| match &device.state {
            State::Owner(Owner { ctap2: Some(key), .. }) => key.touch_requested(),
            State::Owner(_) => true,
            _ => false,
        })
    }

    /// An owner left the round; with no other owner and no probe left, the sign cannot succeed.
    fn owner_dropped(&mut self, error: Error) -> Turn {
        self.last_failure = Some(error.clone());
        let state = State::Failed { error: error.clone(), was_owner: true };
        if self.has_owner() || self.has_probing() {
            Turn::Continue(state)
        } else {
            Turn::End(error, state)
        }
    }

    fn step<T>(&self, result: std::result::Result<T, ExchangeError>) -> Step<T> {
        match result {
            Ok(answer) => Step::Answered(answer),
            Err(ExchangeError::Device(error)) => Step::Failed(error),
            Err(ExchangeError::DeadlinePassed) if self.deadline.check().is_ok() => Step::Unanswered,
            Err(stop) => Step::Stopped(stop),
        }
    }

    fn failed(&mut self, path: &str, error: Error) -> State {
        log::warn!("{path}: left alone after a failure: {error}");
        self.last_failure = Some(error.clone());
        State::Failed { error, was_owner: false }
    }

    fn has_owner(&self) -> bool {
        self.devices.iter().any(|device| matches!(device.state, State::Owner(_)))
    }

    fn has_probing(&self) -> bool {
        self.devices.iter().any(|device| matches!(device.state, State::Probing(_)))
    }

    fn next_turn(&self) -> Option<Instant> {
        self.devices
            .iter()
            .filter_map(|device| match &device.state {
                State::Owner(owner) => Some(owner.next_poll),
                State::Probing(probe) => Some(probe.next_turn),
                State::NotOwner | State::Failed { .. } => None,
            })
            .min()
    }

    fn prompt(&mut self, prompt: Prompt) {
        if self.last_prompt == Some(prompt) {
            return;
        }
        self.last_prompt = Some(prompt);
        log::debug!("prompt: {prompt:?}");
        if let Some(callback) = &self.options.prompt {
            callback(prompt);
        }
    }

    /// The error when no present key owns a handle.
    fn ineligible_error(&self) -> Error {
        const NONE_REGISTERED: &str = "none of the present keys is registered for this user";
        match &self.last_failure {
            Some(failure) if !self.non_owner_found => failure.clone(),
            // Say so when a key could not be asked: it may have been the registered one.
            Some(failure) => Error::new(
                ErrorKind::NoMatchingKey,
                format!("{NONE_REGISTERED} (another could not be asked: {})", failure.message()),
            ),
            None => Error::new(ErrorKind::NoMatchingKey, NONE_REGISTERED),
        }
    }

    /// The error for a deadline or cancel, chosen by how far the flow got.
    fn stop_error(&self, stop: ExchangeError) -> Error {
        match stop {
            ExchangeError::Device(error) => error,
            ExchangeError::Cancelled => {
                Error::new(ErrorKind::Cancelled, "the sign operation was stopped by the caller")
            }
            ExchangeError::DeadlinePassed => self.deadline_error(),
        }
    }

    /// What the deadline found: see the error list of [`sign`].
    fn deadline_error(&self) -> Error {
        let timeout = self.options.timeout;
        let no_touch = || Error::new(ErrorKind::UserPresenceTimeout, format!("no touch within {timeout:?}"));
        if self.has_owner() {
            return no_touch();
        }
        let failed_owner = self.devices.iter().find_map(|device| match &device.state {
            State::Failed { error, was_owner: true } => Some(error.clone()),
            _ => None,
        });
        if let Some(error) = failed_owner {
            return error;
        }
        if self.owner_found {
            // The owning key was pulled out and not plugged back in: still no touch.
            return Error::new(
                ErrorKind::UserPresenceTimeout,
                format!(
                    "the security key was removed while waiting for a touch and not plugged back in \
                     within {timeout:?}"
                ),
            );
        }
        let unanswered: Vec<(&str, Option<Stall>)> = self
            .devices
            .iter()
            .filter_map(|device| match &device.state {
                State::Probing(probe) => {
                    Some((device.path.as_str(), probe.channel.as_ref().and_then(Channel::stall)))
                }
                _ => None,
            })
            .collect();
        if !unanswered.is_empty() {
            let paths = unanswered.iter().map(|(path, _)| *path).collect::<Vec<_>>().join(", ");
            let mut message = match unanswered.len() {
                1 => format!("the security key {paths} is plugged in but did not answer within {timeout:?}"),
                _ => {
                    format!("the security keys {paths} are plugged in but did not answer within {timeout:?}")
                }
            };
            for (path, stall) in &unanswered {
                if let Some(stall) = stall {
                    message.push_str(&format!("; {path} {stall}"));
                }
            }
            let mut error = Error::new(ErrorKind::DeviceProtocol, message);
            if let Some(code) = unanswered.iter().find_map(|(_, stall)| stall.and_then(Stall::device_code)) {
                error = error.with_device_code(code);
            }
            return error;
        }
        if self.non_owner_found || self.last_failure.is_some() {
            return self.ineligible_error();
        }
        if self.ever_listed {
            return Error::new(
                ErrorKind::DeviceProtocol,
                format!("a security key was plugged in but removed before it answered (within {timeout:?})"),
            );
        }
        Error::new(ErrorKind::NoDevice, format!("no security key was inserted within {timeout:?}"))
    }
}

impl Drop for SignFlow<'_> {
    /// Every CTAP2 request still on its way (a key not touched, or the sign cancelled or timed
    /// out) is cancelled with CTAPHID_CANCEL, so the key stops blinking and stays usable.
    fn drop(&mut self) {
        for device in &mut self.devices {
            if let State::Owner(Owner { channel, ctap2: Some(key), .. }) = &mut device.state {
                key.abandon(channel);
            }
        }
    }
}

/// A key answered a U2F request as a key without CTAP1 does: CTAPHID ERR_INVALID_CMD (no MSG)
/// or `6D00` (instruction not supported).
fn refuses_u2f(error: &Error) -> bool {
    matches!(error.device_code(), Some(DeviceCode::Ctaphid(0x01) | DeviceCode::StatusWord(0x6D00)))
}

/// The error of a device dropped for leaving [`MAX_STRIKES`] exchanges in a row unanswered.
fn unanswered_error(path: &str, budget: Duration, stall: Option<Stall>) -> Error {
    let mut message = format!("{path}: no answer within {budget:?}, {MAX_STRIKES} times in a row");
    if let Some(stall) = stall {
        message.push_str(&format!("; it {stall}"));
    }
    let error = Error::new(ErrorKind::DeviceProtocol, message);
    match stall.and_then(Stall::device_code) {
        Some(code) => error.with_device_code(code),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    //! The flow against scripted keys speaking real CTAPHID: each key reassembles requests and
    //! answers INIT, check-only and enforce-presence as its script says.

    use std::collections::VecDeque;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;
    use crate::fido::frame::{command, fragment, Packet, Reassembly, BROADCAST_CID};
    use crate::fido::test_support::{hex, sign_vector};
    use crate::fido::transport::{DeviceInfo, HidTransport, Report, REPORT_LEN};
    use crate::DeviceCode;

    const APP_ID: &str = "https://aa.example.com";

    /// How a scripted key answers a MSG request.
    #[derive(Clone, Debug)]
    enum Answer {
        /// As a U2F key: `6A80` for foreign handles, `6985` to check-only, then per `enforce`.
        U2f,
        /// KEEPALIVE STATUS_PROCESSING, forever; never the answer.
        Keepalive,
        /// ERR_CHANNEL_BUSY, every time.
        Busy,
        /// A valid signature (the Google vector's response data) and `9000`.
        Sign,
        /// These reply bytes (data ‖ status word).
        Apdu(Vec<u8>),
        /// CTAPHID ERROR with this code.
        HidError(u8),
    }

    #[derive(Clone, Debug)]
    struct Key {
        handle: Vec<u8>,
        /// Every MSG.
        msg: Answer,
        /// Enforce-presence for its own handle, when `msg` is [`Answer::U2f`].
        enforce: Answer,
        /// A CTAP2-only key (INIT: WINK, CBOR, NMSG) holding no credential: getInfo lists
        /// FIDO_2_0; it cannot tell silently (UNSUPPORTED_OPTION to `up: false`), and answers the
        /// real getAssertion NO_CREDENTIALS.
        ctap2_without_credentials: bool,
    }

    impl Key {
        fn new(seed: u8, msg: Answer, enforce: Answer) -> Self {
            Key { handle: vec![seed; 64], msg, enforce, ctap2_without_credentials: false }
        }

        fn ctap2_without_credentials(seed: u8) -> Self {
            Key { ctap2_without_credentials: true, ..Key::good(seed) }
        }

        fn good(seed: u8) -> Self {
            Key::new(seed, Answer::U2f, Answer::Sign)
        }

        fn request(&self) -> SignRequest {
            SignRequest {
                version: "U2F_V2".into(),
                challenge: "c2lnbiBtZQ".into(),
                key_handle: URL_SAFE_NO_PAD.encode(&self.handle),
                app_id: APP_ID.into(),
            }
        }
    }

    struct Keys(Vec<Key>);

    impl DeviceProvider for Keys {
        fn list(&self) -> Result<Vec<DeviceInfo>> {
            Ok((0..self.0.len())
                .map(|n| DeviceInfo { path: format!("key:{n}"), ..DeviceInfo::default() })
                .collect())
        }

        fn open(&self, path: &str) -> Result<Box<dyn HidTransport>> {
            let n: usize = path.trim_start_matches("key:").parse().unwrap();
            Ok(Box::new(Scripted {
                key: self.0[n].clone(),
                incoming: None,
                pending: VecDeque::new(),
                streaming: None,
            }))
        }
    }

    struct Scripted {
        key: Key,
        incoming: Option<(u32, u8, Reassembly)>,
        pending: VecDeque<Report>,
        /// KEEPALIVE to stream on this channel.
        streaming: Option<u32>,
    }

    impl Scripted {
        fn answer(&mut self, cid: u32, cmd: u8, payload: &[u8]) {
            if cmd == command::INIT {
                self.streaming = None;
                let mut reply = payload.to_vec();
                let new_cid = if cid == BROADCAST_CID { 0x0100_0001 } else { cid };
                reply.extend_from_slice(&new_cid.to_be_bytes());
                let capabilities = if self.key.ctap2_without_credentials { 0x0D } else { 0x01 };
                reply.extend_from_slice(&[2, 1, 0, 0, capabilities]);
                return self.pending.extend(fragment(cid, command::INIT, &reply).unwrap());
            }
            if cmd == command::CBOR && self.key.ctap2_without_credentials {
                let reply = match payload[0] {
                    0x04 => [&[0x00][..], &hex("a10181684649444f5f325f30")].concat(),
                    _ if payload.ends_with(&hex("05a1627570f4")) => vec![0x2B],
                    _ => vec![0x2E],
                };
                return self.pending.extend(fragment(cid, command::CBOR, &reply).unwrap());
            }
            if cmd != command::MSG {
                return; // CANCEL has no answer; nothing else is sent to a U2F key here.
            }
            let mut answer = self.key.msg.clone();
            if matches!(answer, Answer::U2f) {
                let data = &payload[7..];
                let handle = &data[65..65 + usize::from(data[64])];
                answer = match payload[2] {
                    _ if handle != self.key.handle => Answer::Apdu(vec![0x6A, 0x80]),
                    0x07 => Answer::Apdu(vec![0x69, 0x85]),
                    _ => self.key.enforce.clone(),
                };
            }
            let reply = match answer {
                Answer::Keepalive => return self.streaming = Some(cid),
                Answer::Busy => fragment(cid, command::ERROR, &[0x06]),
                Answer::HidError(code) => fragment(cid, command::ERROR, &[code]),
                Answer::Sign => {
                    let mut signed = hex(sign_vector()["response_data"].as_str().unwrap());
                    signed.extend_from_slice(&[0x90, 0x00]);
                    fragment(cid, command::MSG, &signed)
                }
                Answer::Apdu(bytes) => fragment(cid, command::MSG, &bytes),
                Answer::U2f => unreachable!("resolved above"),
            };
            self.pending.extend(reply.unwrap());
        }
    }

    impl HidTransport for Scripted {
        fn write_report(&mut self, report: &Report) -> Result<()> {
            let complete = match Packet::parse(report) {
                Packet::Init { cid, command, length, data } => {
                    let started = Reassembly::start(length, data).unwrap();
                    self.incoming = Some((cid, command, started));
                    true
                }
                Packet::Continuation { seq, data, .. } => match self.incoming.as_mut() {
                    Some((_, _, partial)) => partial.push(seq, data).is_ok(),
                    None => false,
                },
            };
            if complete && self.incoming.as_ref().is_some_and(|(_, _, partial)| partial.is_complete()) {
                let (cid, cmd, done) = self.incoming.take().unwrap();
                self.answer(cid, cmd, &done.into_payload());
            }
            Ok(())
        }

        fn read_report(&mut self, timeout: Duration) -> Result<Option<Report>> {
            if let Some(report) = self.pending.pop_front() {
                return Ok(Some(report));
            }
            match self.streaming {
                Some(cid) => {
                    std::thread::sleep(timeout.min(Duration::from_millis(20)));
                    let mut keepalive = [0u8; REPORT_LEN];
                    keepalive[..4].copy_from_slice(&cid.to_be_bytes());
                    keepalive[4..8].copy_from_slice(&[0x80 | command::KEEPALIVE, 0, 1, 0x01]);
                    Ok(Some(keepalive))
                }
                None => {
                    std::thread::sleep(timeout);
                    Ok(None)
                }
            }
        }
    }

    fn sign_with(keys: Vec<Key>, requests: &[SignRequest], timeout: Duration) -> Result<SignResponse> {
        let options = SignOptions { timeout, ..SignOptions::default() };
        sign(&Keys(keys), requests, &options)
    }

    #[test]
    fn a_keepalive_streaming_key_and_a_busy_key_do_not_starve_a_good_one() {
        let streaming = Key::new(1, Answer::Keepalive, Answer::Sign);
        let busy = Key::new(2, Answer::Busy, Answer::Sign);
        let good = Key::good(3);
        let requests = [streaming.request(), busy.request(), good.request()];
        // Below the 5 s a probe could once take: a starving flow runs out of time on the first key.
        let response = sign_with(vec![streaming, busy, good.clone()], &requests, Duration::from_secs(4))
            .expect("the good key signs");
        assert_eq!(response.key_handle, good.request().key_handle);
    }

    #[test]
    fn an_owner_that_streams_keepalive_on_polls_does_not_starve_another_owner() {
        let stuck = Key::new(1, Answer::U2f, Answer::Keepalive);
        let good = Key::good(2);
        let requests = [stuck.request(), good.request()];
        let response = sign_with(vec![stuck, good.clone()], &requests, Duration::from_secs(3))
            .expect("the good key signs");
        assert_eq!(response.key_handle, good.request().key_handle);
    }

    #[test]
    fn a_bad_answer_after_the_touch_is_a_device_error_at_once() {
        let vector = hex(sign_vector()["response_data"].as_str().unwrap());
        let short = [&vector[..8], &[0x90, 0x00]].concat();
        let garbage = [&vector[..5], &[0xA5; 70][..], &[0x90, 0x00]].concat();
        let cases = [
            (Answer::Apdu(short), None),
            (Answer::Apdu(garbage), None),
            (Answer::Apdu(vec![0x6F, 0x00]), Some(DeviceCode::StatusWord(0x6F00))),
            (Answer::HidError(0x7F), Some(DeviceCode::Ctaphid(0x7F))),
        ];
        for (enforce, code) in cases {
            let key = Key::new(1, Answer::U2f, enforce.clone());
            // Far longer than the test takes: waiting for it would show as a presence timeout.
            let error = sign_with(vec![key.clone()], &[key.request()], Duration::from_secs(20)).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::DeviceProtocol, "{enforce:?}: {error}");
            assert_eq!(error.device_code(), code, "{enforce:?}: {error}");
            assert!(error.message().contains("key:0"), "{error}");
        }
    }

    #[test]
    fn a_deadline_during_the_probe_says_the_key_did_not_answer() {
        let streaming = Key::new(1, Answer::Keepalive, Answer::Sign);
        let error = sign_with(vec![streaming.clone()], &[streaming.request()], Duration::from_millis(600))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::DeviceProtocol, "{error}");
        assert!(error.message().contains("key:0") && error.message().contains("did not answer"), "{error}");

        let nothing = sign_with(Vec::new(), &[streaming.request()], Duration::from_millis(300)).unwrap_err();
        assert_eq!(nothing.kind(), ErrorKind::NoDevice, "{nothing}");
    }

    #[test]
    fn a_key_that_keeps_not_answering_is_dropped_and_named() {
        let busy = Key::new(1, Answer::Busy, Answer::Sign);
        // Long enough for the strikes to run out first: the message tells which limit ended it.
        let error = sign_with(vec![busy.clone()], &[busy.request()], Duration::from_secs(30)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::DeviceProtocol, "{error}");
        assert!(error.message().contains("times in a row") && error.message().contains("BUSY"), "{error}");
        assert_eq!(error.device_code(), Some(DeviceCode::Ctaphid(0x06)));
    }

    #[test]
    fn a_good_key_beside_a_key_owning_nothing_signs_and_nothing_else_is_no_matching_key() {
        let stranger = Key::good(1);
        let owner = Key::good(2);
        let response =
            sign_with(vec![stranger.clone(), owner.clone()], &[owner.request()], Duration::from_secs(5))
                .unwrap();
        assert_eq!(response.key_handle, owner.request().key_handle);
        let error = sign_with(vec![stranger], &[owner.request()], Duration::from_secs(20)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NoMatchingKey, "{error}");
    }

    /// Found by the ctap2_answers fuzz target: an owner whose getAssertion answer was
    /// NO_CREDENTIALS made the flow wait out its deadline as if the key had been pulled out, then
    /// say so ("removed while waiting for a touch").
    #[test]
    fn a_ctap2_key_holding_none_of_the_credentials_is_no_matching_key_at_once() {
        let key = Key::ctap2_without_credentials(1);
        // Discoverable credentials (no probe), and a list the silent probe cannot tell about.
        for allow_credentials in [Vec::new(), vec![key.handle.clone()]] {
            let request = AssertionRequest {
                rp_id: "aa.example.com".into(),
                client_data_hash: [7; 32],
                allow_credentials,
                user_verification: crate::fido::UserVerification::Discouraged,
            };
            // Far longer than the test takes: waiting for it would show as a presence timeout.
            let options = SignOptions { timeout: Duration::from_secs(20), ..SignOptions::default() };
            let error = get_assertion(&Keys(vec![key.clone()]), &request, &options).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::NoMatchingKey, "{error}");
        }
    }
}
