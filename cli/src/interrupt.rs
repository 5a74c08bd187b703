//! Ctrl-C: cancels a running security-key or approval wait (the command then ends with exit code 6), and
//! otherwise ends the process at once with exit code 6, after giving the terminal its echo back
//! if a password was being typed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use aa_logon::CancelToken;

use crate::exit::{Exit, Failure};

enum Activity {
    Idle,
    /// A security-key exchange or an approval wait runs; cancelling its token ends it cleanly.
    Cancellable(CancelToken),
    /// A password is being typed on the terminal with echo off.
    ReadingSecret,
}

static ACTIVITY: Mutex<Activity> = Mutex::new(Activity::Idle);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static JSON_OUTPUT: AtomicBool = AtomicBool::new(false);

fn activity() -> MutexGuard<'static, Activity> {
    ACTIVITY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Installs the Ctrl-C handler. `json`: the failure is reported as the command's JSON object.
pub fn install(json: bool) {
    JSON_OUTPUT.store(json, Ordering::SeqCst);
    if let Err(e) = ctrlc::set_handler(on_interrupt) {
        log::warn!("cannot install the Ctrl-C handler: {e}");
    }
}

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn on_interrupt() {
    let first = !INTERRUPTED.swap(true, Ordering::SeqCst);
    let mut activity = activity();
    match &*activity {
        Activity::Cancellable(token) if first => {
            eprintln!("\ncancelling…");
            token.cancel();
        }
        Activity::ReadingSecret => {
            terminal::restore();
            *activity = Activity::Idle;
            exit_now();
        }
        _ => exit_now(),
    }
}

fn exit_now() -> ! {
    let failure = Failure::new(Exit::Cancelled, "cancelled", "interrupted with Ctrl-C");
    crate::output::report_failure(&failure, JSON_OUTPUT.load(Ordering::SeqCst));
    std::process::exit(Exit::Cancelled.code().into());
}

/// Runs a security-key exchange or an approval wait that Ctrl-C cancels through `token`.
pub fn while_cancellable<T>(token: CancelToken, exchange: impl FnOnce() -> T) -> T {
    *activity() = Activity::Cancellable(token);
    let result = exchange();
    *activity() = Activity::Idle;
    result
}

/// Reads a secret from the terminal; Ctrl-C meanwhile restores the terminal before exiting.
pub fn while_reading_secret<T>(read: impl FnOnce() -> T) -> T {
    terminal::save();
    *activity() = Activity::ReadingSecret;
    let result = read();
    *activity() = Activity::Idle;
    result
}

#[cfg(unix)]
mod terminal {
    use std::fs::File;
    use std::sync::Mutex;

    use nix::sys::termios::{tcgetattr, tcsetattr, SetArg, Termios};

    static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

    pub fn save() {
        let state = File::open("/dev/tty").ok().and_then(|tty| tcgetattr(&tty).ok());
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    pub fn restore() {
        let saved = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let (Some(saved), Ok(tty)) = (saved, File::options().write(true).open("/dev/tty")) {
            let _ = tcsetattr(&tty, SetArg::TCSANOW, &saved);
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    /// The console restores its input mode when the process ends.
    pub fn save() {}

    pub fn restore() {}
}
