//! Status codes, numbered as libaa_logon's `aa_status` (the header reuses that type), and the
//! message of each thread's last failure.

use std::cell::RefCell;

/// libaa_logon's `aa_status` values this library returns.
pub type aa_status = u32;

pub(crate) const OK: aa_status = 0;
pub(crate) const NULL_ARGUMENT: aa_status = 1;
pub(crate) const INVALID_UTF8: aa_status = 2;
pub(crate) const INVALID_ARGUMENT: aa_status = 4;
pub(crate) const INVALID_HANDLE: aa_status = 5;
pub(crate) const INVALID_STATE: aa_status = 6;
pub(crate) const PANIC: aa_status = 8;

/// A failure: its status and a readable message.
pub(crate) struct Failure(pub(crate) aa_status, pub(crate) String);

pub(crate) type Outcome<T = ()> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs an export's body: panic boundary, status, and the thread's last error message.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> aa_status {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|_| Err(Failure(PANIC, "internal error (panic caught)".into())));
    match outcome {
        Ok(()) => OK,
        Err(Failure(status, message)) => {
            LAST_ERROR.with(|last| *last.borrow_mut() = message);
            status
        }
    }
}

pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|last| last.borrow().clone())
}
