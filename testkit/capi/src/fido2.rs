//! The CTAP2 side of a virtual key for C: which protocols it speaks, its client PIN, built-in user
//! verification, and the CTAPHID_CANCEL commands it saw.

use std::ffi::c_char;

use ::aa_virtual_key::{Protocols, VirtualKey};

use crate::exports::{aa_virtual_key, handle_of, str_arg, to_ptr, write_out};
use crate::objects::{self, Object};
use crate::status::{aa_status, guard, Failure, INVALID_ARGUMENT, NULL_ARGUMENT};

/// Which protocols a virtual key speaks.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum aa_key_protocols {
    /// U2F (CTAP1) only: no CTAPHID_CBOR, INIT reports WINK.
    U2fOnly = 1,
    /// CTAP2 only: INIT reports CBOR and NMSG, CTAPHID_MSG (U2F) is refused.
    Ctap2Only = 2,
    /// U2F and CTAP2, like most keys sold today (what aa_virtual_key_new makes).
    Both = 3,
}

impl TryFrom<u32> for aa_key_protocols {
    type Error = u32;

    fn try_from(value: u32) -> Result<Self, u32> {
        [aa_key_protocols::U2fOnly, aa_key_protocols::Ctap2Only, aa_key_protocols::Both]
            .into_iter()
            .find(|p| *p as u32 == value)
            .ok_or(value)
    }
}

impl From<aa_key_protocols> for Protocols {
    fn from(protocols: aa_key_protocols) -> Self {
        match protocols {
            aa_key_protocols::U2fOnly => Protocols::U2fOnly,
            aa_key_protocols::Ctap2Only => Protocols::Ctap2Only,
            aa_key_protocols::Both => Protocols::Both,
        }
    }
}

/// Like aa_virtual_key_new, speaking only `protocols` (an aa_key_protocols value). The seed gives
/// the same credentials whatever the protocols. AA_STATUS_INVALID_ARGUMENT for a value that is not
/// an aa_key_protocols. `*key_out` is owned by the caller (aa_virtual_key_free).
///
/// # Safety
/// `seed` is NULL or NUL-terminated; `key_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_new_with_protocols(
    seed: *const c_char,
    protocols: u32,
    key_out: *mut *mut aa_virtual_key,
) -> aa_status {
    guard(|| {
        // SAFETY: the caller's contract covers seed and key_out.
        unsafe {
            let seed = str_arg(seed, "seed")?;
            if key_out.is_null() {
                return Err(Failure(NULL_ARGUMENT, "key_out is NULL".into()));
            }
            let protocols = aa_key_protocols::try_from(protocols).map_err(|v| {
                Failure(INVALID_ARGUMENT, format!("protocols {v} is not an aa_key_protocols value"))
            })?;
            let key = VirtualKey::with_protocols(seed.as_bytes(), protocols.into());
            write_out(key_out, "key_out", to_ptr(objects::insert(Object::Key(key))))
        }
    })
}

/// Sets the key's CTAP2 client PIN to `pin`, or removes it when `pin` is NULL, as if the user had
/// done so; either way the PIN retries go back to 8 and PIN tokens issued before stop working.
/// AA_STATUS_INVALID_ARGUMENT for an empty PIN.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced); `pin` is NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_set_pin(key: *const aa_virtual_key, pin: *const c_char) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        let pin = if pin.is_null() {
            None
        } else {
            // SAFETY: the caller's contract covers pin.
            Some(unsafe { str_arg(pin, "pin") }?)
        };
        if pin == Some("") {
            return Err(Failure(INVALID_ARGUMENT, "pin is empty (pass NULL to remove the PIN)".into()));
        }
        key.set_pin(pin);
        Ok(())
    })
}

/// The key's PIN retries left (8 at most; 0 = the PIN is blocked).
///
/// # Safety
/// `key` is NULL or a pointer received from this library; `retries_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_pin_retries(
    key: *const aa_virtual_key,
    retries_out: *mut u8,
) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        // SAFETY: the caller's contract covers retries_out.
        unsafe { write_out(retries_out, "retries_out", key.pin_retries()) }
    })
}

/// Sets the key's PIN retries left; values above 8 count as 8, and 0 blocks the PIN.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_set_pin_retries(
    key: *const aa_virtual_key,
    retries: u8,
) -> aa_status {
    guard(|| {
        objects::key(handle_of(key), "key")?.set_pin_retries(retries);
        Ok(())
    })
}

/// Built-in user verification (a fingerprint sensor): whether the key offers it and whether the
/// user's verification succeeds. Resets the UV retries to 8.
///
/// # Safety
/// `key` is NULL or a pointer received from this library (never dereferenced).
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_set_uv(
    key: *const aa_virtual_key,
    available: bool,
    succeeds: bool,
) -> aa_status {
    guard(|| {
        objects::key(handle_of(key), "key")?.set_uv(available, succeeds);
        Ok(())
    })
}

/// How many CTAPHID_CANCEL commands the key received (whether or not a request was pending).
///
/// # Safety
/// `key` is NULL or a pointer received from this library; `count_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_virtual_key_cancels_seen(
    key: *const aa_virtual_key,
    count_out: *mut u32,
) -> aa_status {
    guard(|| {
        let key = objects::key(handle_of(key), "key")?;
        // SAFETY: the caller's contract covers count_out.
        unsafe { write_out(count_out, "count_out", key.cancels_seen()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::aa_virtual_key_free;
    use crate::status::{INVALID_HANDLE, OK};

    #[test]
    fn protocols_pin_uv_and_cancels_through_the_c_functions() {
        let mut key: *mut aa_virtual_key = std::ptr::null_mut();
        // SAFETY: valid NUL-terminated seed and a writable out pointer.
        unsafe {
            assert_eq!(aa_virtual_key_new_with_protocols(c"demo".as_ptr(), 9, &mut key), INVALID_ARGUMENT);
            assert!(key.is_null(), "nothing written on failure");
            assert_eq!(aa_virtual_key_new_with_protocols(c"demo".as_ptr(), 2, &mut key), OK);
            let Ok(handle) = objects::key(handle_of(key), "key") else { panic!("the key handle is valid") };
            assert_eq!(handle.protocols(), Protocols::Ctap2Only);

            assert_eq!(aa_virtual_key_set_pin(key, c"1234".as_ptr()), OK);
            assert_eq!(aa_virtual_key_set_pin(key, c"".as_ptr()), INVALID_ARGUMENT);
            assert_eq!(aa_virtual_key_set_pin_retries(key, 3), OK);
            let mut retries = 0u8;
            assert_eq!(aa_virtual_key_pin_retries(key, &mut retries), OK);
            assert_eq!(retries, 3);
            assert_eq!(aa_virtual_key_set_pin(key, std::ptr::null()), OK);
            assert_eq!(aa_virtual_key_pin_retries(key, &mut retries), OK);
            assert_eq!(retries, 8);
            assert_eq!(aa_virtual_key_pin_retries(key, std::ptr::null_mut()), NULL_ARGUMENT);

            assert_eq!(aa_virtual_key_set_uv(key, true, false), OK);
            assert_eq!(handle.uv_retries(), 8);
            let mut cancels = 7u32;
            assert_eq!(aa_virtual_key_cancels_seen(key, &mut cancels), OK);
            assert_eq!(cancels, 0);

            assert_eq!(aa_virtual_key_free(key), OK);
            assert_eq!(aa_virtual_key_cancels_seen(key, &mut cancels), INVALID_HANDLE);
            assert_eq!(aa_virtual_key_set_pin(key, std::ptr::null()), INVALID_HANDLE);
        }
    }
}
