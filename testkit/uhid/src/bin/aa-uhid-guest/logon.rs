//! Whole logons over hidraw: the simulator over HTTPS on loopback, the client's logon state
//! machine, and the key in the guest's kernel reached through the production `HidapiDevices`.

use std::sync::{Arc, PoisonError};

use aa_logon::fido::HidapiDevices;
use aa_sim::demo;
use aa_uhid::Bridge;
use aa_virtual_key::{Protocols, VirtualKey};

use crate::runner::Verdict;
use crate::server::{self, answering, failed, logged_on, sign_options};
use crate::support::{plug, plug_key};

const PIN: &str = "4711";
/// authenticatorData flags: user present (UP) and user verified (UV).
const FLAGS_UP_UV: u8 = 0x05;

/// U2F:1 for the demo user: the challenge gathered from the simulator, signed by the demo key
/// (CTAP1 over CTAPHID_MSG through hidraw), the verdict OK with a login session.
pub fn u2f_logon_over_hidraw() -> Verdict {
    let server = server::start()?;
    let mut bridge = Bridge::new();
    let (key, _plugged) = plug_key(&mut bridge, demo::VIRTUAL_KEY_SEED.as_bytes())?;
    let mut logon = server.start_logon(demo::USER, demo::EVENT, "U2F:1")?;
    let requests = logon.gather_sign_request().map_err(failed("gather_sign_request"))?.sign_requests.len();
    if requests == 0 {
        return Err("the challenge has no sign request".into());
    }
    let done = logon.sign_with_device(&HidapiDevices::new(), &sign_options(None)).map_err(failed("sign"))?;
    logged_on(done, "U2F only")?;
    if key.counter() != 1 {
        return Err(format!("key counter {} after one signature", key.counter()));
    }
    Ok(())
}

/// FIDO2:1 for a user whose policy requires verification, with a CTAP2-only key that has a PIN:
/// the PIN protocol (key agreement, encrypted PIN hash, pinUvAuthToken) and the assertion travel
/// as CTAPHID_CBOR through hidraw; the PIN is asked once, with all 8 retries left.
pub fn fido2_logon_with_pin_over_hidraw() -> Verdict {
    let server = server::start()?;
    let mut bridge = Bridge::new();
    let key = VirtualKey::with_protocols(demo::FIDO2_UV_KEY_SEED.as_bytes(), Protocols::Ctap2Only);
    key.set_pin(Some(PIN));
    let _plugged = plug(&mut bridge, Arc::new(key.clone()))?;
    let (pin, asked) = answering(PIN);
    let mut logon = server.start_logon(demo::USER_FIDO2_UV, demo::EVENT_FIDO2, "FIDO2:1")?;
    let done =
        logon.sign_with_device(&HidapiDevices::new(), &sign_options(Some(pin))).map_err(failed("sign"))?;
    logged_on(done, "FIDO2 only")?;
    let asked = asked.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if asked != [8] {
        return Err(format!("PIN asked with retries {asked:?}, expected once with 8"));
    }
    let assertion = logon.last_fido2_assertion().ok_or("no assertion was posted")?;
    let flags = *assertion.authenticator_data.get(32).ok_or("authenticatorData without flags")?;
    if flags & FLAGS_UP_UV != FLAGS_UP_UV {
        return Err(format!("authenticatorData flags 0x{flags:02x}: not present and verified"));
    }
    if key.pin_retries() != 8 {
        return Err(format!("{} PIN retries left after the right PIN", key.pin_retries()));
    }
    Ok(())
}
