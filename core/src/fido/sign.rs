//! The U2F sign flow across all present devices: wait for a key, find which key owns which handle
//! (check-only), then poll the owners for a touch; the first touched owner signs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::ctaphid::Channel;
use super::deadline::{Deadline, ExchangeError};
use super::u2f::{self, Authentication, Control, PreparedRequest};
use super::{DeviceProvider, Prompt, SignOptions, SignRequest, SignResponse};
use crate::{Error, ErrorKind, Result};

/// Pace of enforce-presence polling: a touch is seen within one interval (libfido2's U2F pace).
const TOUCH_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the device list is read while no owning key is present.
const INSERT_SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// How often the device list is read while waiting for a touch (for extra keys and removals).
const TOUCH_SCAN_INTERVAL: Duration = Duration::from_millis(500);
/// Longest time spent opening and probing one device, so a mute device cannot stall the others.
const PROBE_BUDGET: Duration = Duration::from_secs(5);

/// Signs the first request whose key handle a present device owns, once the user touches it.
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
    SignFlow::new(devices, &prepared, deadline, options).run()
}

/// What became of a device seen in the list.
enum Seen {
    /// Owns at least one handle: polled for a touch.
    Owner(Owner),
    /// Owns none of the handles (or has no U2F): left alone.
    NotOwner,
    /// Failed to open, INIT or answer: left alone until it is plugged in again.
    Failed,
}

/// An opened device that owns handles, waiting for its touch.
struct Owner {
    channel: Channel,
    /// Indices into the prepared requests whose handles this device owns.
    owned: Vec<usize>,
    next_poll: Instant,
}

/// What one round of touch polling found.
enum PollResult {
    Signed(SignResponse),
    Waiting,
}

struct SignFlow<'a> {
    devices: &'a dyn DeviceProvider,
    requests: &'a [PreparedRequest],
    deadline: Deadline<'a>,
    options: &'a SignOptions,
    /// Devices present at the last scan, by path.
    seen: HashMap<String, Seen>,
    owner_found: bool,
    non_owner_found: bool,
    last_failure: Option<Error>,
    last_prompt: Option<Prompt>,
}

impl<'a> SignFlow<'a> {
    fn new(
        devices: &'a dyn DeviceProvider,
        requests: &'a [PreparedRequest],
        deadline: Deadline<'a>,
        options: &'a SignOptions,
    ) -> Self {
        SignFlow {
            devices,
            requests,
            deadline,
            options,
            seen: HashMap::new(),
            owner_found: false,
            non_owner_found: false,
            last_failure: None,
            last_prompt: None,
        }
    }

    fn run(&mut self) -> Result<SignResponse> {
        let mut next_scan = Instant::now();
        loop {
            self.deadline.check().map_err(|stop| self.stop_error(stop))?;
            if Instant::now() >= next_scan {
                self.scan()?;
                let interval = if self.has_owner() { TOUCH_SCAN_INTERVAL } else { INSERT_SCAN_INTERVAL };
                next_scan = Instant::now() + interval;
            }
            if self.has_owner() {
                self.prompt(Prompt::TouchKey);
            } else if self.seen.is_empty() || self.owner_found {
                // Nothing plugged in, or the owning key was pulled out: wait for (re-)insertion.
                self.prompt(Prompt::InsertKey);
            } else {
                // Every present key was asked and none owns a handle: waiting would not help.
                return Err(self.ineligible_error());
            }
            if let PollResult::Signed(response) = self.poll_owners()? {
                self.prompt(Prompt::Touched);
                return Ok(response);
            }
            let wake = self.next_poll().map_or(next_scan, |poll| poll.min(next_scan));
            self.deadline.sleep_until(wake).map_err(|stop| self.stop_error(stop))?;
        }
    }

    /// Reads the device list: forgets removed devices, probes new ones.
    fn scan(&mut self) -> Result<()> {
        let present = self.devices.list()?;
        self.seen.retain(|path, state| {
            let still_there = present.iter().any(|info| &info.path == path);
            if !still_there {
                let role = if matches!(state, Seen::Owner(_)) { "owning key" } else { "device" };
                log::info!("{path}: {role} removed");
            }
            still_there
        });
        for info in present {
            if !self.seen.contains_key(&info.path) {
                let state = self.probe(&info.path)?;
                self.seen.insert(info.path, state);
            }
        }
        Ok(())
    }

    /// Opens a new device and asks it, handle by handle, whether it owns them (never signs).
    fn probe(&mut self, path: &str) -> Result<Seen> {
        let deadline = self.deadline.earliest(Instant::now() + PROBE_BUDGET);
        let transport = match self.devices.open(path) {
            Ok(transport) => transport,
            Err(e) => return Ok(self.device_failed(path, e)),
        };
        let mut channel = match Channel::open(transport, path, &deadline) {
            Ok(channel) => channel,
            Err(e) => return self.probe_failed(path, e),
        };
        if channel.init_reply().capabilities.no_msg() {
            log::info!("{path}: key without U2F (NMSG); left alone");
            self.non_owner_found = true;
            return Ok(Seen::NotOwner);
        }
        let mut owned = Vec::new();
        for (index, request) in self.requests.iter().enumerate() {
            match u2f::authenticate(&mut channel, Control::CheckOnly, request, &deadline) {
                Ok(Authentication::PresenceRequired) => owned.push(index),
                Ok(Authentication::NotThisKey | Authentication::Signed(_)) => {}
                Err(e) => return self.probe_failed(path, e),
            }
        }
        if owned.is_empty() {
            log::debug!("{path}: owns none of the {} key handles; left alone", self.requests.len());
            self.non_owner_found = true;
            return Ok(Seen::NotOwner);
        }
        log::debug!("{path}: owns {} of the {} key handles", owned.len(), self.requests.len());
        self.owner_found = true;
        Ok(Seen::Owner(Owner { channel, owned, next_poll: Instant::now() }))
    }

    /// Sends enforce-presence to every owner whose turn it is; the first signature wins.
    fn poll_owners(&mut self) -> Result<PollResult> {
        let now = Instant::now();
        let mut dropped = Vec::new();
        let mut outcome = PollResult::Waiting;
        let mut stop = None;
        for (path, state) in self.seen.iter_mut() {
            let Seen::Owner(owner) = state else { continue };
            if owner.next_poll > now {
                continue;
            }
            let started = Instant::now();
            let request = &self.requests[owner.owned[0]];
            match u2f::authenticate(&mut owner.channel, Control::EnforcePresence, request, &self.deadline) {
                Ok(Authentication::Signed(signature)) => {
                    log::debug!("{path}: touched; signature counter {}", signature.counter());
                    outcome = PollResult::Signed(request.sign_response(&signature));
                    break;
                }
                Ok(Authentication::PresenceRequired) => owner.next_poll = started + TOUCH_POLL_INTERVAL,
                Ok(Authentication::NotThisKey) => {
                    // It claimed the handle in the probe but now refuses it: try its next one.
                    owner.owned.remove(0);
                    if owner.owned.is_empty() {
                        let error = Error::new(
                            ErrorKind::DeviceProtocol,
                            format!("{path}: refused the key handles it claimed when probed"),
                        );
                        dropped.push((path.clone(), error));
                    }
                }
                Err(ExchangeError::Device(error)) => dropped.push((path.clone(), error)),
                Err(interrupted) => {
                    stop = Some(interrupted);
                    break;
                }
            }
        }
        if let Some(stop) = stop {
            return Err(self.stop_error(stop));
        }
        for (path, error) in dropped {
            log::warn!("{path}: dropped while waiting for a touch: {error}");
            self.seen.insert(path, Seen::Failed);
            self.last_failure = Some(error);
        }
        Ok(outcome)
    }

    fn probe_failed(&mut self, path: &str, error: ExchangeError) -> Result<Seen> {
        match error {
            ExchangeError::Device(e) => Ok(self.device_failed(path, e)),
            ExchangeError::DeadlinePassed if self.deadline.check().is_ok() => {
                let e = Error::new(
                    ErrorKind::DeviceProtocol,
                    format!("{path}: no answer within {PROBE_BUDGET:?}"),
                );
                Ok(self.device_failed(path, e))
            }
            stop => Err(self.stop_error(stop)),
        }
    }

    fn device_failed(&mut self, path: &str, error: Error) -> Seen {
        log::warn!("{path}: left alone after a failure: {error}");
        self.last_failure = Some(error);
        Seen::Failed
    }

    fn has_owner(&self) -> bool {
        self.seen.values().any(|state| matches!(state, Seen::Owner(_)))
    }

    fn next_poll(&self) -> Option<Instant> {
        self.seen
            .values()
            .filter_map(|state| match state {
                Seen::Owner(owner) => Some(owner.next_poll),
                _ => None,
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
        match &self.last_failure {
            Some(failure) if !self.non_owner_found => failure.clone(),
            _ => Error::new(ErrorKind::NoMatchingKey, "none of the present keys is registered for this user"),
        }
    }

    /// The error for a deadline or cancel, chosen by how far the flow got.
    fn stop_error(&self, stop: ExchangeError) -> Error {
        let timeout = self.options.timeout;
        match stop {
            ExchangeError::Device(error) => error,
            ExchangeError::Cancelled => {
                Error::new(ErrorKind::Cancelled, "the sign operation was stopped by the caller")
            }
            ExchangeError::DeadlinePassed if self.owner_found => {
                Error::new(ErrorKind::UserPresenceTimeout, format!("no touch within {timeout:?}"))
            }
            ExchangeError::DeadlinePassed if self.non_owner_found || self.last_failure.is_some() => {
                self.ineligible_error()
            }
            ExchangeError::DeadlinePassed => {
                Error::new(ErrorKind::NoDevice, format!("no security key was inserted within {timeout:?}"))
            }
        }
    }
}
