//! Test-only (feature `virtual-device`): software security keys attached to a client instead of
//! USB devices, so C, Python and C# tests run the real flow through the real ABI. The default
//! build exports none of these symbols.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use ::aa_virtual_key::{Presence, VirtualKey};

use super::args::{str_arg, Out};
use super::boundary::{guard_call, guard_status, FfiError, FfiResult};
use super::client::{aa_client, client_handle};
use super::error::aa_error;
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::status::aa_status;
use crate::fido::VirtualDevices;

/// A virtual U2F security key (test-only). Thread-safe. Free with aa_virtual_key_free.
pub struct aa_virtual_key {
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

pub(crate) static VIRTUAL_KEYS: Registry<VirtualKey> = Registry::new(HandleKind::VirtualKey);

/// The virtual keys plugged into one client.
#[derive(Default)]
pub(crate) struct Attachments {
    devices: Option<Arc<VirtualDevices>>,
    paths: BTreeMap<usize, String>,
}

fn key_handle(key: *const aa_virtual_key) -> FfiResult<Arc<VirtualKey>> {
    VIRTUAL_KEYS.get(from_ptr(key), "key")
}

/// Creates a virtual key whose keys all derive from `seed` (same seed, same keys; the
/// simulator's demo user has the key of seed "demo" enrolled). Presence: Always. Its signature
/// counter starts at 0, so a server that already accepted signatures from another key of the
/// same seed rejects its first ones as replays (as AA rightly does): keep one key per seed for
/// the life of a server.
#[no_mangle]
pub extern "C" fn aa_virtual_key_new(
    seed: *const c_char,
    key_out: *mut *mut aa_virtual_key,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let seed = str_arg(seed, "seed")?;
        let out = Out::new(key_out, "key_out")?;
        out.write(to_ptr(VIRTUAL_KEYS.insert(VirtualKey::new(seed.as_bytes()))));
        Ok(())
    })
}

/// Sets when the key reports user presence: `presence` is an aa_presence value; `delay_ms` is
/// used by AA_PRESENCE_AFTER_DELAY only.
#[no_mangle]
pub extern "C" fn aa_virtual_key_set_presence(
    key: *const aa_virtual_key,
    presence: u32,
    delay_ms: u32,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let key = key_handle(key)?;
        let presence = match presence {
            1 => Presence::Always,
            2 => Presence::AfterDelay(Duration::from_millis(u64::from(delay_ms))),
            3 => Presence::Never,
            4 => Presence::OnDemand,
            other => {
                return Err(FfiError::new(
                    aa_status::InvalidArgument,
                    format!("presence {other} is not an aa_presence"),
                ))
            }
        };
        key.set_presence(presence);
        Ok(())
    })
}

/// Touches the key (for AA_PRESENCE_ON_DEMAND). Thread-safe.
#[no_mangle]
pub extern "C" fn aa_virtual_key_touch(
    key: *const aa_virtual_key,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        key_handle(key)?.touch();
        Ok(())
    })
}

/// The key's signature counter.
#[no_mangle]
pub extern "C" fn aa_virtual_key_counter(
    key: *const aa_virtual_key,
    counter_out: *mut u32,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let key = key_handle(key)?;
        Out::new(counter_out, "counter_out")?.write(key.counter());
        Ok(())
    })
}

/// Frees a virtual key handle (a key attached to a client stays plugged in until detached).
/// NULL is ignored; a freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn aa_virtual_key_free(key: *mut aa_virtual_key) -> aa_status {
    guard_status(|| {
        if key.is_null() {
            return Ok(());
        }
        VIRTUAL_KEYS.remove(from_ptr(key), "key").map(drop)
    })
}

/// Plugs `key` into `client`: from now on the client's logons use its virtual keys instead of
/// USB devices.
#[no_mangle]
pub extern "C" fn aa_client_attach_virtual_key(
    client: *const aa_client,
    key: *const aa_virtual_key,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let handle = client_handle(client)?;
        let key_id = from_ptr(key);
        let key = key_handle(key)?;
        let mut attachments = handle.virtual_devices.lock().unwrap_or_else(|p| p.into_inner());
        if attachments.paths.contains_key(&key_id) {
            return Err(FfiError::new(aa_status::InvalidState, "the key is already attached to this client"));
        }
        let devices = attachments
            .devices
            .get_or_insert_with(|| {
                let devices = Arc::new(VirtualDevices::new());
                handle.set_devices(devices.clone());
                devices
            })
            .clone();
        if !key.is_connected() {
            key.reconnect(); // plugged back in after aa_client_detach_virtual_key
        }
        let path = devices.insert(VirtualKey::clone(&key));
        attachments.paths.insert(key_id, path);
        Ok(())
    })
}

/// Unplugs `key` from `client` (as if pulled out of the USB port, also mid-operation).
#[no_mangle]
pub extern "C" fn aa_client_detach_virtual_key(
    client: *const aa_client,
    key: *const aa_virtual_key,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let handle = client_handle(client)?;
        let key_id = from_ptr(key);
        key_handle(key)?;
        let mut attachments = handle.virtual_devices.lock().unwrap_or_else(|p| p.into_inner());
        let path = attachments.paths.remove(&key_id).ok_or_else(|| {
            FfiError::new(aa_status::InvalidState, "the key is not attached to this client")
        })?;
        if let Some(devices) = &attachments.devices {
            devices.remove(&path);
        }
        Ok(())
    })
}
