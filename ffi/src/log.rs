//! Forwarding the library's `log` records (and those of its HTTP and TLS dependencies) to a C
//! callback. Our own records carry no secret; the dependencies' records go through
//! `aa_logon::aa::log_filter`: dropped at TRACE (where they print full URLs with tokens and hex
//! dumps of bodies), redacted at every other level.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::{OnceLock, RwLock};

use aa_logon::aa::log_filter;

use super::boundary::{guard_static, guard_status};
use super::enums::u32_enum;
use super::result::not_an_enum;
use super::status::aa_status;

/// Severity of a log message, most severe first.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_log_level {
    /// Logging off (only meaningful as aa_set_log_callback's max_level).
    Off = 0,
    /// Failures the library could not handle.
    Error = 1,
    /// Suspicious conditions, e.g. TLS verification turned off.
    Warn = 2,
    /// Milestones of a logon.
    Info = 3,
    /// HTTP requests and device exchanges, without secrets.
    Debug = 4,
    /// Everything of the library's own, including frame-level traces (the HTTP and TLS
    /// dependencies' trace records are never passed on: they would show tokens).
    Trace = 5,
}

u32_enum!(aa_log_level { Off, Error, Warn, Info, Debug, Trace });

/// Log callback: `message` is a NUL-terminated UTF-8 line valid only during the call. May be
/// called from any thread that uses the library, concurrently; it must be thread-safe, return
/// promptly, not call back into the library, and not unwind (throw) into the library.
pub type aa_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: aa_log_level, message: *const c_char)>;

#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(*mut c_void, aa_log_level, *const c_char),
    userdata: *mut c_void,
}

// SAFETY: the caller of aa_set_log_callback promises the callback and userdata may be used from
// any thread (documented on aa_log_callback).
unsafe impl Send for Sink {}
// SAFETY: as above.
unsafe impl Sync for Sink {}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static LOGGER_INSTALLED: OnceLock<bool> = OnceLock::new();
static LOGGER: CallbackLogger = CallbackLogger;

thread_local! {
    /// Set while a callback runs, so a library call made from inside it cannot recurse.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

struct CallbackLogger;

fn to_c_level(level: log::Level) -> aa_log_level {
    match level {
        log::Level::Error => aa_log_level::Error,
        log::Level::Warn => aa_log_level::Warn,
        log::Level::Info => aa_log_level::Info,
        log::Level::Debug => aa_log_level::Debug,
        log::Level::Trace => aa_log_level::Trace,
    }
}

impl log::Log for CallbackLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && log_filter::enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || IN_CALLBACK.with(Cell::get) {
            return;
        }
        let Some(sink) = *SINK.read().unwrap_or_else(|p| p.into_inner()) else {
            return;
        };
        let Some(message) = log_filter::message(record) else {
            return;
        };
        let line = format!("{}: {message}", record.target()).replace('\0', "\\0");
        let Ok(line) = CString::new(line) else {
            return;
        };
        IN_CALLBACK.with(|flag| flag.set(true));
        // SAFETY: the callback and userdata were registered together by aa_set_log_callback; the
        // message pointer is valid for the duration of the call; an unwinding callback aborts
        // (extern "C") instead of unwinding into Rust.
        unsafe { (sink.callback)(sink.userdata, to_c_level(record.level()), line.as_ptr()) };
        IN_CALLBACK.with(|flag| flag.set(false));
    }

    fn flush(&self) {}
}

fn level_filter(level: aa_log_level) -> log::LevelFilter {
    match level {
        aa_log_level::Off => log::LevelFilter::Off,
        aa_log_level::Error => log::LevelFilter::Error,
        aa_log_level::Warn => log::LevelFilter::Warn,
        aa_log_level::Info => log::LevelFilter::Info,
        aa_log_level::Debug => log::LevelFilter::Debug,
        aa_log_level::Trace => log::LevelFilter::Trace,
    }
}

/// Sends the library's log messages up to `max_level` (an aa_log_level value) to `callback`,
/// replacing any earlier callback; a NULL callback turns logging off. Process-wide. Fails with
/// AA_STATUS_CONFIG when the process already has another Rust logger installed (only possible
/// when the library is linked into a Rust program as an rlib).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_set_log_callback(
    callback: aa_log_callback,
    userdata: *mut c_void,
    max_level: u32,
) -> aa_status {
    guard_status(|| {
        let filter = level_filter(
            aa_log_level::try_from(max_level).map_err(|v| not_an_enum("max_level", v, "aa_log_level"))?,
        );
        let installed = *LOGGER_INSTALLED.get_or_init(|| log::set_logger(&LOGGER).is_ok());
        if !installed {
            return Err(super::result::FfiError::new(
                aa_status::Config,
                "another logger is already installed in this process",
            ));
        }
        *SINK.write().unwrap_or_else(|p| p.into_inner()) =
            callback.map(|callback| Sink { callback, userdata });
        log::set_max_level(if callback.is_some() { filter } else { log::LevelFilter::Off });
        Ok(())
    })
}

/// The name of a log level ("ERROR", "WARN", "INFO", "DEBUG", "TRACE", "OFF"); static, never NULL,
/// not to be freed. Unknown values give "UNKNOWN".
#[no_mangle]
pub extern "C" fn aa_log_level_str(level: u32) -> *const c_char {
    guard_static(|| {
        let names = level_names();
        usize::try_from(level).ok().and_then(|i| names.get(i)).unwrap_or(&names[6]).as_ptr()
    })
}

/// The names aa_log_level_str returns, indexed by level; the last one is for unknown values.
pub(crate) fn level_names() -> &'static [&'static CStr] {
    &[c"OFF", c"ERROR", c"WARN", c"INFO", c"DEBUG", c"TRACE", c"UNKNOWN"]
}
