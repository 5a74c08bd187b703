//! Keys that come and go while the library waits.

use std::time::Duration;

use aa_logon::fido::Prompt;
use aa_logon::ErrorKind;
use aa_uhid::Bridge;
use aa_virtual_key::{Presence, VirtualKey};

use crate::runner::Verdict;
use crate::support::{challenge_for, plug_key, verify, PendingSign, Prompts, APP_ID};

/// No key at first: the library asks for one, the key is plugged in during the wait, and the
/// library finds it through hidapi's re-enumeration and signs.
pub fn hot_plug_during_wait() -> Verdict {
    let mut bridge = Bridge::new();
    let enrollment = VirtualKey::new(b"hot-plug").enrollment(APP_ID);
    let challenge = challenge_for(&[&enrollment])?;
    let prompts = Prompts::default();
    let pending = PendingSign::start(challenge.requests.clone(), Duration::from_secs(15), &prompts)?;
    prompts.wait_for(Prompt::InsertKey, Duration::from_secs(5))?;
    let (key, _plugged) = plug_key(&mut bridge, b"hot-plug")?;
    let response = pending.finish()?.map_err(|e| format!("sign failed: {e}"))?;
    verify(&challenge, &enrollment, &response)?;
    if key.counter() != 1 || prompts.sequence() != [Prompt::InsertKey, Prompt::TouchKey, Prompt::Touched] {
        return Err(format!("counter {}, prompts {:?}", key.counter(), prompts.sequence()));
    }
    Ok(())
}

/// The owning key is pulled out while the library polls it for a touch: the hidraw read fails
/// instead of hanging, the library goes back to asking for a key, and the sign ends with a clear
/// error when its timeout expires.
pub fn unplug_during_wait() -> Verdict {
    const TIMEOUT: Duration = Duration::from_secs(3);
    let mut bridge = Bridge::new();
    let (key, plugged) = plug_key(&mut bridge, b"unplug")?;
    key.set_presence(Presence::Never);
    let challenge = challenge_for(&[&key.enrollment(APP_ID)])?;
    let prompts = Prompts::default();
    let pending = PendingSign::start(challenge.requests.clone(), TIMEOUT, &prompts)?;
    prompts.wait_for(Prompt::TouchKey, Duration::from_secs(5))?;
    bridge.unplug(plugged.slot).map_err(|e| format!("unplug: {e}"))?;
    let started = pending.started;
    let outcome = pending.finish()?;
    let took = started.elapsed();
    let error = match outcome {
        Ok(_) => return Err("signed although the key was unplugged and never touched".into()),
        Err(error) => error,
    };
    if !matches!(
        error.kind(),
        ErrorKind::UserPresenceTimeout | ErrorKind::DeviceProtocol | ErrorKind::NoDevice
    ) {
        return Err(format!("unexpected error kind: {error}"));
    }
    if took > TIMEOUT + Duration::from_secs(2) {
        return Err(format!("returned after {took:?}, timeout was {TIMEOUT:?}"));
    }
    if prompts.sequence() != [Prompt::TouchKey, Prompt::InsertKey] {
        return Err(format!("the removal was not noticed: prompts {:?}", prompts.sequence()));
    }
    println!("GUEST unplug_during_wait ended with: {error}");
    Ok(())
}
