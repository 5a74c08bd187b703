//! A CTAPHID channel on one opened device: INIT with a checked nonce, request/reply exchanges with
//! reassembly, KEEPALIVE, ERROR mapping, CHANNEL_BUSY retries and recovery from a desynchronised
//! stream by re-INIT. Every read is bounded by the caller's [`Deadline`].

use std::time::{Duration, Instant};

use super::deadline::{Deadline, ExchangeError};
use super::frame::{command, fragment, Packet, Reassembly, BROADCAST_CID};
use super::init::{Capabilities, DeviceVersion, InitReply};
use super::trace;
use super::transport::HidTransport;
use crate::{CancelToken, DeviceCode, Error, ErrorKind};

/// Longest silence accepted while waiting for a reply (or between KEEPALIVEs): the key-side
/// transaction timeout of the U2F HID spec.
const REPLY_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest gap accepted between packets of one reply (keys send them back to back).
const CONTINUATION_TIMEOUT: Duration = Duration::from_secs(1);
/// Reads are sliced so that a cancel is noticed quickly even while a device stays silent.
const READ_SLICE: Duration = Duration::from_millis(50);
/// Pause before repeating a request that met CHANNEL_BUSY.
const BUSY_BACKOFF: Duration = Duration::from_millis(100);
/// Wait of each read that empties the queue before a re-INIT: what already arrived comes at once.
/// Not zero, which some transports (cython-hidapi's `read`) take as "block".
const DRAIN_WAIT: Duration = Duration::from_millis(1);
/// Most reports dropped from the queue before a re-INIT (two longest messages).
const MAX_DRAINED_REPORTS: usize = 2 * 129;
/// Re-INITs attempted after desynchronised replies before giving up on the device.
const MAX_RESYNCS: u32 = 3;
/// How long the key gets to answer a cancelled CBOR request (with CTAP2_ERR_KEEPALIVE_CANCEL)
/// before the channel is left for a re-INIT on its next use.
const CANCEL_DRAIN: Duration = Duration::from_millis(500);

/// KEEPALIVE status byte sent while the key waits for a touch.
const KEEPALIVE_UPNEEDED: u8 = 0x02;

/// CTAPHID ERROR codes (payload of CMD 0xBF).
mod hid_error {
    pub const INVALID_CMD: u8 = 0x01;
    pub const INVALID_PAR: u8 = 0x02;
    pub const INVALID_LEN: u8 = 0x03;
    pub const INVALID_SEQ: u8 = 0x04;
    pub const MSG_TIMEOUT: u8 = 0x05;
    pub const CHANNEL_BUSY: u8 = 0x06;
    pub const LOCK_REQUIRED: u8 = 0x0A;
    pub const INVALID_CHANNEL: u8 = 0x0B;
    pub const OTHER: u8 = 0x7F;
}

fn hid_error_name(code: u8) -> &'static str {
    match code {
        hid_error::INVALID_CMD => "ERR_INVALID_CMD (command not supported)",
        hid_error::INVALID_PAR => "ERR_INVALID_PAR (bad parameter)",
        hid_error::INVALID_LEN => "ERR_INVALID_LEN (bad length)",
        hid_error::INVALID_SEQ => "ERR_INVALID_SEQ (continuation out of order)",
        hid_error::MSG_TIMEOUT => "ERR_MSG_TIMEOUT (message timed out)",
        hid_error::CHANNEL_BUSY => "ERR_CHANNEL_BUSY",
        hid_error::LOCK_REQUIRED => "ERR_LOCK_REQUIRED",
        hid_error::INVALID_CHANNEL => "ERR_INVALID_CHANNEL",
        hid_error::OTHER => "ERR_OTHER",
        _ => "unknown CTAPHID error",
    }
}

/// How one attempt at reading a reply ended, when the device did answer something.
enum Reply {
    Payload(Vec<u8>),
    /// ERR_CHANNEL_BUSY: another channel holds the key; ask again shortly.
    Busy,
    /// The reply stream is out of step (sequence gap, lost packet, stale reply): re-INIT and retry.
    Desync(String),
    /// ERR_INVALID_CHANNEL: the key forgot our channel; allocate a new one.
    LostChannel,
}

/// What held up the most recent exchange while no reply came: lets the caller tell a key that
/// is alive but not answering (busy, working, waiting for a touch) from one that is silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// The key answered ERR_CHANNEL_BUSY: another channel (application) holds it.
    Busy,
    /// The key sent KEEPALIVE with this status (`0x01` processing, `0x02` waiting for a touch).
    Keepalive(u8),
}

impl Stall {
    /// True for KEEPALIVE STATUS_UPNEEDED: the key holds its answer until the user touches it.
    pub fn awaits_touch(self) -> bool {
        self == Stall::Keepalive(KEEPALIVE_UPNEEDED)
    }

    /// The key's own code behind the stall, for an error about it: ERR_CHANNEL_BUSY.
    pub fn device_code(self) -> Option<DeviceCode> {
        (self == Stall::Busy).then_some(DeviceCode::Ctaphid(hid_error::CHANNEL_BUSY))
    }
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::Busy => f.write_str("kept answering ERR_CHANNEL_BUSY: another application may hold it"),
            Stall::Keepalive(KEEPALIVE_UPNEEDED) => {
                f.write_str("kept waiting for a touch (KEEPALIVE UPNEEDED)")
            }
            Stall::Keepalive(status) => {
                write!(f, "kept sending KEEPALIVE (status 0x{status:02x}) without an answer")
            }
        }
    }
}

/// How far reading one reply has got: the packets reassembled so far and how long the device
/// may stay silent. Kept across calls for a request left outstanding ([`Channel::begin`]).
struct Progress {
    reassembly: Option<Reassembly>,
    silence_limit: Duration,
    quiet_until: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress {
            reassembly: None,
            silence_limit: REPLY_TIMEOUT,
            quiet_until: Instant::now() + REPLY_TIMEOUT,
        }
    }
}

/// A request whose reply is collected over several [`Channel::poll_reply`] calls (a CTAP2
/// request the key holds until the user touches it).
struct Outstanding {
    command: u8,
    payload: Vec<u8>,
    /// False after BUSY or a re-sync: the request must be sent (again) before reading.
    sent: bool,
    progress: Progress,
    resyncs: u32,
}

/// One allocated CTAPHID channel on an opened device.
pub struct Channel {
    transport: Box<dyn HidTransport>,
    path: String,
    init: InitReply,
    needs_resync: bool,
    needs_new_channel: bool,
    user_presence_requested: bool,
    /// What the key sent instead of a reply during the current (or last) exchange.
    stall: Option<Stall>,
    /// A write or read of the transport failed: the device is most likely gone.
    transport_failed: bool,
    /// The request sent with `begin` whose reply has not been read yet.
    outstanding: Option<Outstanding>,
}

impl Channel {
    /// Allocates a channel with INIT on the broadcast CID (fresh random nonce, checked).
    pub fn open(
        transport: Box<dyn HidTransport>,
        path: &str,
        deadline: &Deadline,
    ) -> Result<Self, ExchangeError> {
        let placeholder = InitReply {
            cid: BROADCAST_CID,
            protocol_version: 0,
            device_version: DeviceVersion::default(),
            capabilities: Capabilities::from_bits(0),
        };
        let mut channel = Channel {
            transport,
            path: path.to_owned(),
            init: placeholder,
            needs_resync: false,
            needs_new_channel: false,
            user_presence_requested: false,
            stall: None,
            transport_failed: false,
            outstanding: None,
        };
        channel.init = channel.initialize(BROADCAST_CID, deadline)?;
        log::debug!(
            "{}: CTAPHID channel {:08x}, protocol {}, device version {}, capabilities {}",
            channel.path,
            channel.init.cid,
            channel.init.protocol_version,
            channel.init.device_version,
            channel.init.capabilities
        );
        Ok(channel)
    }

    /// What the device reported in its INIT reply.
    pub fn init_reply(&self) -> &InitReply {
        &self.init
    }

    /// True once the device sent KEEPALIVE UPNEEDED (it waits for a touch).
    #[cfg(test)]
    pub fn user_presence_requested(&self) -> bool {
        self.user_presence_requested
    }

    /// What the key sent instead of a reply during the last exchange (BUSY, KEEPALIVE), if anything.
    pub fn stall(&self) -> Option<Stall> {
        self.stall
    }

    /// True once a write or read of the transport failed (the device was unplugged or lost), as
    /// opposed to the device answering something wrong.
    pub fn transport_failed(&self) -> bool {
        self.transport_failed
    }

    /// Sends `payload` as command `cmd` and returns the reply payload.
    pub fn transact(
        &mut self,
        cmd: u8,
        payload: &[u8],
        deadline: &Deadline,
    ) -> Result<Vec<u8>, ExchangeError> {
        let mut resyncs = 0;
        if self.outstanding.is_some() {
            self.cancel_outstanding();
        }
        self.restore_channel(deadline)?;
        // Reset only once the request goes out: a stall stays known while the re-sync before it
        // is itself cut short.
        self.stall = None;
        loop {
            self.send(self.init.cid, cmd, payload)?;
            match self.receive(self.init.cid, cmd, deadline, &mut Progress::new(), false)? {
                Reply::Payload(reply) => return Ok(reply),
                Reply::Busy => {
                    log::debug!("{}: channel busy, retrying in {:?}", self.path, BUSY_BACKOFF);
                    deadline.sleep(BUSY_BACKOFF)?;
                }
                Reply::LostChannel if resyncs < MAX_RESYNCS => {
                    resyncs += 1;
                    log::debug!(
                        "{}: device dropped channel {:08x}; allocating a new one",
                        self.path,
                        self.init.cid
                    );
                    self.needs_new_channel = true;
                }
                Reply::Desync(reason) if resyncs < MAX_RESYNCS => {
                    resyncs += 1;
                    log::debug!("{}: {reason}; re-synchronising the channel", self.path);
                    self.needs_resync = true;
                }
                Reply::LostChannel => {
                    return Err(self.error("the device keeps rejecting our channel").into())
                }
                Reply::Desync(reason) => {
                    return Err(self.error(format!("{reason} (after {resyncs} resyncs)")).into())
                }
            }
            self.restore_channel(deadline)?;
        }
    }

    /// Sends CTAPHID_CANCEL (no reply expected); best effort, for a request left outstanding.
    pub fn send_cancel(&mut self) {
        if let Err(e) = self.send(self.init.cid, command::CANCEL, &[]) {
            log::debug!("{}: CANCEL not delivered: {e:?}", self.path);
        }
    }

    /// Sends `payload` as command `cmd` and leaves it outstanding: [`poll_reply`](Self::poll_reply)
    /// collects the reply, over as many calls as the key takes (a CTAP2 key holds its answer until
    /// touched, sending KEEPALIVE meanwhile).
    pub fn begin(&mut self, cmd: u8, payload: &[u8], deadline: &Deadline) -> Result<(), ExchangeError> {
        if self.outstanding.is_some() {
            self.cancel_outstanding();
        }
        self.outstanding = Some(Outstanding {
            command: cmd,
            payload: payload.to_vec(),
            sent: false,
            progress: Progress::new(),
            resyncs: 0,
        });
        self.stall = None;
        self.send_outstanding(deadline)
    }

    /// True while a request sent with [`begin`](Self::begin) waits for its reply.
    pub fn has_outstanding(&self) -> bool {
        self.outstanding.is_some()
    }

    /// Reads the reply to the outstanding request until it is complete or `deadline` passes. On
    /// the deadline or a cancel the request stays outstanding (a later call goes on reading);
    /// [`cancel_outstanding`](Self::cancel_outstanding) gives it up. BUSY, a lost channel or a
    /// desynchronised stream re-send it, as [`transact`](Self::transact) does.
    pub fn poll_reply(&mut self, deadline: &Deadline) -> Result<Vec<u8>, ExchangeError> {
        loop {
            self.send_outstanding(deadline)?;
            let Some(mut outstanding) = self.outstanding.take() else {
                return Err(self.error("no request is outstanding").into());
            };
            let cid = self.init.cid;
            let reply =
                match self.receive(cid, outstanding.command, deadline, &mut outstanding.progress, true) {
                    Ok(reply) => reply,
                    Err(ExchangeError::Device(error)) => {
                        // The key may still be working on it: the next exchange re-synchronises.
                        self.needs_resync = true;
                        return Err(ExchangeError::Device(error));
                    }
                    Err(stop) => {
                        self.outstanding = Some(outstanding);
                        return Err(stop);
                    }
                };
            outstanding.sent = false;
            outstanding.progress = Progress::new();
            match reply {
                Reply::Payload(reply) => return Ok(reply),
                Reply::Busy => {
                    log::debug!("{}: channel busy, sending again in {:?}", self.path, BUSY_BACKOFF);
                    let slept = deadline.sleep(BUSY_BACKOFF);
                    self.outstanding = Some(outstanding);
                    slept?;
                }
                Reply::LostChannel | Reply::Desync(_) if outstanding.resyncs < MAX_RESYNCS => {
                    outstanding.resyncs += 1;
                    if matches!(reply, Reply::LostChannel) {
                        self.needs_new_channel = true;
                    } else {
                        self.needs_resync = true;
                    }
                    log::debug!("{}: re-synchronising and sending the request again", self.path);
                    self.outstanding = Some(outstanding);
                }
                Reply::LostChannel => {
                    return Err(self.error("the device keeps rejecting our channel").into())
                }
                Reply::Desync(reason) => {
                    let resyncs = outstanding.resyncs;
                    return Err(self.error(format!("{reason} (after {resyncs} resyncs)")).into());
                }
            }
        }
    }

    /// Gives up the outstanding request: CTAPHID_CANCEL, then the key's answer to the cancelled
    /// request (CTAP2_ERR_KEEPALIVE_CANCEL) is read and dropped, for at most [`CANCEL_DRAIN`].
    /// A key that does not answer in time gets its channel re-synchronised on the next use.
    /// Returns whether the key answered.
    pub fn cancel_outstanding(&mut self) -> bool {
        let Some(mut outstanding) = self.outstanding.take() else { return false };
        if !outstanding.sent || self.transport_failed {
            return false;
        }
        self.send_cancel();
        // Not the caller's token: the drain must run even when the caller just cancelled.
        let own = CancelToken::new();
        let deadline = Deadline::after(CANCEL_DRAIN, &own);
        let cid = self.init.cid;
        match self.receive(cid, outstanding.command, &deadline, &mut outstanding.progress, false) {
            Ok(Reply::Payload(reply)) => {
                log::debug!("{}: cancelled request answered with status {:02x?}", self.path, reply.first());
                true
            }
            _ => {
                self.needs_resync = true;
                false
            }
        }
    }

    /// Sends the outstanding request when it is not (or no longer) on its way.
    fn send_outstanding(&mut self, deadline: &Deadline) -> Result<(), ExchangeError> {
        let Some(outstanding) = self.outstanding.as_ref() else { return Ok(()) };
        if outstanding.sent {
            return Ok(());
        }
        let (cmd, payload) = (outstanding.command, outstanding.payload.clone());
        self.restore_channel(deadline)?;
        self.send(self.init.cid, cmd, &payload)?;
        if let Some(outstanding) = self.outstanding.as_mut() {
            outstanding.sent = true;
            outstanding.progress = Progress::new();
        }
        Ok(())
    }

    /// Re-INITs or re-allocates the channel when a previous exchange left it out of step.
    fn restore_channel(&mut self, deadline: &Deadline) -> Result<(), ExchangeError> {
        if self.needs_new_channel || self.needs_resync {
            self.drain_stale_reports(deadline)?;
        }
        if self.needs_new_channel {
            self.init = self.initialize(BROADCAST_CID, deadline)?;
        } else if self.needs_resync {
            // INIT on our own CID makes the key abort whatever it still had in progress there.
            self.init = self.initialize(self.init.cid, deadline)?;
        }
        self.needs_new_channel = false;
        self.needs_resync = false;
        Ok(())
    }

    /// Drops the reports already waiting from an abandoned exchange (a late reply, a BUSY error), so
    /// that they are not mistaken for the answer to the INIT that re-synchronises the channel.
    fn drain_stale_reports(&mut self, deadline: &Deadline) -> Result<(), ExchangeError> {
        // Bounded, so a device that floods reports cannot keep us here: a few messages' worth,
        // and never past the deadline (a transport may block despite the zero timeout).
        for _ in 0..MAX_DRAINED_REPORTS {
            deadline.check()?;
            match self.transport.read_report(DRAIN_WAIT) {
                Ok(Some(report)) => trace::skipped(&self.path, &report),
                Ok(None) => break,
                Err(e) => {
                    self.transport_failed = true;
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// INIT on `cid` with a fresh nonce; replies with another nonce (another host's INIT) are skipped.
    fn initialize(&mut self, cid: u32, deadline: &Deadline) -> Result<InitReply, ExchangeError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| self.error(format!("no randomness for the INIT nonce: {e}")))?;
        let mut resyncs = 0;
        self.send(cid, command::INIT, &nonce)?;
        loop {
            match self.receive(cid, command::INIT, deadline, &mut Progress::new(), false)? {
                Reply::Payload(reply) if reply.get(..8) == Some(&nonce[..]) => {
                    return InitReply::parse(&reply).ok_or_else(|| {
                        self.error(format!("malformed INIT reply of {} bytes", reply.len())).into()
                    });
                }
                Reply::Payload(_) => {
                    log::debug!("{}: skipped an INIT reply meant for another host", self.path)
                }
                Reply::Busy => {
                    deadline.sleep(BUSY_BACKOFF)?;
                    self.send(cid, command::INIT, &nonce)?;
                }
                Reply::Desync(_) | Reply::LostChannel if resyncs < MAX_RESYNCS => {
                    resyncs += 1;
                    self.send(cid, command::INIT, &nonce)?;
                }
                Reply::Desync(reason) => return Err(self.error(format!("INIT failed: {reason}")).into()),
                Reply::LostChannel => return Err(self.error("INIT rejected: ERR_INVALID_CHANNEL").into()),
            }
        }
    }

    fn send(&mut self, cid: u32, cmd: u8, payload: &[u8]) -> Result<(), ExchangeError> {
        let reports = fragment(cid, cmd, payload).ok_or_else(|| {
            self.error(format!("request of {} bytes is too long for CTAPHID", payload.len()))
        })?;
        for report in &reports {
            trace::sent(&self.path, report);
            if let Err(e) = self.transport.write_report(report) {
                self.transport_failed = true;
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Reads reports until the reply to `expected` on `cid` is complete, the device reports an
    /// error, or the deadline/cancel stops the wait. Reports for other channels are skipped.
    /// `progress` is where reading stands; with `resumable` a deadline keeps it for a later call
    /// instead of marking the channel for a re-sync.
    fn receive(
        &mut self,
        cid: u32,
        expected: u8,
        deadline: &Deadline,
        progress: &mut Progress,
        resumable: bool,
    ) -> Result<Reply, ExchangeError> {
        let Progress { reassembly, silence_limit, quiet_until } = progress;
        loop {
            if let Err(stop) = deadline.check() {
                if !resumable {
                    // A reply may still be on its way: the next exchange must re-synchronise first.
                    self.needs_resync = true;
                }
                return Err(stop);
            }
            let now = Instant::now();
            if now >= *quiet_until {
                let what = if reassembly.is_some() { "the rest of the reply" } else { "a reply" };
                return Ok(Reply::Desync(format!("no {what} within {silence_limit:?}")));
            }
            let wait = deadline.remaining().min(*quiet_until - now).min(READ_SLICE);
            let report = match self.transport.read_report(wait) {
                Ok(Some(report)) => report,
                Ok(None) => continue,
                Err(e) => {
                    self.transport_failed = true;
                    return Err(e.into());
                }
            };
            let packet = Packet::parse(&report);
            if packet.cid() != cid {
                // Another host's channel, or an all-zero read: not ours.
                trace::skipped(&self.path, &report);
                continue;
            }
            trace::received(&self.path, &report);
            match packet {
                Packet::Init { command: command::ERROR, length, data, .. } => {
                    let code = if length >= 1 { data[0] } else { hid_error::OTHER };
                    return match code {
                        hid_error::CHANNEL_BUSY => {
                            self.stall = Some(Stall::Busy);
                            Ok(Reply::Busy)
                        }
                        hid_error::INVALID_CHANNEL => Ok(Reply::LostChannel),
                        hid_error::INVALID_SEQ | hid_error::MSG_TIMEOUT => {
                            Ok(Reply::Desync(format!("device reported {}", hid_error_name(code))))
                        }
                        _ => Err(self
                            .error(format!("device reported {} (0x{code:02x})", hid_error_name(code)))
                            .with_device_code(DeviceCode::Ctaphid(code))
                            .into()),
                    };
                }
                Packet::Init { .. } if reassembly.is_some() => {
                    return Ok(Reply::Desync("a new message began before the reply was complete".into()));
                }
                Packet::Init { command: command::KEEPALIVE, length, data, .. } => {
                    let status = if length >= 1 { data[0] } else { 0 };
                    self.stall = Some(Stall::Keepalive(status));
                    if status == KEEPALIVE_UPNEEDED && !self.user_presence_requested {
                        log::debug!("{}: key waits for a touch (KEEPALIVE UPNEEDED)", self.path);
                        self.user_presence_requested = true;
                    }
                    *silence_limit = REPLY_TIMEOUT;
                    *quiet_until = Instant::now() + *silence_limit;
                }
                Packet::Init { command, length, data, .. } if command == expected => {
                    let started = match Reassembly::start(length, data) {
                        Ok(started) => started,
                        Err(e) => return Err(self.error(e.to_string()).into()),
                    };
                    if started.is_complete() {
                        return Ok(Reply::Payload(started.into_payload()));
                    }
                    *reassembly = Some(started);
                    *silence_limit = CONTINUATION_TIMEOUT;
                    *quiet_until = Instant::now() + *silence_limit;
                }
                Packet::Init { command: command::INIT, .. } => {
                    // A late answer to an earlier re-INIT of this channel: never the reply we wait for.
                    log::debug!("{}: skipped a stale INIT reply", self.path);
                }
                Packet::Init { command, .. } => {
                    return Ok(Reply::Desync(format!(
                        "reply to command 0x{command:02x} while waiting for 0x{expected:02x}"
                    )));
                }
                Packet::Continuation { seq, data, .. } => {
                    let Some(partial) = reassembly.as_mut() else {
                        log::debug!("{}: skipped a stray continuation packet {seq}", self.path);
                        continue;
                    };
                    if let Err(e) = partial.push(seq, data) {
                        return Ok(Reply::Desync(e.to_string()));
                    }
                    if partial.is_complete() {
                        let done = reassembly.take().map(Reassembly::into_payload).unwrap_or_default();
                        return Ok(Reply::Payload(done));
                    }
                    *quiet_until = Instant::now() + *silence_limit;
                }
            }
        }
    }

    /// A protocol error that names this channel's device.
    pub fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::DeviceProtocol, format!("{}: {message}", self.path))
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // Nothing to cancel on a channel never allocated (broadcast) or on a device that is gone.
        let outstanding = self.outstanding.as_ref().is_some_and(|o| o.sent);
        if (self.needs_resync || outstanding) && self.init.cid != BROADCAST_CID && !self.transport_failed {
            // An exchange was abandoned mid-way: tell the key to stop working on it.
            self.send_cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fido::frame::{fragment, INIT_DATA_LEN};
    use crate::fido::test_support::{cid_of, command_of, init_reply, report, ScriptedTransport};
    use crate::fido::u2f::{authenticate, Authentication, Control, PreparedRequest};
    use crate::fido::Report;
    use crate::CancelToken;

    const CID: u32 = 0x0022_0002;

    /// A transport that allocates `cid` on INIT and answers MSG requests with `on_msg(n)` (n = 0, 1…).
    fn device(
        cid: u32,
        mut on_msg: impl FnMut(usize) -> Vec<Report> + Send + 'static,
    ) -> (Box<dyn HidTransport>, std::sync::Arc<std::sync::Mutex<Vec<Report>>>) {
        let mut messages = 0;
        let (transport, written) = ScriptedTransport::new(move |request| match command_of(request) {
            Some(command::INIT) => vec![init_reply(request, cid, 0x05)],
            Some(command::MSG) => {
                messages += 1;
                on_msg(messages - 1)
            }
            _ => Vec::new(),
        });
        (Box::new(transport), written)
    }

    fn open(transport: Box<dyn HidTransport>) -> Channel {
        let cancel = CancelToken::new();
        Channel::open(transport, "scripted", &Deadline::after(Duration::from_secs(5), &cancel)).unwrap()
    }

    fn transact(channel: &mut Channel, budget: Duration) -> Result<Vec<u8>, ExchangeError> {
        let cancel = CancelToken::new();
        channel.transact(command::MSG, &[0, 3, 0, 0, 0, 0, 0], &Deadline::after(budget, &cancel))
    }

    /// A 78-byte AUTHENTICATE reply like libfido2's capture: UP, counter 44, DER signature, 9000.
    fn signed_reply(cid: u32) -> Vec<Report> {
        let mut payload = vec![0x01, 0x00, 0x00, 0x00, 0x2c, 0x30, 0x45, 0x02, 0x20];
        payload.extend_from_slice(&[0x11; 32]);
        payload.extend_from_slice(&[0x02, 0x21, 0x00]);
        payload.extend_from_slice(&[0x82; 32]);
        payload.extend_from_slice(&[0x90, 0x00]);
        assert_eq!(payload.len(), 0x4e);
        fragment(cid, command::MSG, &payload).unwrap()
    }

    #[test]
    fn init_checks_the_nonce_and_skips_another_hosts_reply() {
        let (transport, written) = ScriptedTransport::new(|request| {
            // libfido2 capture: the INIT reply to someone else's nonce, then ours.
            let foreign = report(concat!("ffffffff860011", "80435640b14ed92d", "00220002", "0205020105"));
            vec![foreign, init_reply(request, 0x0033_0003, 0x05)]
        });
        let channel = open(Box::new(transport));
        let init = channel.init_reply();
        assert_eq!(init.cid, 0x0033_0003);
        assert_eq!(init.protocol_version, 2);
        assert_eq!(init.device_version, DeviceVersion { major: 5, minor: 2, build: 1 });
        assert!(init.capabilities.wink() && init.capabilities.cbor());
        let written = written.lock().unwrap();
        assert_eq!((cid_of(&written[0]), command_of(&written[0])), (BROADCAST_CID, Some(command::INIT)));
        assert_eq!(written[0][6], 8);
    }

    #[test]
    fn the_libfido2_init_capture_parses() {
        let capture = crate::fido::test_support::hex("80435640b14ed92d002200020205020105");
        let init = InitReply::parse(&capture).unwrap();
        assert_eq!(init.cid, CID);
        assert_eq!(init.capabilities.to_string(), "WINK|CBOR (0x05)");
        assert!(InitReply::parse(&capture[..16]).is_none());
        assert!(
            InitReply::parse(&crate::fido::test_support::hex("80435640b14ed92d000000000205020105")).is_none()
        );
    }

    #[test]
    fn replays_keepalive_stray_frames_and_the_touch_required_capture() {
        let (transport, _) = device(CID, |_| {
            vec![
                report("00220002bb000102"),   // KEEPALIVE UPNEEDED
                [0u8; 64],                    // an empty read, not a packet
                report("000099018300026985"), // another channel's answer
                report("00220002004142"),     // a stray continuation on our channel
                report("002200028300026985"),
            ]
        });
        let mut channel = open(transport);
        assert!(!channel.user_presence_requested());
        assert_eq!(transact(&mut channel, Duration::from_secs(5)).unwrap(), [0x69, 0x85]);
        assert!(channel.user_presence_requested());
    }

    #[test]
    fn replays_the_u2f_authenticate_capture_over_two_packets() {
        let (transport, _) =
            device(
                0x9901,
                |n| if n == 0 { vec![report("000099018300026985")] } else { signed_reply(0x9901) },
            );
        let mut channel = open(transport);
        let request =
            PreparedRequest::from_parts(vec![7; 64], "https://aa.example.com", b"{}".to_vec()).unwrap();
        let cancel = CancelToken::new();
        let deadline = Deadline::after(Duration::from_secs(5), &cancel);
        assert_eq!(
            authenticate(&mut channel, Control::EnforcePresence, &request, &deadline).unwrap(),
            Authentication::PresenceRequired
        );
        let Authentication::Signed(signature) =
            authenticate(&mut channel, Control::EnforcePresence, &request, &deadline).unwrap()
        else {
            panic!("not signed")
        };
        assert_eq!(signature.counter(), 44);
        assert_eq!(signature.as_bytes().len(), 76);
    }

    #[test]
    fn channel_busy_is_retried_after_a_pause() {
        let (transport, written) = device(CID, |n| {
            if n == 0 {
                vec![report("00220002bf000106")]
            } else {
                vec![report("002200028300029000")]
            }
        });
        let mut channel = open(transport);
        let start = Instant::now();
        assert_eq!(transact(&mut channel, Duration::from_secs(5)).unwrap(), [0x90, 0x00]);
        assert!(start.elapsed() >= BUSY_BACKOFF);
        let msgs = written.lock().unwrap().iter().filter(|r| command_of(r) == Some(command::MSG)).count();
        assert_eq!(msgs, 2);
    }

    #[test]
    fn a_sequence_gap_re_inits_the_channel_and_retries() {
        let (transport, written) = device(CID, |n| {
            let mut reply = signed_reply(CID);
            if n == 0 {
                reply.remove(1); // the key lost continuation 0
                reply.push(report("00220002014142")); // so continuation 1 follows the init packet
            }
            reply
        });
        let mut channel = open(transport);
        let reply = transact(&mut channel, Duration::from_secs(5)).unwrap();
        assert_eq!(reply.len(), 0x4e);
        let written = written.lock().unwrap();
        let commands: Vec<(u32, Option<u8>)> = written.iter().map(|r| (cid_of(r), command_of(r))).collect();
        assert_eq!(
            commands,
            [
                (BROADCAST_CID, Some(command::INIT)),
                (CID, Some(command::MSG)),
                (CID, Some(command::INIT)), // re-synchronised on our own channel
                (CID, Some(command::MSG)),
            ]
        );
    }

    #[test]
    fn device_errors_are_typed_and_name_the_device() {
        let (transport, _) = device(CID, |_| vec![report("00220002bf000101")]);
        let mut channel = open(transport);
        let Err(ExchangeError::Device(error)) = transact(&mut channel, Duration::from_secs(5)) else {
            panic!("expected a device error")
        };
        assert_eq!(error.kind(), ErrorKind::DeviceProtocol);
        assert!(
            error.message().contains("scripted") && error.message().contains("ERR_INVALID_CMD"),
            "{error}"
        );
    }

    #[test]
    fn a_silent_device_stops_at_the_deadline_and_on_cancel() {
        // The device tells the test about every request it gets (and never answers).
        let (sent, requests) = std::sync::mpsc::channel();
        let (transport, written) = device(CID, move |n| {
            let _ = sent.send(n);
            Vec::new()
        });
        let mut channel = open(transport);
        let budget = Duration::from_millis(300);
        let start = Instant::now();
        assert_eq!(transact(&mut channel, budget), Err(ExchangeError::DeadlinePassed));
        // Not before the deadline (a lower bound only: a loaded machine can only make it later).
        assert!(start.elapsed() >= budget, "{:?}", start.elapsed());
        assert_eq!(requests.try_recv(), Ok(0), "the first request was sent");

        // Cancelled from another thread once the second request is out, i.e. while the channel
        // waits for its answer; long before this deadline, so the outcome tells the two apart.
        let cancel = CancelToken::new();
        let canceller = cancel.clone();
        let thread = std::thread::spawn(move || {
            let sent = requests.recv_timeout(Duration::from_secs(30));
            canceller.cancel();
            assert_eq!(sent, Ok(1), "the second request was never sent");
        });
        let result =
            channel.transact(command::MSG, &[0; 7], &Deadline::after(Duration::from_secs(30), &cancel));
        assert_eq!(result, Err(ExchangeError::Cancelled));
        thread.join().unwrap();
        drop(channel);
        // The abandoned request is followed by a re-INIT on the next use, and CANCEL on drop.
        let last = *written.lock().unwrap().last().unwrap();
        assert_eq!(command_of(&last), Some(command::CANCEL));
    }

    #[test]
    fn garbage_on_our_channel_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100 {
            let mut garbage = [0u8; 64];
            for chunk in garbage.chunks_mut(8) {
                chunk.copy_from_slice(&next().to_be_bytes());
            }
            garbage[..4].copy_from_slice(&CID.to_be_bytes());
            let (transport, _) = device(CID, move |_| vec![garbage; 3]);
            let mut channel = open(transport);
            let _ = transact(&mut channel, Duration::from_millis(20));
        }
        let big = report(&format!("00220002830400{}", "00".repeat(INIT_DATA_LEN)));
        let (transport, _) = device(CID, move |_| vec![big]);
        let mut channel = open(transport);
        assert!(transact(&mut channel, Duration::from_millis(200)).is_err());
    }
}
