//! A U2F:1 logon cancelled while the key waits for a touch, then signed on the same logon: the
//! cancel reaches the key as CTAPHID_CANCEL over hidraw and leaves the channel clean.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use aa_logon::fido::HidapiDevices;
use aa_logon::ErrorKind;
use aa_sim::demo;
use aa_uhid::{Bridge, Endpoint, EndpointGone, Report};
use aa_virtual_key::{Presence, Protocols, VirtualKey};

use crate::runner::Verdict;
use crate::server::{self, failed, logged_on, sign_options};
use crate::support::plug;

/// Hang guard for each event awaited (a touch request, the CANCEL's arrival).
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);
/// CTAPHID_CANCEL's initialization packet: command 0x11 with the packet-type bit.
const CANCEL_PACKET: u8 = 0x80 | 0x11;

/// The key as the bridge drives it, signalling every CTAPHID_CANCEL once the key has processed it:
/// the scenario waits for that event rather than for however long the library takes to send it.
struct CancelWatch {
    key: VirtualKey,
    cancels: Mutex<u32>,
    arrived: Condvar,
}

impl CancelWatch {
    fn new(key: VirtualKey) -> CancelWatch {
        CancelWatch { key, cancels: Mutex::new(0), arrived: Condvar::new() }
    }

    /// Waits until a CTAPHID_CANCEL has reached the key or `timeout` passes; returns whether one did.
    fn wait_for_cancel(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut cancels = self.cancels.lock().unwrap_or_else(PoisonError::into_inner);
        while *cancels == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            cancels = self.arrived.wait_timeout(cancels, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }
}

impl Endpoint for CancelWatch {
    fn host_to_device(&self, report: &Report) -> Result<(), EndpointGone> {
        // The key processes the report before this returns, so a signalled CANCEL is a done one.
        self.key.host_to_device(report)?;
        if report[4] == CANCEL_PACKET {
            *self.cancels.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            self.arrived.notify_all();
        }
        Ok(())
    }

    fn device_to_host(&self, timeout: Duration) -> Result<Option<Report>, EndpointGone> {
        self.key.device_to_host(timeout)
    }
}

/// The user never touches the key; another thread cancels the logon once the key asks for the
/// touch. The sign ends `Cancelled`, the key signed nothing meanwhile and got CTAPHID_CANCEL; the
/// same logon then signs when the user touches, so neither the key nor hidraw kept anything of the
/// cancelled exchange.
///
/// The key speaks only CTAP2: the library answers U2F:1 with a getAssertion that the key holds
/// open (KEEPALIVE UPNEEDED) while it waits for the touch, so the cancel has something to stop and
/// must reach the key. (A CTAP1 key answers each touch poll at once, leaving nothing open; and a
/// CTAP2 request left open would make the key answer the next sign CHANNEL_BUSY.)
pub fn cancel_during_touch_over_hidraw() -> Verdict {
    let server = server::start()?;
    let mut bridge = Bridge::new();
    let key = VirtualKey::with_protocols(demo::VIRTUAL_KEY_SEED.as_bytes(), Protocols::Ctap2Only);
    key.set_presence(Presence::Never);
    let watch = Arc::new(CancelWatch::new(key.clone()));
    let _plugged = plug(&mut bridge, watch.clone())?;
    let mut logon = server.start_logon(demo::USER, demo::EVENT, "U2F:1")?;
    logon.gather_sign_request().map_err(failed("gather_sign_request"))?;

    let cancel = logon.cancel_token();
    let waiting = key.clone();
    let canceller = thread::spawn(move || {
        let asked = waiting.wait_for_touch_request(EVENT_TIMEOUT);
        // Read before the cancel: what the key had signed (its silent ownership check) by then.
        let counter = waiting.counter();
        cancel.cancel();
        asked.then_some(counter)
    });
    let cancelled =
        logon.sign_with_device(&HidapiDevices::new(), &sign_options(None)).map(|done| done.status.clone());
    let counter_when_asked = canceller
        .join()
        .map_err(|_| "the cancel thread panicked".to_string())?
        .ok_or("the key never asked for a touch")?;
    match cancelled {
        Err(error) if error.kind() == ErrorKind::Cancelled => {}
        Err(error) => return Err(format!("the cancelled sign ended with {:?}: {error}", error.kind())),
        Ok(status) => {
            return Err(format!("the logon went on ({status:?}) although the key was never touched"))
        }
    }
    if !watch.wait_for_cancel(EVENT_TIMEOUT) {
        return Err(format!("no CTAPHID_CANCEL reached the key within {EVENT_TIMEOUT:?}"));
    }
    if key.is_waiting_for_touch() {
        return Err("the key still waits for a touch after the cancel".into());
    }
    if key.counter() != counter_when_asked {
        return Err(format!("key counter {} after the cancel, {counter_when_asked} before", key.counter()));
    }
    if logon.is_finished() {
        return Err("the cancel ended the logon".into());
    }

    // The same logon, and now the user touches the key when it asks.
    key.set_presence(Presence::OnDemand);
    let toucher = {
        let key = key.clone();
        thread::spawn(move || {
            let asked = key.wait_for_touch_request(EVENT_TIMEOUT);
            if asked {
                key.touch();
            }
            asked
        })
    };
    let signed = logon.sign_with_device(&HidapiDevices::new(), &sign_options(None)).map_err(failed("sign"));
    let touched = toucher.join().map_err(|_| "the touch thread panicked".to_string())?;
    logged_on(signed?, "U2F only")?;
    if !touched {
        return Err("signed without the key asking for a touch".into());
    }
    if key.counter() <= counter_when_asked {
        return Err(format!("key counter {} after signing, {counter_when_asked} before", key.counter()));
    }
    Ok(())
}
