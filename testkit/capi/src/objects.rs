//! Validated handles for the testkit's objects: never-reused ids with a type tag, looked up on
//! every call, so NULL, freed and wrong-type handles are reported instead of dereferenced.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aa_virtual_key::{VirtualDevices, VirtualKey};

use crate::status::{Failure, Outcome, INVALID_HANDLE, NULL_ARGUMENT};

/// A set of plugged-in virtual keys and which key handle sits at which device path.
#[derive(Default)]
pub(crate) struct DeviceSet {
    pub(crate) devices: Arc<VirtualDevices>,
    pub(crate) plugged: Mutex<BTreeMap<usize, String>>,
}

#[derive(Clone)]
pub(crate) enum Object {
    Key(VirtualKey),
    Devices(Arc<DeviceSet>),
}

const KEY_TAG: usize = 1;
const DEVICES_TAG: usize = 2;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
static OBJECTS: Mutex<BTreeMap<usize, Object>> = Mutex::new(BTreeMap::new());

fn objects() -> MutexGuard<'static, BTreeMap<usize, Object>> {
    OBJECTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `object`; returns its handle value.
pub(crate) fn insert(object: Object) -> usize {
    let tag = match object {
        Object::Key(_) => KEY_TAG,
        Object::Devices(_) => DEVICES_TAG,
    };
    let handle = (NEXT_ID.fetch_add(1, Ordering::Relaxed) << 2) | tag;
    objects().insert(handle, object);
    handle
}

fn lookup(handle: usize, name: &str, tag: usize, type_name: &str) -> Outcome<Object> {
    if handle == 0 {
        return Err(Failure(NULL_ARGUMENT, format!("{name} is NULL")));
    }
    let stale = || Failure(INVALID_HANDLE, format!("{name} is not a live {type_name} handle"));
    if handle & 3 != tag {
        return Err(stale());
    }
    objects().get(&handle).cloned().ok_or_else(stale)
}

pub(crate) fn key(handle: usize, name: &str) -> Outcome<VirtualKey> {
    match lookup(handle, name, KEY_TAG, "aa_virtual_key")? {
        Object::Key(key) => Ok(key),
        Object::Devices(_) => unreachable!("tag checked"),
    }
}

pub(crate) fn device_set(handle: usize, name: &str) -> Outcome<Arc<DeviceSet>> {
    match lookup(handle, name, DEVICES_TAG, "aa_virtual_devices")? {
        Object::Devices(set) => Ok(set),
        Object::Key(_) => unreachable!("tag checked"),
    }
}

/// Removes `handle` (NULL is ignored).
pub(crate) fn remove(handle: usize, name: &str, tag_of: fn(usize, &str) -> Outcome<()>) -> Outcome {
    if handle == 0 {
        return Ok(());
    }
    tag_of(handle, name)?;
    objects()
        .remove(&handle)
        .map(drop)
        .ok_or_else(|| Failure(INVALID_HANDLE, format!("{name} was already freed")))
}

pub(crate) fn is_key(handle: usize, name: &str) -> Outcome<()> {
    key(handle, name).map(drop)
}

pub(crate) fn is_device_set(handle: usize, name: &str) -> Outcome<()> {
    device_set(handle, name).map(drop)
}

/// Live testkit handles (leak checks).
pub(crate) fn count() -> usize {
    objects().len()
}
