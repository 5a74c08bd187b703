//! The C functions of libaa_logon_testkit (header: testkit/capi/include/aa_logon_testkit.h).
//! Failures return an aa_status value and leave a message for aa_testkit_last_error.

use std::ffi::{c_char, CStr};
use std::sync::Arc;
use std::time::Duration;

use ::aa_virtual_key::{Presence, VirtualKey};

use crate::io::{aa_hid_io, hid_io};
use crate::objects::{self, DeviceSet, Object};
use crate::status::{
    self, aa_status, guard, Failure, Outcome, INVALID_ARGUMENT, INVALID_STATE, INVALID_UTF8, NULL_ARGUMENT,
};

/// A virtual security key (U2F and/or CTAP2 over CTAPHID, keys derived from a seed).
/// Thread-safe. Free with aa_virtual_key_free.
pub struct aa_virtual_key {
    _private: [u8; 0],
}

/// A set of plugged-in virtual keys that a client reaches through aa_virtual_devices_hid_io.
/// Thread-safe. Free with aa_virtual_devices_free.
pub struct aa_virtual_devices {
    _private: [u8; 0],
}

/// When a virtual key reports user presence.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_presence {
    /// Every signature request is "touched" at once.
    Always = 1,
    /// Touched `delay_ms` after the key first asked for a touch.
    AfterDelay = 2,
    /// Never touched (for timeout and cancel tests).
    Never = 3,
    /// Touched when aa_virtual_key_touch is called.
    OnDemand = 4,
}

impl TryFrom<u32> for aa_presence {
    type Error = u32;

    fn try_from(value: u32) -> Result<Self, u32> {
        [aa_presence::Always, aa_presence::AfterDelay, aa_presence::Never, aa_presence::OnDemand]
            .into_iter()
            .find(|p| *p as u32 == value)
            .ok_or(value)
    }
}

/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, name: &str, value: T) -> Outcome {
    if out.is_null() {
        return Err(Failure(NULL_ARGUMENT, format!("{name} is NULL")));
    }
    // SAFETY: checked for NULL; the caller's contract makes it writable.
    unsafe { out.write(value) };
    Ok(())
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Outcome<&'a str> {
    if ptr.is_null() {
        return Err(Failure(NULL_ARGUMENT, format!("{name} is NULL")));
    }
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Failure(INVALID_UTF8, format!("{name} is not valid UTF-8: {e}")))
}

pub(crate) fn handle_of<T>(ptr: *const T) -> usize {
    ptr.addr()
}

pub(crate) fn to_ptr<T>(handle: usize) -> *mut T {
    std::ptr::without_provenance_mut(handle)
}

/// Creates a virtual key whose keys all derive from `seed` (same seed, same keys; the simulator's
/// demo user has the key of seed "demo" enrolled). Presence: AA_PRESENCE_ALWAYS. Its signature
/// counter starts at 0, so a server that already accepted signatures from another key of the same
/// seed rejects its first ones as replays (as AA rightly does): keep one key per seed for the life
/// of a server. `*key_out` is owned by the caller (aa_virtual_key_free).
///
/// # Safety
/// `seed` is NULL or NUL-terminated; `key_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_new(
    seed: *const c_char,
    key_out: *mut *mut aa_virtual_key,
) -> aa_status {
    guard(|| {
        // SAFETY: the caller's contract covers seed and key_out.
        unsafe {
            let seed = str_arg(seed, "seed")?;
            if key_out.is_null() {
                return Err(Failure(NULL_ARGUMENT, "key_out is NULL".into()));
            }
            write_out(
                key_out,
                "key_out",
                to_ptr(objects::insert(Object::Key(VirtualKey::new(seed.as_bytes())))),
            )
        }
    })
}

/// Like aa_virtual_key_new, with the key's signature counter kept in the file at `state_path`
/// between processes, so a CI job's successive test programs can use one seed against one server:
/// the counter continues from the one saved there (0 when the file does not exist yet; it is then
/// created) and is saved atomically (temporary file + rename) before every signature is released.
/// AA_STATUS_INVALID_ARGUMENT, with the reason in aa_testkit_last_error, when the file belongs to
/// another seed, is malformed or unreadable, or cannot be written; a save that fails later refuses
/// that signature (the logon gets a device error). One file serves one process at a time.
/// `*key_out` is owned by the caller (aa_virtual_key_free).
///
/// # Safety
/// `seed` and `state_path` are NULL or NUL-terminated; `key_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_new_with_state(
    seed: *const c_char,
    state_path: *const c_char,
    key_out: *mut *mut aa_virtual_key,
) -> aa_status {
    guard(|| {
        // SAFETY: the caller's contract covers seed, state_path and key_out.
        unsafe {
            let seed = str_arg(seed, "seed")?;
            let state_path = str_arg(state_path, "state_path")?;
            if key_out.is_null() {
                return Err(Failure(NULL_ARGUMENT, "key_out is NULL".into()));
            }
            if state_path.is_empty() {
                return Err(Failure(INVALID_ARGUMENT, "state_path is empty".into()));
            }
            let key = VirtualKey::with_state_file(seed.as_bytes(), state_path)
                .map_err(|error| Failure(INVALID_ARGUMENT, error.to_string()))?;
            write_out(key_out, "key_out", to_ptr(objects::insert(Object::Key(key))))
        }
    })
}

/// Sets when the key reports user presence: `presence` is an aa_presence value; `delay_ms` is
/// used by AA_PRESENCE_AFTER_DELAY only.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_set_presence(
    key: *const aa_virtual_key,
    presence: u32,
    delay_ms: u32,
) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        let presence = aa_presence::try_from(presence)
            .map_err(|v| Failure(INVALID_ARGUMENT, format!("presence {v} is not an aa_presence value")))?;
        let presence = match presence {
            aa_presence::Always => Presence::Always,
            aa_presence::AfterDelay => Presence::AfterDelay(Duration::from_millis(u64::from(delay_ms))),
            aa_presence::Never => Presence::Never,
            aa_presence::OnDemand => Presence::OnDemand,
        };
        key.set_presence(presence);
        Ok(())
    })
}

/// Touches the key (for AA_PRESENCE_ON_DEMAND). Thread-safe.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_touch(key: *const aa_virtual_key) -> aa_status {
    guard(|| {
        objects::key(handle_of(key), "key")?.touch();
        Ok(())
    })
}

/// Whether the key is waiting for a touch right now (it told the host "user presence required"
/// and was not touched since): lets a test touch at the moment a real user would, without sleeping.
///
/// # Safety
/// `key` is NULL or a pointer received from this library; `waiting_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_is_waiting_for_touch(
    key: *const aa_virtual_key,
    waiting_out: *mut bool,
) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        // SAFETY: the caller's contract covers waiting_out.
        unsafe { write_out(waiting_out, "waiting_out", key.is_waiting_for_touch()) }
    })
}

/// The key's signature counter.
///
/// # Safety
/// `key` is NULL or a pointer received from this library; `counter_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_counter(
    key: *const aa_virtual_key,
    counter_out: *mut u32,
) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        // SAFETY: the caller's contract covers counter_out.
        unsafe { write_out(counter_out, "counter_out", key.counter()) }
    })
}

/// Frees a key handle (a key plugged into a device set stays plugged until unplugged). NULL is
/// ignored; a freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_free(key: *mut aa_virtual_key) -> aa_status {
    guard(|| objects::remove(handle_of(key), "key", objects::is_key))
}

/// Creates an empty set of virtual devices. `*devices_out` is owned by the caller
/// (aa_virtual_devices_free).
///
/// # Safety
/// `devices_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_devices_new(devices_out: *mut *mut aa_virtual_devices) -> aa_status {
    guard(|| {
        if devices_out.is_null() {
            return Err(Failure(NULL_ARGUMENT, "devices_out is NULL".into()));
        }
        let handle = objects::insert(Object::Devices(Arc::new(DeviceSet::default())));
        // SAFETY: the caller's contract covers devices_out.
        unsafe { write_out(devices_out, "devices_out", to_ptr(handle)) }
    })
}

/// Plugs `key` into `devices` (it appears in the next enumeration). A key unplugged earlier is
/// plugged back in. AA_STATUS_INVALID_STATE when it is plugged in already.
///
/// # Safety
/// `devices` and `key` are NULL or pointers received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_devices_plug(
    devices: *const aa_virtual_devices,
    key: *const aa_virtual_key,
) -> aa_status {
    guard(|| {
        let set = objects::device_set(handle_of(devices), "devices")?;
        let key_handle = handle_of(key);
        let key = objects::key(key_handle, "key")?;
        let mut plugged = set.plugged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if plugged.contains_key(&key_handle) {
            return Err(Failure(INVALID_STATE, "the key is already plugged into these devices".into()));
        }
        if !key.is_connected() {
            key.reconnect();
        }
        plugged.insert(key_handle, set.devices.insert(key));
        Ok(())
    })
}

/// Unplugs `key` from `devices`, as if pulled out of the USB port (also in the middle of an
/// exchange). AA_STATUS_INVALID_STATE when it is not plugged in.
///
/// # Safety
/// `devices` and `key` are NULL or pointers received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_devices_unplug(
    devices: *const aa_virtual_devices,
    key: *const aa_virtual_key,
) -> aa_status {
    guard(|| {
        let set = objects::device_set(handle_of(devices), "devices")?;
        let key_handle = handle_of(key);
        objects::key(key_handle, "key")?;
        let path = set
            .plugged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&key_handle)
            .ok_or_else(|| Failure(INVALID_STATE, "the key is not plugged into these devices".into()))?;
        set.devices.remove(&path);
        Ok(())
    })
}

/// Fills `*io_out` with HID functions that reach the keys plugged into `devices`; pass it to
/// libaa_logon's aa_client_set_hid_io. The io keeps the set alive until libaa_logon releases it,
/// so `devices` may be freed right after. Each call makes a new io (and a new reference).
///
/// # Safety
/// `devices` is NULL or a pointer received from this library; `io_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_devices_hid_io(
    devices: *const aa_virtual_devices,
    io_out: *mut aa_hid_io,
) -> aa_status {
    guard(|| {
        let set = objects::device_set(handle_of(devices), "devices")?;
        if io_out.is_null() {
            return Err(Failure(NULL_ARGUMENT, "io_out is NULL".into()));
        }
        // SAFETY: the caller's contract covers io_out.
        unsafe { write_out(io_out, "io_out", hid_io(set.devices.clone())) }
    })
}

/// Frees a device-set handle (an io made from it keeps working). NULL is ignored; a freed or
/// foreign handle gives AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// `devices` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_devices_free(devices: *mut aa_virtual_devices) -> aa_status {
    guard(|| objects::remove(handle_of(devices), "devices", objects::is_device_set))
}

/// Copies the message of this thread's last failed testkit call (NUL-terminated, truncated to
/// `buffer_len`) into `buffer` and returns its full length in bytes; "" before any failure.
///
/// # Safety
/// `buffer` is NULL (then only the length is returned) or writable for `buffer_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn aa_testkit_last_error(buffer: *mut c_char, buffer_len: usize) -> usize {
    std::panic::catch_unwind(|| {
        let message = status::last_error();
        if !buffer.is_null() && buffer_len > 0 {
            let n = message.len().min(buffer_len - 1);
            // SAFETY: the caller's contract: buffer_len writable bytes; we write n + 1 ≤ buffer_len.
            unsafe {
                std::ptr::copy_nonoverlapping(message.as_ptr(), buffer.cast::<u8>(), n);
                buffer.add(n).write(0);
            }
        }
        message.len()
    })
    .unwrap_or(0)
}

/// The number of testkit handles (keys and device sets) not yet freed, for leak checks.
///
/// # Safety
/// `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_testkit_live_objects(count_out: *mut usize) -> aa_status {
    // SAFETY: the caller's contract covers count_out.
    guard(|| unsafe { write_out(count_out, "count_out", objects::count()) })
}
