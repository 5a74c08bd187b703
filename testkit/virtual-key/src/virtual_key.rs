//! The public handle of a virtual key: a USB HID security key seen as a pair of report pipes.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::ctaphid::Report;
use crate::device::Device;
use crate::fault::Fault;
use crate::keys::{Enrollment, KeyMaterial};
use crate::presence::Presence;

/// The key was unplugged ([`VirtualKey::disconnect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the virtual security key was disconnected")
    }
}

impl std::error::Error for Disconnected {}

/// A software U2F security key. Clones share one device, so a test can keep a handle to touch,
/// fault or unplug the key while the code under test talks to it from another thread.
#[derive(Clone)]
pub struct VirtualKey {
    shared: Arc<Shared>,
}

struct Shared {
    material: KeyMaterial,
    state: Mutex<State>,
    /// Signalled whenever reports are queued or the key is unplugged.
    changed: Condvar,
    /// Signalled whenever a reader starts waiting in `read_report` (see wait_for_blocked_reader).
    reader_blocked: Condvar,
}

struct State {
    device: Device,
    connected: bool,
    /// Readers waiting inside `read_report` for a report.
    blocked_readers: usize,
}

impl VirtualKey {
    /// A plugged-in key whose keys all derive from `seed`, with [`Presence::Always`].
    pub fn new(seed: &[u8]) -> Self {
        let material = KeyMaterial::from_seed(seed);
        let state = State { device: Device::new(material.clone()), connected: true, blocked_readers: 0 };
        let (changed, reader_blocked) = (Condvar::new(), Condvar::new());
        VirtualKey {
            shared: Arc::new(Shared { material, state: Mutex::new(state), changed, reader_blocked }),
        }
    }

    pub fn material(&self) -> &KeyMaterial {
        &self.shared.material
    }

    /// The deterministic credential for `app_id` (what a fixture enrolls for this key).
    pub fn enrollment(&self, app_id: &str) -> Enrollment {
        self.shared.material.enrollment(app_id)
    }

    /// Host → device: one 64-byte report, as written to the HID output pipe.
    pub fn write_report(&self, report: &Report) -> Result<(), Disconnected> {
        let mut state = self.lock();
        if !state.connected {
            return Err(Disconnected);
        }
        state.device.receive(report, Instant::now());
        drop(state);
        self.shared.changed.notify_all();
        Ok(())
    }

    /// Device → host: waits up to `timeout` for the next report; `Ok(None)` when none came.
    pub fn read_report(&self, timeout: Duration) -> Result<Option<Report>, Disconnected> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if !state.connected {
                return Err(Disconnected);
            }
            let now = Instant::now();
            if let Some(report) = state.device.next_report(now) {
                // Answering may have changed what the key waits for (see wait_for_touch_request).
                self.shared.changed.notify_all();
                return Ok(Some(report));
            }
            if deadline.is_some_and(|d| now >= d) {
                return Ok(None);
            }
            // Sleep until the caller's deadline or the device's next timer, whichever is first.
            let wake = [deadline, state.device.next_deadline()].into_iter().flatten().min();
            state.blocked_readers += 1;
            self.shared.reader_blocked.notify_all();
            state = match wake {
                Some(wake) => {
                    let wait = wake.saturating_duration_since(now);
                    self.shared.changed.wait_timeout(state, wait).unwrap_or_else(PoisonError::into_inner).0
                }
                None => self.shared.changed.wait(state).unwrap_or_else(PoisonError::into_inner),
            };
            state.blocked_readers -= 1;
        }
    }

    /// Blocks until another thread waits in [`read_report`](Self::read_report) with nothing to
    /// read, or `timeout` passes; returns whether one does. Once it returns true, that reader is
    /// asleep and only a report, an unplug or its own timeout wakes it: lets a test unplug the key
    /// under a blocked reader instead of sleeping and hoping the reader got there.
    pub fn wait_for_blocked_reader(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.blocked_readers > 0 {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .reader_blocked
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// How the simulated user answers requests for presence; forgets pending touches and waits.
    pub fn set_presence(&self, presence: Presence) {
        self.lock().device.authenticator.set_presence(presence);
    }

    /// The user touches the key: with [`Presence::OnDemand`], the next request needing presence
    /// within [`TOUCH_VALIDITY`](crate::TOUCH_VALIDITY) succeeds. Other modes ignore touches.
    pub fn touch(&self) {
        self.lock().device.authenticator.touch(Instant::now());
    }

    /// True while the key waits for a touch: the last request that needed user presence was
    /// refused (`6985`) and no request was granted since. Lets a test touch when a user would.
    pub fn is_waiting_for_touch(&self) -> bool {
        self.lock().device.authenticator.presence_requested()
    }

    /// Blocks until the key waits for a touch ([`is_waiting_for_touch`](Self::is_waiting_for_touch))
    /// or `timeout` passes; returns whether it does. Woken by every report the host sends.
    pub fn wait_for_touch_request(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.device.authenticator.presence_requested() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Queues a misbehaviour for the next response(s) it applies to (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.lock().device.faults.inject(fault);
    }

    /// Drops every fault not yet applied.
    pub fn clear_faults(&self) {
        self.lock().device.faults.clear();
    }

    /// The signature counter: the value in the last signature made (0 before the first).
    pub fn counter(&self) -> u32 {
        self.lock().device.authenticator.counter()
    }

    /// How many WINK commands the key has executed.
    pub fn wink_count(&self) -> u32 {
        self.lock().device.winks
    }

    /// Plugs an unplugged key back in: it comes back like a real key after re-insertion, with no
    /// channels allocated and its credentials and counter kept.
    pub fn reconnect(&self) {
        self.plug(true);
    }

    /// Unplugs the key: pending and later reads and writes fail with [`Disconnected`].
    pub fn disconnect(&self) {
        self.plug(false);
    }

    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// The U2F raw-message layer without CTAPHID framing: request APDU in, response data ‖ SW1 SW2
    /// out. Shares presence and counter with the HID path.
    pub fn apdu(&self, request: &[u8]) -> Vec<u8> {
        self.lock().device.authenticator.process(request, Instant::now())
    }

    /// Makes the key own `key_handle` for `app_param`, signing with `private_key` (a P-256 scalar),
    /// e.g. to replay a published test vector. A scalar that is not a valid P-256 private key (zero
    /// or not below the group order) cannot sign: nothing is imported, so the handle stays unknown
    /// (`6A80`).
    pub fn import_credential(&self, app_param: [u8; 32], key_handle: Vec<u8>, private_key: [u8; 32]) {
        // The error is deliberately dropped: the documented effect of a bad scalar is "not imported".
        let _ = self.lock().device.authenticator.import(app_param, key_handle, private_key);
    }

    /// Either way the transport starts afresh (no channels, nothing in flight) and waiting
    /// readers wake up to see the change.
    fn plug(&self, connected: bool) {
        let mut state = self.lock();
        state.device.reset_transport();
        state.connected = connected;
        drop(state);
        self.shared.changed.notify_all();
    }

    /// A poisoned lock only means another thread panicked mid-call; the device state stays usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for VirtualKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualKey").field("connected", &self.is_connected()).finish_non_exhaustive()
    }
}
