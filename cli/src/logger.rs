//! The process's `log` sink: the library's records go to standard error at the chosen verbosity,
//! and the demo can also collect the per-report CTAPHID trace (target [`FRAMES_TARGET`]).
//! The library never puts secrets into log records.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

use aa_logon::fido::FRAMES_TARGET;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct CliLogger;

static LOGGER: CliLogger = CliLogger;
/// Most verbose level printed to standard error (0 = warnings and errors only).
static VERBOSITY: AtomicU8 = AtomicU8::new(0);
/// The frame trace lines collected while a capture is on.
static FRAMES: Mutex<Option<Vec<String>>> = Mutex::new(None);

fn stderr_level() -> Level {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Level::Warn,
        1 => Level::Info,
        2 => Level::Debug,
        _ => Level::Trace,
    }
}

/// Without -v only this tool's and the library's own warnings are shown: dependencies (TLS,
/// HTTP) report intermediate steps at error level that the library handles, e.g. the system trust
/// store rejecting a certificate that the extra CA file then accepts.
fn shown(metadata: &Metadata<'_>) -> bool {
    let own = metadata.target().starts_with("aa_logon") || metadata.target().starts_with("aa_sim");
    metadata.level() <= stderr_level()
        && (own || VERBOSITY.load(Ordering::Relaxed) > 0)
        && aa_logon::aa::log_filter::enabled(metadata)
}

fn capturing() -> bool {
    FRAMES.lock().unwrap_or_else(PoisonError::into_inner).is_some()
}

impl Log for CliLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        shown(metadata) || (metadata.target() == FRAMES_TARGET && capturing())
    }

    fn log(&self, record: &Record<'_>) {
        if record.target() == FRAMES_TARGET {
            if let Some(frames) = FRAMES.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
                frames.push(record.args().to_string());
            }
        }
        if shown(record.metadata()) {
            // Every line passes the library's redactor: no token or secret reaches the terminal.
            if let Some(message) = aa_logon::aa::log_filter::message(record) {
                eprintln!("[{} {}] {message}", record.level(), record.target());
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the logger: `verbose` 0 shows warnings and errors, 1 info, 2 debug, 3+ trace.
pub fn install(verbose: u8) {
    VERBOSITY.store(verbose, Ordering::Relaxed);
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level_filter());
    }
}

fn level_filter() -> LevelFilter {
    if capturing() {
        LevelFilter::Trace
    } else {
        stderr_level().to_level_filter()
    }
}

/// Starts collecting CTAPHID trace lines (discarding any earlier ones).
#[cfg(feature = "virtual-device")]
pub fn start_frame_capture() {
    *FRAMES.lock().unwrap_or_else(PoisonError::into_inner) = Some(Vec::new());
    log::set_max_level(level_filter());
}

/// Stops collecting and returns the lines collected.
#[cfg(feature = "virtual-device")]
pub fn take_frames() -> Vec<String> {
    let frames = FRAMES.lock().unwrap_or_else(PoisonError::into_inner).take().unwrap_or_default();
    log::set_max_level(level_filter());
    frames
}
