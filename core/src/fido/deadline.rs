//! The time budget of a device exchange: an instant to stop at plus the caller's cancel token.

use std::time::{Duration, Instant};

use crate::{CancelToken, Error};

/// Why a device exchange stopped without a device answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeError {
    /// The operation's deadline passed.
    DeadlinePassed,
    /// The caller cancelled.
    Cancelled,
    /// The device broke the protocol, answered with an error or went away.
    Device(Error),
}

impl From<Error> for ExchangeError {
    fn from(error: Error) -> Self {
        ExchangeError::Device(error)
    }
}

/// When to give up, and how to notice a cancel on the way.
#[derive(Clone, Copy, Debug)]
pub struct Deadline<'a> {
    at: Instant,
    cancel: &'a CancelToken,
}

impl<'a> Deadline<'a> {
    /// Stops after `budget` from now or when `cancel` fires.
    pub fn after(budget: Duration, cancel: &'a CancelToken) -> Self {
        let at = Instant::now().checked_add(budget).unwrap_or_else(far_future);
        Deadline { at, cancel }
    }

    /// A deadline that stops earlier, at `at`, keeping the same cancel token.
    pub fn earliest(self, at: Instant) -> Self {
        Deadline { at: self.at.min(at), cancel: self.cancel }
    }

    /// This deadline cut to `budget` from now: the share of one exchange with one device, so a
    /// device that never finishes answering gives the others their turn. Same cancel token.
    pub fn within(self, budget: Duration) -> Self {
        self.earliest(Instant::now().checked_add(budget).unwrap_or_else(far_future))
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// `Err` once cancelled or past the deadline (cancel wins: it is the caller's explicit wish).
    pub fn check(&self) -> Result<(), ExchangeError> {
        if self.cancel.is_cancelled() {
            Err(ExchangeError::Cancelled)
        } else if Instant::now() >= self.at {
            Err(ExchangeError::DeadlinePassed)
        } else {
            Ok(())
        }
    }

    /// Sleeps `duration` (cut short by the deadline); wakes at once on cancel.
    pub fn sleep(&self, duration: Duration) -> Result<(), ExchangeError> {
        self.check()?;
        if self.cancel.sleep(duration.min(self.remaining())) {
            return Err(ExchangeError::Cancelled);
        }
        Ok(())
    }

    /// Sleeps until `instant` (cut short by the deadline); wakes at once on cancel.
    pub fn sleep_until(&self, instant: Instant) -> Result<(), ExchangeError> {
        self.sleep(instant.saturating_duration_since(Instant::now()))
    }
}

/// An instant so far away that it never comes (for budgets too large to add to `now`).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_cancel_before_the_deadline() {
        let cancel = CancelToken::new();
        let deadline = Deadline::after(Duration::from_secs(60), &cancel);
        assert_eq!(deadline.check(), Ok(()));
        cancel.cancel();
        assert_eq!(deadline.check(), Err(ExchangeError::Cancelled));
        assert_eq!(deadline.sleep(Duration::from_secs(60)), Err(ExchangeError::Cancelled));
    }

    #[test]
    fn passes_and_clamps_sleeps() {
        let cancel = CancelToken::new();
        let deadline = Deadline::after(Duration::from_millis(30), &cancel);
        // Clamped to the deadline: the sleep ends when the deadline passes, not after 60 s, which
        // the check right after it shows (an unclamped sleep would also end Ok, but only a minute
        // later, and then hang the suite rather than pass quietly).
        assert_eq!(deadline.sleep(Duration::from_secs(60)), Ok(()));
        assert_eq!(deadline.check(), Err(ExchangeError::DeadlinePassed));
        let huge = Deadline::after(Duration::MAX, &cancel);
        assert!(huge.remaining() > Duration::from_secs(3600));
    }

    #[test]
    fn a_budget_never_outlasts_the_deadline_and_keeps_the_cancel() {
        let cancel = CancelToken::new();
        let overall = Deadline::after(Duration::from_secs(60), &cancel);
        let share = overall.within(Duration::from_millis(20));
        assert!(share.remaining() <= Duration::from_millis(20));
        assert_eq!(share.sleep(Duration::from_secs(60)), Ok(()));
        assert_eq!(share.check(), Err(ExchangeError::DeadlinePassed));
        assert_eq!(overall.check(), Ok(()));
        let short = Deadline::after(Duration::from_millis(10), &cancel);
        assert!(short.within(Duration::MAX).remaining() <= Duration::from_millis(10));
        cancel.cancel();
        assert_eq!(overall.within(Duration::from_secs(1)).check(), Err(ExchangeError::Cancelled));
    }
}
