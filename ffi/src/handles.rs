//! Validated handles. A handle given to C is not a pointer to Rust memory but an opaque number:
//! a never-reused id plus a type tag. Every call looks it up in its type's registry, so NULL,
//! freed, double-freed, foreign and wrong-type handles are reported instead of being
//! dereferenced, and a handle that is freed while another thread uses it stays alive until that
//! call returns (the registry hands out `Arc`s).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::result::{FfiError, FfiResult};
use super::status::aa_status;

const TAG_BITS: u32 = 3;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;

/// Ids are shared by all registries and never reused, so a stale handle can never alias a newer one.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// The type tag stored in a handle's low bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandleKind {
    ClientOptions = 1,
    Client = 2,
    Logon = 3,
    Error = 4,
    DeviceSink = 5,
}

impl HandleKind {
    const ALL: [HandleKind; 5] = [
        HandleKind::ClientOptions,
        HandleKind::Client,
        HandleKind::Logon,
        HandleKind::Error,
        HandleKind::DeviceSink,
    ];

    fn name(self) -> &'static str {
        match self {
            HandleKind::ClientOptions => "aa_client_options",
            HandleKind::Client => "aa_client",
            HandleKind::Logon => "aa_logon",
            HandleKind::Error => "aa_error",
            HandleKind::DeviceSink => "aa_hid_device_sink",
        }
    }

    fn from_tag(tag: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as usize == tag)
    }
}

/// All live objects of one handle type.
pub(crate) struct Registry<T> {
    kind: HandleKind,
    entries: Mutex<BTreeMap<usize, Arc<T>>>,
}

impl<T> Registry<T> {
    pub(crate) const fn new(kind: HandleKind) -> Self {
        Registry { kind, entries: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<usize, Arc<T>>> {
        // Nothing panics while the map is locked; stay usable if that ever changed.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `value` and returns the handle value for C.
    pub(crate) fn insert(&self, value: T) -> usize {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let handle = (id << TAG_BITS) | self.kind as usize;
        self.lock().insert(handle, Arc::new(value));
        handle
    }

    /// Checks the form of `handle` without looking it up: NULL, foreign and wrong-type handles.
    pub(crate) fn check(&self, handle: usize, argument: &str) -> FfiResult {
        if handle == 0 {
            return Err(FfiError::new(aa_status::NullArgument, format!("{argument} is NULL")));
        }
        match HandleKind::from_tag(handle & TAG_MASK) {
            Some(kind) if kind == self.kind => Ok(()),
            Some(kind) => Err(FfiError::new(
                aa_status::InvalidHandle,
                format!(
                    "{argument} is an {} handle where an {} handle is expected",
                    kind.name(),
                    self.kind.name()
                ),
            )),
            None => Err(self.unknown(argument)),
        }
    }

    fn unknown(&self, argument: &str) -> FfiError {
        FfiError::new(
            aa_status::InvalidHandle,
            format!(
                "{argument} is not a live {} handle (already freed, or never issued by this library)",
                self.kind.name()
            ),
        )
    }

    /// The object behind `handle`, kept alive for the caller even if another thread frees it.
    pub(crate) fn get(&self, handle: usize, argument: &str) -> FfiResult<Arc<T>> {
        self.check(handle, argument)?;
        self.lock().get(&handle).cloned().ok_or_else(|| self.unknown(argument))
    }

    /// Removes `handle`; the object is dropped once no call uses it any more.
    pub(crate) fn remove(&self, handle: usize, argument: &str) -> FfiResult<Arc<T>> {
        self.check(handle, argument)?;
        self.lock().remove(&handle).ok_or_else(|| self.unknown(argument))
    }

    /// Number of live handles of this type (leak checks).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Converts a handle value into the opaque pointer type C sees.
pub(crate) fn to_ptr<T>(handle: usize) -> *mut T {
    std::ptr::without_provenance_mut(handle)
}

/// The handle value of an opaque pointer received from C (never dereferenced).
pub(crate) fn from_ptr<T>(ptr: *const T) -> usize {
    ptr.addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_foreign_and_wrong_type_handles_are_reported() {
        let clients: Registry<u32> = Registry::new(HandleKind::Client);
        let logons: Registry<u32> = Registry::new(HandleKind::Logon);
        let h = clients.insert(7);
        assert_eq!(*clients.get(h, "client").unwrap(), 7);
        assert_eq!(logons.get(h, "logon").unwrap_err().status(), aa_status::InvalidHandle);
        assert_eq!(clients.get(0, "client").unwrap_err().status(), aa_status::NullArgument);
        assert_eq!(clients.get(0xdead_beef, "client").unwrap_err().status(), aa_status::InvalidHandle);
        clients.remove(h, "client").unwrap();
        assert_eq!(clients.get(h, "client").unwrap_err().status(), aa_status::InvalidHandle);
        assert_eq!(clients.remove(h, "client").unwrap_err().status(), aa_status::InvalidHandle);
        assert_eq!(clients.len(), 0);
    }
}
