//! Cancellation that another thread can trigger and that wakes a sleeping waiter at once.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A cloneable cancellation flag. `cancel()` from any thread; waiters in [`sleep`](Self::sleep)
/// wake immediately.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation and wakes every waiter.
    pub fn cancel(&self) {
        let (flag, cond) = &*self.inner;
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cond.notify_all();
    }

    /// Clears a previous cancellation so the token can serve the next operation.
    pub fn reset(&self) {
        *self.inner.0.lock().unwrap_or_else(|p| p.into_inner()) = false;
    }

    /// True once [`cancel`](Self::cancel) was called (and not reset since).
    pub fn is_cancelled(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sleeps up to `duration`; returns `true` as soon as the token is cancelled.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let (flag, cond) = &*self.inner;
        let mut cancelled = flag.lock().unwrap_or_else(|p| p.into_inner());
        while !*cancelled {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            cancelled = cond
                .wait_timeout(cancelled, deadline - now)
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
        let start = Instant::now();
        let t = std::thread::spawn(move || other.sleep(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(50));
        token.cancel();
        assert!(t.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(2));
        token.reset();
        assert!(!token.sleep(Duration::from_millis(10)));
    }
}
