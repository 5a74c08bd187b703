//! The Rust handle on one instance of a simulated cluster ([`crate::Simulator::instance`]).

use std::io;
use std::time::Duration;

use crate::instance::{Instance, InstanceStats, Outage};

/// One instance of the cluster: take it down, bring it back, read its counters. Every change is
/// in force when the call returns (the listener is really closed or open again, the affected
/// connections really closed or reset), so the client's next connect or request sees it.
pub struct InstanceControl<'a> {
    instance: &'a Instance,
}

impl<'a> InstanceControl<'a> {
    pub(crate) fn new(instance: &'a Instance) -> InstanceControl<'a> {
        InstanceControl { instance }
    }

    pub fn index(&self) -> usize {
        self.instance.index
    }

    /// e.g. `https://127.0.0.1:40123`.
    pub fn base_url(&self) -> &'a str {
        &self.instance.base_url
    }

    /// `None` while the instance is up.
    pub fn outage(&self) -> Option<Outage> {
        self.instance.outage()
    }

    /// Takes the instance down in the given way (replacing any earlier outage; the same one
    /// again changes nothing):
    /// - [`Outage::Refuse`]: the listening socket is closed (connects get ECONNREFUSED) and every
    ///   open connection is closed, as a killed process's would be.
    /// - [`Outage::Reset`]: new connections are accepted and reset at once (RST); open ones are
    ///   reset too.
    /// - [`Outage::Unavailable`]: every `/api/` request, also on open keep-alive connections, is
    ///   answered HTTP 503 with an error envelope; `/sim/v1/` routes keep working.
    /// - [`Outage::Hang`]: new connections are accepted and never read (a TLS handshake never
    ///   completes), requests on open connections are never answered.
    ///
    /// An error (only when leaving [`Outage::Refuse`] fails to listen on the port again) leaves
    /// the outage as it was.
    pub fn set_outage(&self, outage: Outage) -> io::Result<()> {
        self.instance.change_outage_blocking(Some(outage))
    }

    /// Brings the instance back up: after [`Outage::Refuse`] it listens on the same port again
    /// (an error if it cannot), after [`Outage::Hang`] the hung connections are closed. Nothing
    /// happens to an instance that is up.
    pub fn restore(&self) -> io::Result<()> {
        self.instance.change_outage_blocking(None)
    }

    pub fn stats(&self) -> InstanceStats {
        self.instance.stats()
    }

    /// Waits until `condition` holds for [`stats`](Self::stats), woken by every change of a
    /// counter (no polling); false when it still does not after `timeout`. For tests that wait
    /// for a connection to be accepted or closed.
    pub fn wait_for_stats(&self, condition: impl FnMut(&InstanceStats) -> bool, timeout: Duration) -> bool {
        self.instance.wait_for_stats(condition, timeout)
    }

    /// Sets [`InstanceStats::peak_open_connections`] to the connections open now, to measure
    /// the peak of a phase of a test.
    pub fn reset_peak_open_connections(&self) {
        self.instance.reset_peak_open_connections();
    }
}
