//! The shared server state every request handler sees.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::directory::Directory;
use crate::faults::FaultTable;
use crate::fixture::Fixture;
use crate::instance::Instance;
use crate::simulator::{ApprovalDecision, ChainsLookup, Lifetimes, Stats};
use crate::store::{PendingApproval, Store};

pub struct App {
    pub directory: Directory,
    store: Mutex<Store>,
    pub faults: FaultTable,
    pub chains_lookup: ChainsLookup,
    /// The servers sharing this state, in instance order (one unless started as a cluster).
    pub instances: Vec<Arc<Instance>>,
}

impl App {
    /// `fixture` must be validated.
    pub fn new(
        fixture: &Fixture,
        lifetimes: Lifetimes,
        chains_lookup: ChainsLookup,
        instances: Vec<Arc<Instance>>,
    ) -> App {
        let directory = Directory::new(fixture);
        let store = Store::new(&directory, &fixture.endpoints, lifetimes);
        App { directory, store: Mutex::new(store), faults: FaultTable::default(), chains_lookup, instances }
    }

    /// The mutable state. Handlers never panic while holding it, but a poisoned lock would still
    /// hold consistent data (each handler's updates are small), so it is used anyway.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Test controls shared by [`crate::Simulator`] and the `/sim/v1/` routes.
impl App {
    /// The cluster's totals.
    pub fn stats(&self) -> Stats {
        self.instances.iter().map(|instance| instance.stats()).fold(Stats::default(), |total, one| Stats {
            connections_accepted: total.connections_accepted + one.connections_accepted,
            requests: total.requests + one.requests,
        })
    }

    /// OTPs "sent" to a user, newest last; `None` for an unknown user.
    pub fn sent_otps(&self, user_name: &str) -> Option<Vec<String>> {
        let user = self.directory.resolve_user(user_name)?;
        Some(self.store().users[user].sent_otps.clone())
    }

    /// The user's TOTP code now; `None` for an unknown user or one without TOTP.
    pub fn current_totp(&self, user_name: &str) -> Option<(String, u64)> {
        let user = self.directory.resolve_user(user_name)?;
        let key = self.directory.users[user].totp_key.as_deref()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Some((crate::totp::code_for_step(key, now / crate::totp::STEP_SECONDS), now))
    }

    /// The user's pushes and calls waiting for the phone; `None` for an unknown user.
    pub fn pending_approvals(&self, user_name: &str) -> Option<Vec<PendingApproval>> {
        let user = self.directory.resolve_user(user_name)?;
        Some(self.store().pending_approvals(user, std::time::Instant::now()))
    }

    /// Decides the user's pending pushes and calls; `None` for an unknown user.
    pub fn decide_approvals(&self, user_name: &str, decision: ApprovalDecision) -> Option<usize> {
        let user = self.directory.resolve_user(user_name)?;
        Some(self.store().decide_approvals(user, decision))
    }

    /// The code the user's smartphone app shows offline now.
    pub fn current_smartphone_totp(&self, user_name: &str) -> Option<String> {
        let user = self.directory.resolve_user(user_name)?;
        let key = self.directory.users[user].smartphone.as_ref()?.as_deref()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Some(crate::totp::code_for_step(key, now / crate::totp::STEP_SECONDS))
    }

    pub fn lifetimes(&self) -> Lifetimes {
        self.store().lifetimes.clone()
    }

    pub fn set_lifetimes(&self, lifetimes: Lifetimes) {
        self.store().lifetimes = lifetimes;
    }

    pub fn expire_endpoint_sessions(&self) {
        self.store().endpoint_sessions.clear();
    }

    pub fn expire_logon_processes(&self) {
        self.store().logon_processes.clear();
    }

    /// Marks every login session expired (they then answer AUCORE-1067).
    pub fn expire_login_sessions(&self) {
        for session in self.store().login_sessions.values_mut() {
            session.force_expired = true;
        }
    }
}
