//! Runs each scenario on its own thread with a watchdog, so one hang or panic is reported as that
//! scenario's failure and the rest still run.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use aa_uhid::harness::report::{self, Outcome, SUMMARY_PREFIX};

use crate::{cancel, ctap2, identify, logon, plugging, raw, signing};

/// A scenario's verdict: `Err` carries the reason it failed.
pub type Verdict = Result<(), String>;

/// Longer than any scenario needs under TCG; past it the scenario counts as hung.
const WATCHDOG: Duration = Duration::from_secs(30);

fn scenario(name: &str) -> Option<fn() -> Verdict> {
    Some(match name {
        "hidapi_raw_init" => raw::hidapi_raw_init,
        "list_and_identify" => identify::list_and_identify,
        "ctaphid_init" => identify::ctaphid_init,
        "u2f_sign_verified_by_simulator" => signing::u2f_sign_verified_by_simulator,
        "two_keys_one_owner" => signing::two_keys_one_owner,
        "hot_plug_during_wait" => plugging::hot_plug_during_wait,
        "unplug_during_wait" => plugging::unplug_during_wait,
        "touch_after_one_second" => signing::touch_after_one_second,
        "ctap2_only_get_info" => ctap2::ctap2_only_get_info,
        "u2f_logon_over_hidraw" => logon::u2f_logon_over_hidraw,
        "fido2_logon_with_pin_over_hidraw" => logon::fido2_logon_with_pin_over_hidraw,
        "cancel_during_touch_over_hidraw" => cancel::cancel_during_touch_over_hidraw,
        _ => return None,
    })
}

/// Runs every scenario in order; the exit code is the number of failures (capped).
pub fn run_all() -> i32 {
    let started = Instant::now();
    let (mut passed, mut failed) = (0u32, 0u32);
    for name in report::SCENARIOS {
        let scenario_started = Instant::now();
        let outcome = match scenario(name) {
            Some(run) => match guarded(name, run) {
                Ok(()) => Outcome::Pass { millis: scenario_started.elapsed().as_millis() as u64 },
                Err(why) => Outcome::Fail { why },
            },
            None => Outcome::Fail { why: "not implemented in this guest binary".into() },
        };
        match outcome {
            Outcome::Pass { .. } => passed += 1,
            Outcome::Fail { .. } => failed += 1,
        }
        println!("{}", report::scenario_line(name, &outcome));
    }
    println!("{SUMMARY_PREFIX} {passed} passed, {failed} failed in {} ms", started.elapsed().as_millis());
    failed.min(100) as i32
}

fn guarded(name: &str, run: fn() -> Verdict) -> Verdict {
    let (done_tx, done_rx) = mpsc::channel();
    let spawned = thread::Builder::new().name(name.to_string()).spawn(move || {
        let verdict = std::panic::catch_unwind(run)
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(panic.as_ref()))));
        let _ = done_tx.send(verdict);
    });
    if let Err(error) = spawned {
        return Err(format!("cannot start the scenario thread: {error}"));
    }
    done_rx.recv_timeout(WATCHDOG).unwrap_or_else(|_| Err(format!("hung for more than {WATCHDOG:?}")))
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".into())
}
