//! The CTAPHID device side: channel allocation, reassembly of incoming messages, command dispatch
//! and the queue of outgoing reports. Time is passed in, so every timeout is evaluated from
//! timestamps and no background thread is needed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::authenticator::Authenticator;
use crate::ctap2::{self, Ctap2, Plan, Step};
use crate::ctaphid::{self, command, error, keepalive, report_cid, Report, BROADCAST_CID};
use crate::fault::{foreign_cid, Fault, Faults};
use crate::keys::KeyMaterial;
use crate::protocols::Protocols;

/// How long a CTAP2 request waits for the user's touch before USER_ACTION_TIMEOUT, by default.
pub const USER_PRESENCE_TIMEOUT: Duration = Duration::from_secs(30);

/// Channels remembered at once; the oldest allocation is forgotten beyond this, as on real keys.
const MAX_CHANNELS: usize = 64;
/// Reports kept for a host that does not read; the oldest are dropped beyond this.
const MAX_QUEUED_REPORTS: usize = 4 * 129;
/// Length of the INIT nonce.
const INIT_NONCE_LEN: usize = 8;
/// Smallest MSG payload that holds an APDU header (CLA INS P1 P2).
const APDU_HEADER_LEN: usize = 4;

/// A message whose initialization packet arrived and whose continuation packets are awaited.
struct Incoming {
    cid: u32,
    command: u8,
    expected_len: usize,
    payload: Vec<u8>,
    next_seq: u8,
    last_packet_at: Instant,
}

/// A CTAPHID_CBOR request in progress: the key sends KEEPALIVE while it lasts, and CANCEL on its
/// channel ends it with KEEPALIVE_CANCEL.
struct PendingCbor {
    cid: u32,
    phase: PendingPhase,
    next_keepalive_at: Instant,
}

enum PendingPhase {
    /// Fault SlowKeepalive: the request is processed at `until` (KEEPALIVE PROCESSING meanwhile).
    Processing { until: Instant, request: Vec<u8> },
    /// Waiting since `since` for the user's touch (KEEPALIVE UPNEEDED meanwhile).
    AwaitingPresence { plan: Plan, since: Instant },
}

/// An answer the key holds back (fault SlowKeepalive) while it sends KEEPALIVE packets.
struct HeldResponse {
    cid: u32,
    ready_at: Instant,
    next_keepalive_at: Instant,
    reports: Vec<Report>,
}

pub(crate) struct Device {
    pub(crate) authenticator: Authenticator,
    pub(crate) ctap2: Ctap2,
    pub(crate) faults: Faults,
    pub(crate) winks: u32,
    /// CTAPHID_CANCEL commands received.
    pub(crate) cancels: u32,
    pub(crate) user_presence_timeout: Duration,
    channels: VecDeque<u32>,
    next_cid: u32,
    incoming: Option<Incoming>,
    held: Option<HeldResponse>,
    pending: Option<PendingCbor>,
    outbox: VecDeque<Report>,
}

impl Device {
    /// A key speaking both U2F and CTAP2.
    pub(crate) fn new(material: KeyMaterial) -> Self {
        Self::with_protocols(material, Protocols::Both)
    }

    pub(crate) fn with_protocols(material: KeyMaterial, protocols: Protocols) -> Self {
        Device {
            authenticator: Authenticator::new(material.clone()),
            ctap2: Ctap2::new(material, protocols),
            faults: Faults::default(),
            winks: 0,
            cancels: 0,
            user_presence_timeout: USER_PRESENCE_TIMEOUT,
            channels: VecDeque::new(),
            next_cid: 1,
            incoming: None,
            held: None,
            pending: None,
            outbox: VecDeque::new(),
        }
    }

    /// The CTAP2 layer without CTAPHID: presence is taken once, without waiting.
    pub(crate) fn cbor_direct(&mut self, request: &[u8], now: Instant) -> Vec<u8> {
        match self.ctap2.begin(&mut self.authenticator, request, now) {
            Step::Reply(answer) => answer,
            Step::AwaitPresence(plan) if self.authenticator.take_presence(now) => {
                self.ctap2.finish(&mut self.authenticator, plan, now)
            }
            Step::AwaitPresence(_) => {
                self.authenticator.stop_waiting_for_presence();
                vec![ctap2::status::USER_ACTION_TIMEOUT]
            }
        }
    }

    /// Handles one report from the host.
    pub(crate) fn receive(&mut self, report: &Report, now: Instant) {
        self.run_timers(now);
        let cid = report_cid(report);
        if cid == 0 {
            return self.send_error(cid, error::INVALID_CHANNEL);
        }
        if report[4] & 0x80 != 0 {
            self.receive_init_packet(cid, report, now);
        } else {
            self.receive_continuation(cid, report, now);
        }
    }

    /// The next report for the host, after emitting whatever timers made due.
    pub(crate) fn next_report(&mut self, now: Instant) -> Option<Report> {
        self.run_timers(now);
        self.outbox.pop_front()
    }

    /// When a timer next needs [`next_report`](Self::next_report) to run, if any is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let frame_timeout = self.incoming.as_ref().map(|m| m.last_packet_at + ctaphid::FRAME_TIMEOUT);
        let held = self.held.as_ref().map(|h| h.ready_at.min(h.next_keepalive_at));
        let pending = self.pending.as_ref().map(|p| {
            let ends = match &p.phase {
                PendingPhase::Processing { until, .. } => *until,
                PendingPhase::AwaitingPresence { since, .. } => *since + self.user_presence_timeout,
            };
            ends.min(p.next_keepalive_at)
        });
        [frame_timeout, held, pending].into_iter().flatten().min()
    }

    /// Forgets everything in flight (the key was unplugged).
    pub(crate) fn reset_transport(&mut self) {
        self.channels.clear();
        self.incoming = None;
        self.held = None;
        self.pending = None;
        self.outbox.clear();
        self.authenticator.stop_waiting_for_presence();
        self.ctap2.power_cycle();
    }

    fn run_timers(&mut self, now: Instant) {
        if let Some(incoming) = &self.incoming {
            if now >= incoming.last_packet_at + ctaphid::FRAME_TIMEOUT {
                let cid = incoming.cid;
                self.incoming = None;
                self.send_error(cid, error::MSG_TIMEOUT);
            }
        }
        self.run_pending(now);
        let Some(held) = &mut self.held else { return };
        if now >= held.ready_at {
            let reports = std::mem::take(&mut held.reports);
            self.held = None;
            self.queue(reports);
        } else if now >= held.next_keepalive_at {
            // One KEEPALIVE per interval, rescheduled from now so a slow reader is not flooded.
            held.next_keepalive_at = now + ctaphid::KEEPALIVE_INTERVAL;
            let cid = held.cid;
            self.queue(ctaphid::frames(cid, command::KEEPALIVE, &[keepalive::STATUS_PROCESSING]));
        }
    }

    /// Advances a pending CBOR request: processes it when its delay is over, answers it once the
    /// user is present or the wait timed out, and sends KEEPALIVE when one is due.
    fn run_pending(&mut self, now: Instant) {
        let Some(mut pending) = self.pending.take() else { return };
        let cid = pending.cid;
        let status = match pending.phase {
            PendingPhase::Processing { until, request } if now >= until => {
                return self.start_cbor(cid, &request, now);
            }
            PendingPhase::AwaitingPresence { plan, .. } if self.authenticator.take_presence(now) => {
                let answer = self.ctap2.finish(&mut self.authenticator, plan, now);
                return self.respond(cid, command::CBOR, &answer);
            }
            PendingPhase::AwaitingPresence { since, .. } if now >= since + self.user_presence_timeout => {
                self.authenticator.stop_waiting_for_presence();
                return self.respond(cid, command::CBOR, &[ctap2::status::USER_ACTION_TIMEOUT]);
            }
            PendingPhase::Processing { .. } => keepalive::STATUS_PROCESSING,
            PendingPhase::AwaitingPresence { .. } => keepalive::STATUS_UPNEEDED,
        };
        if now >= pending.next_keepalive_at {
            // One KEEPALIVE per interval, rescheduled from now so a slow reader is not flooded.
            pending.next_keepalive_at = now + ctaphid::KEEPALIVE_INTERVAL;
            self.queue(ctaphid::frames(cid, command::KEEPALIVE, &[status]));
        }
        self.pending = Some(pending);
    }

    /// Runs a CTAP2 request; one that needs a touch it does not have yet becomes pending.
    fn start_cbor(&mut self, cid: u32, request: &[u8], now: Instant) {
        match self.ctap2.begin(&mut self.authenticator, request, now) {
            Step::Reply(answer) => self.respond(cid, command::CBOR, &answer),
            Step::AwaitPresence(plan) => {
                let phase = PendingPhase::AwaitingPresence { plan, since: now };
                self.pending = Some(PendingCbor { cid, phase, next_keepalive_at: now });
                self.run_pending(now);
            }
        }
    }

    /// CTAPHID_CANCEL: ends a pending CBOR request of that channel with KEEPALIVE_CANCEL (as a
    /// normal CBOR answer); CANCEL itself is never answered.
    fn cancel(&mut self, cid: u32) {
        self.cancels = self.cancels.saturating_add(1);
        if self.pending.take_if(|p| p.cid == cid).is_some() {
            self.authenticator.stop_waiting_for_presence();
            self.respond(cid, command::CBOR, &[ctap2::status::KEEPALIVE_CANCEL]);
        }
    }

    fn receive_init_packet(&mut self, cid: u32, report: &Report, now: Instant) {
        let cmd = report[4] & 0x7F;
        let len = usize::from(u16::from_be_bytes([report[5], report[6]]));
        if (cid == BROADCAST_CID && cmd != command::INIT) || (cid != BROADCAST_CID && !self.is_allocated(cid))
        {
            return self.send_error(cid, error::INVALID_CHANNEL);
        }
        if cmd == command::INIT {
            return self.init(cid, len, &report[7..]);
        }
        if self.incoming.as_ref().is_some_and(|m| m.cid == cid) {
            // A new request before the previous one was complete.
            self.incoming = None;
            return self.send_error(cid, error::INVALID_SEQ);
        }
        if cmd == command::CANCEL {
            return self.cancel(cid);
        }
        if self.incoming.is_some() || self.held.is_some() || self.pending.is_some() {
            return self.send_error(cid, error::CHANNEL_BUSY);
        }
        if len > ctaphid::MAX_MESSAGE_LEN {
            return self.send_error(cid, error::INVALID_LEN);
        }
        if self.faults.take_exact(Fault::ChannelBusy) {
            return self.send_error(cid, error::CHANNEL_BUSY);
        }
        let first = &report[7..7 + len.min(ctaphid::INIT_PAYLOAD_LEN)];
        let incoming = Incoming {
            cid,
            command: cmd,
            expected_len: len,
            payload: first.to_vec(),
            next_seq: 0,
            last_packet_at: now,
        };
        self.continue_or_dispatch(incoming, now);
    }

    fn receive_continuation(&mut self, cid: u32, report: &Report, now: Instant) {
        if cid == BROADCAST_CID || !self.is_allocated(cid) {
            return self.send_error(cid, error::INVALID_CHANNEL);
        }
        // Continuations of no message in progress (or of another channel's) are stray: ignored.
        let Some(mut incoming) = self.incoming.take_if(|m| m.cid == cid) else { return };
        if report[4] != incoming.next_seq {
            return self.send_error(cid, error::INVALID_SEQ);
        }
        let wanted = (incoming.expected_len - incoming.payload.len()).min(ctaphid::CONT_PAYLOAD_LEN);
        incoming.payload.extend_from_slice(&report[5..5 + wanted]);
        incoming.next_seq += 1;
        incoming.last_packet_at = now;
        self.continue_or_dispatch(incoming, now);
    }

    fn continue_or_dispatch(&mut self, incoming: Incoming, now: Instant) {
        if incoming.payload.len() < incoming.expected_len {
            self.incoming = Some(incoming);
        } else {
            self.dispatch(incoming.cid, incoming.command, &incoming.payload, now);
        }
    }

    fn dispatch(&mut self, cid: u32, cmd: u8, payload: &[u8], now: Instant) {
        match cmd {
            command::PING => self.respond(cid, command::PING, payload),
            command::WINK if !payload.is_empty() => self.send_error(cid, error::INVALID_LEN),
            command::WINK => {
                self.winks = self.winks.saturating_add(1);
                self.respond(cid, command::WINK, &[]);
            }
            command::MSG if !self.ctap2.protocols().u2f() => self.send_error(cid, error::INVALID_CMD),
            command::MSG if payload.len() < APDU_HEADER_LEN => self.send_error(cid, error::INVALID_PAR),
            command::MSG => {
                let answer = self.authenticator.process(payload, now);
                let answer = self.faults.after_touch(payload, answer);
                let reports = self.response_reports(cid, command::MSG, &answer);
                match self.faults.take_slow_keepalive() {
                    Some(delay) => {
                        self.held = Some(HeldResponse {
                            cid,
                            ready_at: now + delay,
                            next_keepalive_at: now,
                            reports,
                        });
                        self.run_timers(now);
                    }
                    None => self.queue(reports),
                }
            }
            command::CBOR if self.ctap2.protocols().ctap2() => match self.faults.take_slow_keepalive() {
                Some(delay) => {
                    let phase = PendingPhase::Processing { until: now + delay, request: payload.to_vec() };
                    self.pending = Some(PendingCbor { cid, phase, next_keepalive_at: now });
                    self.run_pending(now);
                }
                None => self.start_cbor(cid, payload, now),
            },
            // LOCK, vendor and device-to-host commands, and CBOR on a U2F-only key.
            _ => self.send_error(cid, error::INVALID_CMD),
        }
    }

    /// INIT on the broadcast channel allocates a channel; on an allocated one it resynchronises it.
    fn init(&mut self, cid: u32, len: usize, payload: &[u8]) {
        if len != INIT_NONCE_LEN {
            return self.send_error(cid, error::INVALID_LEN);
        }
        let channel = if cid == BROADCAST_CID {
            self.allocate_channel()
        } else {
            self.incoming.take_if(|m| m.cid == cid);
            self.held.take_if(|h| h.cid == cid);
            if self.pending.take_if(|p| p.cid == cid).is_some() {
                self.authenticator.stop_waiting_for_presence();
            }
            cid
        };
        let (major, minor, build) = ctaphid::DEVICE_VERSION;
        let mut answer = Vec::with_capacity(17);
        answer.extend_from_slice(&payload[..INIT_NONCE_LEN]);
        answer.extend_from_slice(&channel.to_be_bytes());
        let capabilities = self.ctap2.protocols().capabilities();
        answer.extend_from_slice(&[ctaphid::PROTOCOL_VERSION, major, minor, build, capabilities]);
        self.respond(cid, command::INIT, &answer);
    }

    fn allocate_channel(&mut self) -> u32 {
        while self.next_cid == 0 || self.next_cid == BROADCAST_CID || self.is_allocated(self.next_cid) {
            self.next_cid = self.next_cid.wrapping_add(1);
        }
        let cid = self.next_cid;
        self.next_cid = self.next_cid.wrapping_add(1);
        if self.channels.len() == MAX_CHANNELS {
            self.channels.pop_front();
        }
        self.channels.push_back(cid);
        cid
    }

    fn is_allocated(&self, cid: u32) -> bool {
        self.channels.contains(&cid)
    }

    fn send_error(&mut self, cid: u32, code: u8) {
        self.respond(cid, command::ERROR, &[code]);
    }

    fn respond(&mut self, cid: u32, cmd: u8, payload: &[u8]) {
        let reports = self.response_reports(cid, cmd, payload);
        self.queue(reports);
    }

    /// The reports of one response, with the pending output faults applied.
    fn response_reports(&mut self, cid: u32, cmd: u8, payload: &[u8]) -> Vec<Report> {
        let mut reports = Vec::new();
        if self.faults.take_exact(Fault::GarbageFrame) {
            reports.push(self.faults.garbage_frame(cid));
        }
        let target = if self.faults.take_exact(Fault::WrongCid) { foreign_cid(cid) } else { cid };
        let mut frames = ctaphid::frames(target, cmd, payload);
        if frames.len() > 1 && self.faults.take_exact(Fault::DropContinuation) {
            frames.remove(1);
        }
        reports.extend(frames);
        reports
    }

    fn queue(&mut self, reports: Vec<Report>) {
        self.outbox.extend(reports);
        while self.outbox.len() > MAX_QUEUED_REPORTS {
            self.outbox.pop_front();
        }
    }
}
