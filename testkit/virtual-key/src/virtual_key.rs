//! The public handle of a virtual key: a USB HID security key seen as a pair of report pipes.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::ctaphid::Report;
use crate::device::Device;
use crate::fault::Fault;
use crate::keys::{Enrollment, KeyMaterial};
use crate::presence::Presence;
use crate::protocols::Protocols;
use crate::state_file::StateFile;
use crate::Fido2Credential;

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
    /// A plugged-in key whose keys all derive from `seed`, with [`Presence::Always`], speaking
    /// U2F and CTAP2 ([`Protocols::Both`]).
    pub fn new(seed: &[u8]) -> Self {
        Self::plugged_in(KeyMaterial::from_seed(seed), Device::new)
    }

    /// Like [`new`](Self::new), speaking only the given protocols. The seed gives the same
    /// credentials whatever the protocols.
    pub fn with_protocols(seed: &[u8], protocols: Protocols) -> Self {
        Self::plugged_in(KeyMaterial::from_seed(seed), |material| Device::with_protocols(material, protocols))
    }

    /// Like [`new`](Self::new), with the signature counter kept in the file at `path` between
    /// processes: it continues from the counter saved there (0 when the file does not exist yet,
    /// which is then created) and is saved atomically before every signature is released, so
    /// successive processes using one seed never present a server an old counter. A file made for
    /// another seed, an unreadable or malformed one, or a place where it cannot be written is an
    /// error here; a save that fails later refuses that signature (status word `6F00`).
    pub fn with_state_file(seed: &[u8], path: impl Into<PathBuf>) -> io::Result<Self> {
        let material = KeyMaterial::from_seed(seed);
        let (state_file, counter) = StateFile::open(path.into(), material.state_id())?;
        log::debug!("{}: virtual key counter continues from {counter}", state_file.path().display());
        Ok(Self::plugged_in(material, |material| {
            let mut device = Device::new(material);
            device.authenticator.persist_counter(state_file, counter);
            device
        }))
    }

    fn plugged_in(material: KeyMaterial, device: impl FnOnce(KeyMaterial) -> Device) -> Self {
        let state = State { device: device(material.clone()), connected: true, blocked_readers: 0 };
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
        // A CTAP2 request waiting for presence answers at once, not at its next KEEPALIVE.
        self.shared.changed.notify_all();
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

    /// The protocols this key speaks.
    pub fn protocols(&self) -> Protocols {
        self.lock().device.ctap2.protocols()
    }

    /// Sets (`Some`) or removes (`None`) the CTAP2 client PIN, as if the user had done it; either
    /// way PIN retries go back to 8 and pinUvAuthTokens issued before stop working.
    pub fn set_pin(&self, pin: Option<&str>) {
        self.lock().device.ctap2.pin.set(pin);
    }

    /// PIN retries left (8 at most; 0 = the PIN is blocked).
    pub fn pin_retries(&self) -> u8 {
        self.lock().device.ctap2.pin.retries()
    }

    /// Sets the PIN retries left, clamped to 8; 0 blocks the PIN.
    pub fn set_pin_retries(&self, retries: u8) {
        self.lock().device.ctap2.pin.set_retries(retries);
    }

    /// Built-in user verification (a fingerprint sensor): whether the key offers it (getInfo option
    /// `uv`) and whether the user's verification succeeds. Resets the UV retries to 8.
    pub fn set_uv(&self, available: bool, succeeds: bool) {
        let mut state = self.lock();
        let uv = &mut state.device.ctap2.pin.uv;
        uv.available = available;
        uv.succeeds = succeeds;
        uv.retries = crate::ctap2::client_pin::MAX_UV_RETRIES;
    }

    /// Built-in UV retries left (0 = UV blocked).
    pub fn uv_retries(&self) -> u8 {
        self.lock().device.ctap2.pin.uv.retries
    }

    /// How many CTAPHID_CANCEL commands the key received (on any channel, pending request or not).
    pub fn cancels_seen(&self) -> u32 {
        self.lock().device.cancels
    }

    /// How long a CTAP2 request waits for the user's touch before it is answered with
    /// USER_ACTION_TIMEOUT (`0x2F`); 30 s by default, as on real keys.
    pub fn set_user_presence_timeout(&self, timeout: Duration) {
        self.lock().device.user_presence_timeout = timeout;
        self.shared.changed.notify_all();
    }

    /// The deterministic FIDO2 credential of this seed for `rp_id` (the same for every user id),
    /// for fixtures: its id works in a getAssertion allowList for `rp_id`. The key also holds it as
    /// a discoverable credential of user `user_id`, so a getAssertion without allowList finds it.
    pub fn make_credential(&self, rp_id: &str, user_id: &[u8]) -> Fido2Credential {
        let material = &self.shared.material;
        let enrollment = material.fido2_credential(rp_id);
        let rp_id_hash = crate::application_parameter(rp_id);
        let key = material.signing_key(&rp_id_hash, &enrollment.key_handle);
        let credential_id = enrollment.key_handle;
        self.lock().device.ctap2.residents.store(crate::ctap2::credential::Resident {
            rp_id_hash,
            credential_id: credential_id.clone(),
            user_id: user_id.to_vec(),
        });
        Fido2Credential::new(credential_id, key.verifying_key())
    }

    /// The CTAP2 layer without CTAPHID framing: command byte ‖ CBOR parameters in, status ‖ CBOR
    /// out. Shares PIN, credentials and counter with the HID path. It never waits: a request
    /// needing a touch takes the presence the [`Presence`] mode gives at once, and without it is
    /// answered USER_ACTION_TIMEOUT (`0x2F`). Works whatever the key's protocols.
    pub fn cbor(&self, request: &[u8]) -> Vec<u8> {
        self.lock().device.cbor_direct(request, Instant::now())
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
