//! User presence: how the simulated user answers the key's request for a touch.

use std::time::{Duration, Instant};

/// How long a [`touch`](crate::VirtualKey::touch) stays usable, like the touch window of a real key.
pub const TOUCH_VALIDITY: Duration = Duration::from_secs(5);

/// How the simulated user behaves when the key needs proof of presence (AUTHENTICATE `0x03`,
/// REGISTER). Signing without presence (`0x08`) and check-only (`0x07`) never need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Presence {
    /// The user is always touching: every request that needs presence succeeds at once.
    #[default]
    Always,
    /// The user touches the key this long after the first request that found no presence; the touch
    /// is consumed by one signature, after which the next request starts a new wait.
    AfterDelay(Duration),
    /// The user never touches: requests that need presence always answer `6985`.
    Never,
    /// The test touches the key with [`VirtualKey::touch`](crate::VirtualKey::touch); each touch
    /// grants presence to one request within [`TOUCH_VALIDITY`].
    OnDemand,
}

/// Presence bookkeeping for one device.
#[derive(Debug)]
pub(crate) struct PresenceState {
    mode: Presence,
    /// AfterDelay: when a request first found no presence.
    waiting_since: Option<Instant>,
    /// OnDemand: when the test last touched the key (not yet consumed).
    touched_at: Option<Instant>,
    /// A request needed presence and did not get it; cleared by a granted request or a mode
    /// change. What a test waits for before touching, as a user reacts to the key's blinking.
    requested: bool,
}

impl PresenceState {
    pub(crate) fn new() -> Self {
        PresenceState { mode: Presence::default(), waiting_since: None, touched_at: None, requested: false }
    }

    /// Switches mode and forgets pending waits and touches.
    pub(crate) fn set_mode(&mut self, mode: Presence) {
        self.mode = mode;
        self.waiting_since = None;
        self.touched_at = None;
        self.requested = false;
    }

    /// True while the key waits for a touch (the last request needing presence was refused).
    pub(crate) fn is_requested(&self) -> bool {
        self.requested
    }

    /// The request that waited for a touch is gone (cancelled or timed out).
    pub(crate) fn clear_request(&mut self) {
        self.requested = false;
        self.waiting_since = None;
    }

    pub(crate) fn touch(&mut self, now: Instant) {
        self.touched_at = Some(now);
    }

    /// True when the user is present now; the presence is consumed, so the caller must then sign.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let present = self.present(now);
        self.requested = !present;
        present
    }

    fn present(&mut self, now: Instant) -> bool {
        match self.mode {
            Presence::Always => true,
            Presence::Never => false,
            Presence::AfterDelay(delay) => {
                let since = *self.waiting_since.get_or_insert(now);
                let present = now.saturating_duration_since(since) >= delay;
                if present {
                    self.waiting_since = None;
                }
                present
            }
            Presence::OnDemand => {
                let fresh =
                    self.touched_at.is_some_and(|t| now.saturating_duration_since(t) < TOUCH_VALIDITY);
                self.touched_at = None;
                fresh
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_and_never() {
        let now = Instant::now();
        let mut state = PresenceState::new();
        assert!(state.take(now) && state.take(now));
        state.set_mode(Presence::Never);
        state.touch(now);
        assert!(!state.take(now));
    }

    #[test]
    fn after_delay_counts_from_the_first_unsatisfied_request_and_is_consumed() {
        let t0 = Instant::now();
        let mut state = PresenceState::new();
        state.set_mode(Presence::AfterDelay(Duration::from_millis(300)));
        assert!(!state.take(t0));
        assert!(!state.take(t0 + Duration::from_millis(299)));
        assert!(state.take(t0 + Duration::from_millis(300)));
        // Consumed: a new wait starts.
        assert!(!state.take(t0 + Duration::from_millis(301)));
        assert!(state.take(t0 + Duration::from_millis(601)));
    }

    #[test]
    fn on_demand_touch_is_consumed_once_and_expires() {
        let t0 = Instant::now();
        let mut state = PresenceState::new();
        state.set_mode(Presence::OnDemand);
        assert!(!state.take(t0));
        state.touch(t0);
        assert!(state.take(t0 + Duration::from_millis(10)));
        assert!(!state.take(t0 + Duration::from_millis(20)));
        state.touch(t0);
        assert!(!state.take(t0 + TOUCH_VALIDITY));
    }

    #[test]
    fn changing_mode_forgets_a_pending_touch() {
        let t0 = Instant::now();
        let mut state = PresenceState::new();
        state.set_mode(Presence::OnDemand);
        state.touch(t0);
        state.set_mode(Presence::OnDemand);
        assert!(!state.take(t0));
    }
}
