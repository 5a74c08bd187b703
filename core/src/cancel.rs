//! Cancellation that another thread can trigger and that wakes a sleeping waiter at once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// A cloneable cancellation flag. `cancel()` from any thread; waiters in [`sleep`](Self::sleep)
/// wake immediately. A token made with [`linked`](Self::linked) is also cancelled by its sources.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    cancelled: bool,
    /// Tokens linked to this one: cancelling this one cancels them too.
    followers: Vec<Weak<Inner>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cancel(&self) {
        let followers = {
            let mut state = self.lock();
            state.cancelled = true;
            std::mem::take(&mut state.followers)
        };
        self.changed.notify_all();
        for follower in followers.iter().filter_map(Weak::upgrade) {
            follower.cancel();
        }
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new token that is cancelled when any of `sources` is (or already was) cancelled, so
    /// one operation can honour several cancellers. Cancelling it does not cancel the sources.
    pub fn linked(sources: &[&CancelToken]) -> Self {
        let token = CancelToken::new();
        for source in sources {
            let mut state = source.inner.lock();
            if state.cancelled {
                token.inner.lock().cancelled = true;
            } else {
                state.followers.retain(|f| f.strong_count() > 0);
                state.followers.push(Arc::downgrade(&token.inner));
            }
        }
        token
    }

    /// Requests cancellation and wakes every waiter, here and in linked tokens.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Clears a previous cancellation so the token can serve the next operation.
    pub fn reset(&self) {
        self.inner.lock().cancelled = false;
    }

    /// True once [`cancel`](Self::cancel) was called (and not reset since).
    pub fn is_cancelled(&self) -> bool {
        self.inner.lock().cancelled
    }

    /// Sleeps up to `duration`; returns `true` as soon as the token is cancelled.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut state = self.inner.lock();
        while !state.cancelled {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .inner
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        true
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_wakes_a_sleeper_at_once() {
        let token = CancelToken::new();
        let other = token.clone();
        // Whether the cancel lands before or during the sleep, the sleeper must report it (an
        // unwoken sleeper would return false after its full 60 s instead).
        let t = std::thread::spawn(move || other.sleep(Duration::from_secs(60)));
        token.cancel();
        assert!(t.join().unwrap());
        token.reset();
        assert!(!token.sleep(Duration::from_millis(10)));
    }

    #[test]
    fn linked_tokens_follow_every_source() {
        let (a, b) = (CancelToken::new(), CancelToken::new());
        let linked = CancelToken::linked(&[&a, &b]);
        assert!(!linked.is_cancelled());
        let waiter = linked.clone();
        let t = std::thread::spawn(move || waiter.sleep(Duration::from_secs(60)));
        b.cancel();
        assert!(t.join().unwrap());
        assert!(!a.is_cancelled(), "cancelling the linked token's source leaves the other source alone");

        let already = CancelToken::linked(&[&b]);
        assert!(already.is_cancelled(), "a cancelled source cancels a token linked later");
        let fresh = CancelToken::linked(&[&a]);
        fresh.cancel();
        assert!(!a.is_cancelled(), "cancelling a linked token does not cancel its source");
    }
}
