//! The library through its C ABI, in-process (the exported functions of aa-logon-ffi, the very
//! symbols libaa_logon.so exports), as a C program drives it: options, client, the testkit's
//! virtual key plugged in with aa_virtual_devices_hid_io + aa_client_set_hid_io, and a logon =
//! aa_logon_new + aa_logon_sign_with_device + aa_logon_free.

use std::ffi::{c_char, CString};
use std::ptr;

use aa_logon_ffi::{self as c, aa_client, aa_error, aa_status};
use aa_logon_testkit::{self as tk, aa_virtual_devices, aa_virtual_key};
use aa_sim::demo;

use crate::sim::Server;

pub type Result<T> = std::result::Result<T, String>;

const SIGN_TIMEOUT_MS: u32 = 10_000;

fn cstring(value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| format!("{value:?} has a NUL byte"))
}

/// Turns a status and its error into a result, freeing the error.
fn check(call: &str, status: aa_status, error: *mut aa_error) -> Result<()> {
    if status == aa_status::Ok {
        return Ok(());
    }
    let mut message: *mut c_char = ptr::null_mut();
    // SAFETY: `error` is NULL or an error this library just returned; `message` is writable.
    unsafe { c::aa_error_message(error, &mut message) };
    let message = c::take_string(message).unwrap_or_default();
    // SAFETY: as above; freed once.
    unsafe { c::aa_error_free(error) };
    Err(format!("{call}: {status:?}: {message}"))
}

fn testkit(call: &str, status: tk::aa_status) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(format!("{call} failed with status {status}"))
    }
}

/// A client, a virtual key and its device set, all owned through C handles.
pub struct CapiClient {
    client: *mut aa_client,
    key: *mut aa_virtual_key,
    devices: *mut aa_virtual_devices,
    user: CString,
    event: CString,
    method: CString,
}

impl CapiClient {
    /// A client of `server` trusting its CA file, signing with a virtual key made from `seed`.
    pub fn new(server: &Server, user: &str, seed: &str) -> Result<CapiClient> {
        let url = cstring(&server.base_url)?;
        let id = cstring(demo::ENDPOINT_ID)?;
        let secret = cstring(demo::ENDPOINT_SECRET)?;
        let ca = cstring(server.ca_file.to_str().ok_or("CA path is not UTF-8")?)?;
        let app_id_host = cstring(demo::APP_ID_HOST)?;
        let seed = cstring(seed)?;
        let mut this = CapiClient {
            client: ptr::null_mut(),
            key: ptr::null_mut(),
            devices: ptr::null_mut(),
            user: cstring(user)?,
            event: cstring(demo::EVENT)?,
            method: cstring("U2F:1")?,
        };
        // SAFETY (every call below): the strings are live CStrings, the handles were returned by
        // the libraries and are freed only in Drop, the out-parameters are writable locals.
        unsafe {
            let mut options = ptr::null_mut();
            let mut error = ptr::null_mut();
            let status = c::aa_client_options_new(
                url.as_ptr(),
                id.as_ptr(),
                secret.as_ptr(),
                &mut options,
                &mut error,
            );
            check("aa_client_options_new", status, error)?;
            let configured = (|| {
                let mut error = ptr::null_mut();
                let status = c::aa_client_options_set_ca_file(options, ca.as_ptr(), &mut error);
                check("aa_client_options_set_ca_file", status, error)?;
                let status =
                    c::aa_client_options_allow_app_id_host(options, app_id_host.as_ptr(), &mut error);
                check("aa_client_options_allow_app_id_host", status, error)?;
                let status = c::aa_client_new(options, &mut this.client, &mut error);
                check("aa_client_new", status, error)
            })();
            c::aa_client_options_free(options);
            configured?;

            testkit("aa_virtual_key_new", tk::aa_virtual_key_new(seed.as_ptr(), &mut this.key))?;
            testkit("aa_virtual_devices_new", tk::aa_virtual_devices_new(&mut this.devices))?;
            testkit("aa_virtual_devices_plug", tk::aa_virtual_devices_plug(this.devices, this.key))?;
            let mut io = tk::aa_hid_io {
                userdata: ptr::null_mut(),
                enumerate: None,
                open: None,
                close: None,
                write: None,
                read: None,
                release: None,
            };
            testkit("aa_virtual_devices_hid_io", tk::aa_virtual_devices_hid_io(this.devices, &mut io))?;
            let mut error = ptr::null_mut();
            // The testkit's aa_hid_io mirrors libaa_logon's field for field (the CLI demo checks
            // the layout at compile time), as one C struct declared in both headers.
            let status =
                c::aa_client_set_hid_io(this.client, (&io as *const tk::aa_hid_io).cast(), &mut error);
            if status != aa_status::Ok {
                if let Some(release) = io.release {
                    release(io.userdata);
                }
            }
            check("aa_client_set_hid_io", status, error)?;
        }
        Ok(this)
    }

    /// One U2F logon; Ok only when the library reports the server's OK.
    pub fn logon(&self) -> Result<()> {
        // SAFETY: live handle and CStrings; out-parameters are writable locals; the logon is
        // freed once, here.
        unsafe {
            let mut logon = ptr::null_mut();
            let mut error = ptr::null_mut();
            let status = c::aa_logon_new(
                self.client,
                self.user.as_ptr(),
                self.event.as_ptr(),
                self.method.as_ptr(),
                &mut logon,
                &mut error,
            );
            check("aa_logon_new", status, error)?;
            let mut error = ptr::null_mut();
            let status =
                c::aa_logon_sign_with_device(logon, SIGN_TIMEOUT_MS, None, ptr::null_mut(), &mut error);
            c::aa_logon_free(logon);
            check("aa_logon_sign_with_device", status, error)
        }
    }
}

impl Drop for CapiClient {
    fn drop(&mut self) {
        // SAFETY: each handle is NULL or live and freed once; NULL is ignored by the libraries.
        unsafe {
            c::aa_client_free(self.client);
            tk::aa_virtual_devices_free(self.devices);
            tk::aa_virtual_key_free(self.key);
        }
    }
}
