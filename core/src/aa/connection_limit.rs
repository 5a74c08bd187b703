//! The bound on the connections a client has open: at most `max_connections` calls are on the
//! network at once, so (with the idle pool capped at the same number) the client never holds more
//! connections than configured, however many threads share it. The lock guards a counter only,
//! never a network operation: calls wait here for a free connection, not for each other's I/O.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{Error, ErrorKind, Result};

pub(crate) struct ConnectionLimit {
    max: usize,
    in_use: Mutex<usize>,
    freed: Condvar,
}

/// One call's right to a connection; gives it back when dropped.
pub(crate) struct ConnectionPermit<'a> {
    limit: &'a ConnectionLimit,
}

impl ConnectionLimit {
    pub(crate) fn new(max: usize) -> ConnectionLimit {
        ConnectionLimit { max: max.max(1), in_use: Mutex::new(0), freed: Condvar::new() }
    }

    /// Waits until fewer than the maximum are in use, at most `patience`.
    pub(crate) fn acquire(&self, patience: Duration) -> Result<ConnectionPermit<'_>> {
        let deadline = Instant::now().checked_add(patience);
        let mut in_use = self.lock();
        while *in_use >= self.max {
            let left =
                deadline.map_or(Duration::MAX, |deadline| deadline.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "all {} connections of this client stayed in use for {patience:?} \
                         (raise max_connections, or the request timeout)",
                        self.max
                    ),
                ));
            }
            in_use = self.freed.wait_timeout(in_use, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        *in_use += 1;
        Ok(ConnectionPermit { limit: self })
    }

    /// Calls on the network right now.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        *self.lock()
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.in_use.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ConnectionPermit<'_> {
    fn drop(&mut self) {
        *self.limit.lock() -= 1;
        self.limit.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_full_limit_makes_the_next_call_wait_until_a_permit_is_dropped() {
        let limit = ConnectionLimit::new(2);
        let first = limit.acquire(Duration::ZERO).unwrap();
        let _second = limit.acquire(Duration::ZERO).unwrap();
        let e = limit.acquire(Duration::ZERO).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("all 2 connections"), "{e}");
        let limit = &limit;
        std::thread::scope(|scope| {
            let (started, waiting) = mpsc::channel();
            let waiter = scope.spawn(move || {
                started.send(()).unwrap();
                limit.acquire(Duration::from_secs(600)).map(drop)
            });
            waiting.recv().unwrap();
            drop(first);
            waiter.join().unwrap().unwrap();
        });
        assert_eq!(limit.in_use(), 1);
    }
}
