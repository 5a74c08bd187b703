//! Library-owned strings handed to C through `char **` out-parameters, and their one free
//! function's bookkeeping.
//!
//! A C string is known by its address, and an allocator reuses addresses, so a registry of live
//! addresses alone cannot tell a stale free from a free of a newer string that got the same
//! address. Freed strings are therefore wiped and kept allocated in a bounded quarantine, so
//! their addresses cannot be handed out again while a stale pointer to them is plausibly around
//! (the strategy of AddressSanitizer's quarantine). Only after [`QUARANTINE_ENTRIES`] later frees
//! (or [`QUARANTINE_BYTES`]) is the memory returned to the allocator.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::{c_char, CString};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::args::Out;
use super::result::{FfiError, FfiResult};
use super::status::aa_status;

/// How many freed strings keep their address reserved.
pub(crate) const QUARANTINE_ENTRIES: usize = 4096;
/// How many bytes of freed strings keep their addresses reserved at most.
pub(crate) const QUARANTINE_BYTES: usize = 1 << 20;

#[derive(Default)]
struct Strings {
    live: BTreeMap<usize, CString>,
    quarantine: VecDeque<Vec<u8>>,
    quarantine_bytes: usize,
}

impl Strings {
    fn retire(&mut self, string: CString) {
        let mut bytes = string.into_bytes_with_nul();
        bytes.fill(0); // it may have held a session id or a message with user data
        self.quarantine_bytes += bytes.len();
        self.quarantine.push_back(bytes);
        while self.quarantine.len() > QUARANTINE_ENTRIES || self.quarantine_bytes > QUARANTINE_BYTES {
            match self.quarantine.pop_front() {
                Some(oldest) => self.quarantine_bytes -= oldest.len(),
                None => break,
            }
        }
    }
}

static STRINGS: Mutex<Option<Strings>> = Mutex::new(None);

fn with_strings<R>(action: impl FnOnce(&mut Strings) -> R) -> R {
    // Nothing panics while the lock is held; stay usable if that ever changed.
    let mut guard: MutexGuard<'_, Option<Strings>> = STRINGS.lock().unwrap_or_else(PoisonError::into_inner);
    action(guard.get_or_insert_with(Strings::default))
}

/// Turns `value` into a library-owned C string; the pointer stays valid until it is freed.
pub(crate) fn new_c_string(value: &str, what: &str) -> FfiResult<*mut c_char> {
    let string = CString::new(value).map_err(|_| {
        FfiError::new(aa_status::MalformedServerData, format!("{what} contains a NUL character"))
    })?;
    // The heap buffer does not move when the CString moves into the map.
    let pointer = string.as_ptr().cast_mut();
    with_strings(|strings| strings.live.insert(pointer.addr(), string));
    Ok(pointer)
}

/// Writes `value` as a new library-owned string to a `char **` out-parameter.
pub(crate) fn write_string(out: Out<*mut c_char>, value: &str, what: &str) -> FfiResult {
    out.write(new_c_string(value, what)?);
    Ok(())
}

fn not_ours() -> FfiError {
    FfiError::new(aa_status::InvalidHandle, "string was not returned by aa-logon or was already freed")
}

/// Frees a library string; NULL is ignored. Never dereferences `string`: it is only compared.
pub(crate) fn free_string(string: *mut c_char) -> FfiResult {
    if string.is_null() {
        return Ok(());
    }
    with_strings(|strings| {
        let owned = strings.live.remove(&string.addr()).ok_or_else(not_ours)?;
        strings.retire(owned);
        Ok(())
    })
}

/// Copies a library string and frees it in one step under one lock, so a concurrent free of the
/// same pointer cannot slip in between. `None` (and nothing touched) for anything else.
pub(crate) fn take_string(string: *mut c_char) -> Option<String> {
    if string.is_null() {
        return None;
    }
    with_strings(|strings| {
        let owned = strings.live.remove(&string.addr())?;
        let copy = owned.to_string_lossy().into_owned();
        strings.retire(owned);
        Some(copy)
    })
}

/// Number of library strings not yet freed (leak checks).
pub(crate) fn live_string_count() -> usize {
    with_strings(|strings| strings.live.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_free_is_caught_even_after_many_new_strings() {
        let first = new_c_string("first", "test").unwrap();
        free_string(first).unwrap();
        // Allocate strings of the same size: none may get the quarantined address.
        let later: Vec<_> = (0..100).map(|_| new_c_string("again", "test").unwrap()).collect();
        assert!(later.iter().all(|p| p.addr() != first.addr()));
        assert_eq!(free_string(first).unwrap_err().status(), aa_status::InvalidHandle);
        for p in later {
            assert_eq!(take_string(p).as_deref(), Some("again"));
        }
        assert_eq!(take_string(first), None);
    }
}
