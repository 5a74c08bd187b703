//! Mutable server state: endpoints, endpoint sessions, logon processes, login sessions and the
//! per-user counters (U2F counters, last TOTP step, OTPs sent). Lives behind one mutex in `App`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::directory::Directory;
use crate::envelope::ApiError;
use crate::fixture::EndpointFixture;
use crate::simulator::{ApprovalDecision, Lifetimes};

pub struct Endpoint {
    pub secret: String,
    pub name: String,
}

pub struct EndpointSession {
    pub endpoint_id: String,
    pub last_used: Instant,
}

/// Where a logon process stands within its current method.
pub enum Phase {
    /// Waiting for an answer, or for a `do_logon` without one (gather/send).
    Started,
    /// A U2F sign request was issued with this challenge.
    U2fChallenged { challenge: String },
    /// An SMS/e-mail/voice OTP was sent.
    OtpSent { code: String },
    /// A SMARTPHONE:1 push was sent or a VOICE:1 call started at `started`; the phone's
    /// decision once made.
    AwaitingApproval { started: Instant, decision: Option<ApprovalDecision> },
    /// The RADIUS password was right; the Access-Challenge was sent.
    RadiusChallenged,
    /// FIDO2:1: where its WebAuthn exchange stands.
    Fido2(crate::fido2::Fido2Phase),
    /// The current method passed; the client must call `/next`.
    AwaitingNext,
}

pub struct LogonProcess {
    pub endpoint_id: String,
    pub user: usize,
    pub event: String,
    /// Chains (indices) still possible: each starts with `completed` followed by `current_method`.
    pub candidates: Vec<usize>,
    pub completed: Vec<String>,
    pub current_method: String,
    pub phase: Phase,
    pub last_used: Instant,
}

pub struct LoginSession {
    pub user: usize,
    pub chain: usize,
    pub event: String,
    pub created: Instant,
    pub created_text: String,
    pub force_expired: bool,
}

pub struct UserState {
    pub counters: Vec<u32>,
    pub last_totp_step: Option<u64>,
    /// The same for the smartphone app's offline code.
    pub last_smartphone_totp_step: Option<u64>,
    pub sent_otps: Vec<String>,
}

/// A push or call waiting for the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingApproval {
    pub method_id: String,
    pub waiting: Duration,
}

pub struct Store {
    pub lifetimes: Lifetimes,
    pub endpoints: HashMap<String, Endpoint>,
    pub endpoint_sessions: HashMap<String, EndpointSession>,
    pub logon_processes: HashMap<String, LogonProcess>,
    pub login_sessions: HashMap<String, LoginSession>,
    pub users: Vec<UserState>,
    /// FIDO2:1 counters last accepted, per user and credential.
    pub fido2_counters: crate::fido2::Fido2Counters,
}

/// Expired login sessions are kept this long so their ids answer "expired" (AUCORE-1067) rather
/// than "not found" (AUCORE-1066).
const EXPIRED_LOGIN_SESSION_MEMORY: Duration = Duration::from_secs(600);
/// Only the newest OTPs per user are kept for inspection.
const SENT_OTP_MEMORY: usize = 100;

impl Store {
    pub fn new(directory: &Directory, endpoints: &[EndpointFixture], lifetimes: Lifetimes) -> Store {
        Store {
            lifetimes,
            endpoints: endpoints
                .iter()
                .map(|e| (e.id.clone(), Endpoint { secret: e.secret.clone(), name: e.name.clone() }))
                .collect(),
            endpoint_sessions: HashMap::new(),
            logon_processes: HashMap::new(),
            login_sessions: HashMap::new(),
            users: directory
                .users
                .iter()
                .map(|user| UserState {
                    counters: user.keys.iter().map(|key| key.initial_counter).collect(),
                    last_totp_step: None,
                    last_smartphone_totp_step: None,
                    sent_otps: Vec::new(),
                })
                .collect(),
            fido2_counters: crate::fido2::Fido2Counters::new(&directory.fido2),
        }
    }

    /// Validates an endpoint session (idle lifetime, endpoint still registered), refreshes its
    /// idle timer and returns its endpoint id; otherwise 433.
    pub fn use_endpoint_session(&mut self, id: &str, now: Instant) -> Result<String, ApiError> {
        let lifetime = self.lifetimes.endpoint_session;
        let alive = match self.endpoint_sessions.get(id) {
            None => return Err(ApiError::endpoint_session_not_found()),
            Some(session) => {
                now.duration_since(session.last_used) < lifetime
                    && self.endpoints.contains_key(&session.endpoint_id)
            }
        };
        if !alive {
            self.endpoint_sessions.remove(id);
            return Err(ApiError::endpoint_session_not_found());
        }
        let session = self.endpoint_sessions.get_mut(id).expect("checked above");
        session.last_used = now;
        Ok(session.endpoint_id.clone())
    }

    /// A live logon process owned by `endpoint_id` (idle lifetime); otherwise 444.
    pub fn logon_process(
        &mut self,
        id: &str,
        endpoint_id: &str,
        now: Instant,
    ) -> Result<&mut LogonProcess, ApiError> {
        let lifetime = self.lifetimes.logon_process;
        let alive = match self.logon_processes.get(id) {
            None => return Err(ApiError::logon_process_not_found()),
            Some(process) => {
                process.endpoint_id == endpoint_id && now.duration_since(process.last_used) < lifetime
            }
        };
        if !alive {
            // A process of another endpoint is invisible, not deleted.
            if self.logon_processes.get(id).is_some_and(|p| p.endpoint_id == endpoint_id) {
                self.logon_processes.remove(id);
            }
            return Err(ApiError::logon_process_not_found());
        }
        let process = self.logon_processes.get_mut(id).expect("checked above");
        process.last_used = now;
        Ok(process)
    }

    /// A login session that is neither unknown (AUCORE-1066) nor expired (AUCORE-1067).
    pub fn login_session(&self, id: &str, now: Instant) -> Result<&LoginSession, ApiError> {
        let session = self.login_sessions.get(id).ok_or_else(ApiError::login_session_not_found)?;
        if session.force_expired || now.duration_since(session.created) >= self.lifetimes.login_session {
            return Err(ApiError::login_session_expired());
        }
        Ok(session)
    }

    /// The user's pushes and calls that wait for the phone's decision.
    pub fn pending_approvals(&self, user: usize, now: Instant) -> Vec<PendingApproval> {
        self.logon_processes
            .values()
            .filter(|process| process.user == user)
            .filter_map(|process| match &process.phase {
                Phase::AwaitingApproval { started, decision: None } => Some(PendingApproval {
                    method_id: process.current_method.clone(),
                    waiting: now.duration_since(*started),
                }),
                _ => None,
            })
            .collect()
    }

    /// Decides every push and call of the user that waits for the phone; returns how many.
    pub fn decide_approvals(&mut self, user: usize, decision: ApprovalDecision) -> usize {
        let mut decided = 0;
        for process in self.logon_processes.values_mut().filter(|process| process.user == user) {
            if let Phase::AwaitingApproval { decision: pending @ None, .. } = &mut process.phase {
                *pending = Some(decision);
                decided += 1;
            }
        }
        decided
    }

    pub fn record_sent_otp(&mut self, user: usize, code: String) {
        let sent = &mut self.users[user].sent_otps;
        if sent.len() == SENT_OTP_MEMORY {
            sent.remove(0);
        }
        sent.push(code);
    }

    /// Drops what has expired, so a long benchmark or soak test does not grow memory.
    pub fn sweep(&mut self, now: Instant) {
        let lifetimes = self.lifetimes.clone();
        self.endpoint_sessions.retain(|_, s| now.duration_since(s.last_used) < lifetimes.endpoint_session);
        self.logon_processes.retain(|_, p| now.duration_since(p.last_used) < lifetimes.logon_process);
        self.login_sessions.retain(|_, s| {
            now.duration_since(s.created) < lifetimes.login_session + EXPIRED_LOGIN_SESSION_MEMORY
        });
    }
}
