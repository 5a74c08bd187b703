//! A [`DeviceProvider`] wrapper counting the CTAPHID reports that cross it, both ways.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aa_logon::fido::{DeviceInfo, DeviceProvider, HidTransport, Report};

#[derive(Default)]
struct Counts {
    written: AtomicU64,
    read: AtomicU64,
}

pub struct CountingDevices<P> {
    inner: P,
    counts: Arc<Counts>,
}

impl<P: DeviceProvider> CountingDevices<P> {
    pub fn new(inner: P) -> Self {
        CountingDevices { inner, counts: Arc::default() }
    }

    /// Reports written to and read from devices since the last call; resets the counts.
    pub fn take(&self) -> (u64, u64) {
        (self.counts.written.swap(0, Ordering::Relaxed), self.counts.read.swap(0, Ordering::Relaxed))
    }
}

impl<P: DeviceProvider> DeviceProvider for CountingDevices<P> {
    fn list(&self) -> aa_logon::Result<Vec<DeviceInfo>> {
        self.inner.list()
    }

    fn open(&self, path: &str) -> aa_logon::Result<Box<dyn HidTransport>> {
        let inner = self.inner.open(path)?;
        Ok(Box::new(CountingTransport { inner, counts: self.counts.clone() }))
    }
}

struct CountingTransport {
    inner: Box<dyn HidTransport>,
    counts: Arc<Counts>,
}

impl HidTransport for CountingTransport {
    fn write_report(&mut self, report: &Report) -> aa_logon::Result<()> {
        self.counts.written.fetch_add(1, Ordering::Relaxed);
        self.inner.write_report(report)
    }

    fn read_report(&mut self, timeout: Duration) -> aa_logon::Result<Option<Report>> {
        let report = self.inner.read_report(timeout)?;
        if report.is_some() {
            self.counts.read.fetch_add(1, Ordering::Relaxed);
        }
        Ok(report)
    }
}
