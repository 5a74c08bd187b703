//! U2F signatures through the production transport, checked by the simulator's verifier.

use std::thread;
use std::time::Duration;

use aa_logon::fido::Prompt;
use aa_uhid::Bridge;
use aa_virtual_key::Presence;

use crate::runner::Verdict;
use crate::support::{b64url, challenge_for, plug_key, sign_now, verify, PendingSign, Prompts, APP_ID};

const SIGN_TIMEOUT: Duration = Duration::from_secs(10);

/// A sign request made by the simulator's logic, signed by the key in the guest's kernel, accepted
/// by the simulator's verifier with the counter the key reports.
pub fn u2f_sign_verified_by_simulator() -> Verdict {
    let mut bridge = Bridge::new();
    let (key, _plugged) = plug_key(&mut bridge, b"sign")?;
    let enrollment = key.enrollment(APP_ID);
    let challenge = challenge_for(&[&enrollment])?;
    let response = sign_now(&challenge.requests, SIGN_TIMEOUT)?;
    let counter = verify(&challenge, &enrollment, &response)?;
    if counter != key.counter() || counter == 0 {
        return Err(format!("verified counter {counter}, key counter {}", key.counter()));
    }
    Ok(())
}

/// Two keys present, the handle belongs to the second: the library finds the owner, the other key
/// never signs.
pub fn two_keys_one_owner() -> Verdict {
    let mut bridge = Bridge::new();
    let (bystander, _) = plug_key(&mut bridge, b"bystander")?;
    let (owner, _) = plug_key(&mut bridge, b"owner")?;
    let enrollment = owner.enrollment(APP_ID);
    let challenge = challenge_for(&[&enrollment])?;
    let response = sign_now(&challenge.requests, SIGN_TIMEOUT)?;
    if response.key_handle != b64url(&enrollment.key_handle) {
        return Err("signed with another key handle".into());
    }
    verify(&challenge, &enrollment, &response)?;
    if bystander.counter() != 0 || owner.counter() != 1 {
        return Err(format!("counters: bystander {}, owner {}", bystander.counter(), owner.counter()));
    }
    Ok(())
}

/// The user touches the key 1 s after the library asked for it: the library keeps polling over
/// hidraw and signs right after the touch.
pub fn touch_after_one_second() -> Verdict {
    let mut bridge = Bridge::new();
    let (key, _plugged) = plug_key(&mut bridge, b"touch")?;
    key.set_presence(Presence::OnDemand);
    let enrollment = key.enrollment(APP_ID);
    let challenge = challenge_for(&[&enrollment])?;
    let prompts = Prompts::default();
    let pending = PendingSign::start(challenge.requests.clone(), SIGN_TIMEOUT, &prompts)?;
    let asked = prompts.wait_for(Prompt::TouchKey, Duration::from_secs(5))?;
    thread::sleep(Duration::from_secs(1));
    key.touch();
    let response = pending.finish()?.map_err(|e| format!("sign failed: {e}"))?;
    let waited = asked.elapsed();
    verify(&challenge, &enrollment, &response)?;
    if waited < Duration::from_secs(1) {
        return Err(format!("signed {waited:?} after the prompt, before the touch"));
    }
    if prompts.sequence() != [Prompt::TouchKey, Prompt::Touched] {
        return Err(format!("prompts {:?}", prompts.sequence()));
    }
    Ok(())
}
