//! The C ABI's string arguments: fuzzed bytes become NUL-terminated C strings for
//! aa_client_options_new, its setters and aa_client_new, called as a C program would (through
//! the aa-logon-ffi exports). Every status must be the one the argument rules give (NULL, UTF-8,
//! empty, 64 hex digits…), every failure must come with an aa_error carrying that same status and
//! a message, no call may panic, and once everything is freed aa_live_objects must be back at 0.
//! The value checks (URL, proxy, header values, appId host) are aa_logon's `ClientConfig::check_*`:
//! the expected status of a value they refuse is AA_STATUS_INVALID_ARGUMENT.
//!
//! Input: a flags byte, then NUL-separated fields: base_url, endpoint_id, endpoint_secret,
//! sha256_hex, proxy_url, user_agent, ca_file path, appId host. A field missing from the input is
//! passed as NULL. Flags: bit 0 calls aa_client_new (TLS verification off: with it on every run would load
//! the OS trust store), bit 1 sets zero or non-zero timeouts, bit 2 a zero response cap.
#![no_main]

use std::ffi::{c_char, CString};
use std::ptr;

use ::aa_logon::ClientConfig;
use aa_logon_ffi::*;

/// An argument as C passes it.
enum Arg {
    Null,
    Str(CString),
}

impl Arg {
    fn new(field: Option<&[u8]>) -> Arg {
        // Fields are split at NUL bytes, so none holds one.
        field.map_or(Arg::Null, |bytes| Arg::Str(CString::new(bytes).expect("no NUL inside a field")))
    }

    fn ptr(&self) -> *const c_char {
        match self {
            Arg::Null => ptr::null(),
            Arg::Str(s) => s.as_ptr(),
        }
    }

    /// The status the library's reading of a string argument gives.
    fn string_status(&self) -> aa_status {
        match self {
            Arg::Null => aa_status::NullArgument,
            Arg::Str(s) if s.as_bytes().len() > AA_LOGON_MAX_ARGUMENT_LEN => aa_status::ArgumentTooLong,
            Arg::Str(s) if std::str::from_utf8(s.as_bytes()).is_err() => aa_status::InvalidUtf8,
            Arg::Str(_) => aa_status::Ok,
        }
    }

    /// The same for an argument that must not be empty.
    fn non_empty_status(&self) -> aa_status {
        match (self.string_status(), self) {
            (aa_status::Ok, Arg::Str(s)) if s.as_bytes().is_empty() => aa_status::InvalidArgument,
            (status, _) => status,
        }
    }

    /// The same for a non-empty argument that `check` must also accept.
    fn checked_status<T, E>(&self, check: impl FnOnce(&str) -> Result<T, E>) -> aa_status {
        match (self.non_empty_status(), self) {
            (aa_status::Ok, Arg::Str(s)) if check(s.to_str().expect("UTF-8 checked")).is_err() => {
                aa_status::InvalidArgument
            }
            (status, _) => status,
        }
    }

    fn pin_status(&self) -> aa_status {
        match (self.string_status(), self) {
            (aa_status::Ok, Arg::Str(s))
                if s.as_bytes().len() != 64 || !s.as_bytes().iter().all(u8::is_ascii_hexdigit) =>
            {
                aa_status::InvalidArgument
            }
            (status, _) => status,
        }
    }
}

/// The first failure of a sequence of argument checks, or Ok.
fn first_failure(statuses: &[aa_status]) -> aa_status {
    statuses.iter().copied().find(|&s| s != aa_status::Ok).unwrap_or(aa_status::Ok)
}

/// Checks `status` against `expected` and the error written to `error`, then frees the error.
fn check(what: &str, status: aa_status, expected: aa_status, error: *mut aa_error) {
    assert_ne!(status, aa_status::Panic, "{what} panicked");
    assert_eq!(status, expected, "{what}: {}", message(error));
    if status == aa_status::Ok {
        assert!(error.is_null(), "{what} succeeded but wrote an error");
        return;
    }
    assert!(!error.is_null(), "{what} failed without an error");
    let mut recorded = aa_status::Ok;
    // SAFETY: `error` was just handed out by the library; `recorded` is writable.
    assert_eq!(unsafe { aa_error_status(error, &mut recorded) }, aa_status::Ok);
    assert_eq!(recorded, status, "{what}: the error's status differs from the returned one");
    assert!(!message(error).is_empty(), "{what}: empty error message");
    // SAFETY: a live error handle, freed once.
    assert_eq!(unsafe { aa_error_free(error) }, aa_status::Ok);
}

fn message(error: *mut aa_error) -> String {
    if error.is_null() {
        return "(no error)".into();
    }
    let mut text: *mut c_char = ptr::null_mut();
    // SAFETY: a live error handle and a writable out-parameter.
    assert_eq!(unsafe { aa_error_message(error, &mut text) }, aa_status::Ok);
    aa_logon_ffi::take_string(text).expect("a library string")
}

/// Runs one setter taking `options` and an error slot and checks its status.
fn set(what: &str, expected: aa_status, call: impl FnOnce(*mut *mut aa_error) -> aa_status) {
    let mut error = ptr::null_mut();
    let status = call(&mut error);
    check(what, status, expected, error);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut fields = rest.split(|&b| b == 0);
    let mut next = || Arg::new(fields.next());
    let (base_url, endpoint_id, secret) = (next(), next(), next());
    let (pin, proxy, user_agent, ca_file, app_id_host) = (next(), next(), next(), next(), next());

    let mut options: *mut aa_client_options = ptr::null_mut();
    let expected = first_failure(&[
        base_url.checked_status(ClientConfig::check_base_url),
        endpoint_id.non_empty_status(),
        secret.string_status(),
    ]);
    set("aa_client_options_new", expected, |error| {
        // SAFETY: NULL or NUL-terminated strings, writable out-parameters.
        unsafe { aa_client_options_new(base_url.ptr(), endpoint_id.ptr(), secret.ptr(), &mut options, error) }
    });
    assert_eq!(options.is_null(), expected != aa_status::Ok);
    // Setters on a handle that is NULL (options_new failed) report it before reading the rest.
    let live = |status: aa_status| if options.is_null() { aa_status::NullArgument } else { status };

    // SAFETY (all calls below): `options` is NULL or live, strings are NULL or NUL-terminated,
    // error slots are writable.
    set("aa_client_options_set_pinned_public_key", live(pin.pin_status()), |error| unsafe {
        aa_client_options_set_pinned_public_key(options, pin.ptr(), error)
    });
    set(
        "aa_client_options_set_proxy",
        live(proxy.checked_status(ClientConfig::check_proxy_url)),
        |error| unsafe { aa_client_options_set_proxy(options, proxy.ptr(), error) },
    );
    set(
        "aa_client_options_set_user_agent",
        live(user_agent.checked_status(ClientConfig::check_user_agent)),
        |error| unsafe { aa_client_options_set_user_agent(options, user_agent.ptr(), error) },
    );
    let host_status = live(app_id_host.checked_status(ClientConfig::check_app_id_host));
    set("aa_client_options_allow_app_id_host", host_status, |error| unsafe {
        aa_client_options_allow_app_id_host(options, app_id_host.ptr(), error)
    });
    if flags & 0x02 != 0 {
        let connect = u32::from(flags >> 4);
        let expected = if connect == 0 { aa_status::InvalidArgument } else { aa_status::Ok };
        set("aa_client_options_set_timeouts", live(expected), |error| unsafe {
            aa_client_options_set_timeouts(options, connect, 30_000, error)
        });
    }
    if flags & 0x04 != 0 {
        set("aa_client_options_set_max_response_bytes", live(aa_status::InvalidArgument), |error| unsafe {
            aa_client_options_set_max_response_bytes(options, 0, error)
        });
    }
    set("aa_client_options_danger_disable_tls_verification", live(aa_status::Ok), |error| unsafe {
        aa_client_options_danger_disable_tls_verification(options, error)
    });

    if flags & 0x01 != 0 {
        let mut client: *mut aa_client = ptr::null_mut();
        let mut error = ptr::null_mut();
        // SAFETY: as above.
        let status = unsafe { aa_client_new(options, &mut client, &mut error) };
        // A configuration the library refuses (URL, proxy, blank endpoint id or secret) is Config.
        let expected = match status {
            aa_status::Config if !options.is_null() => aa_status::Config,
            _ => live(aa_status::Ok),
        };
        check("aa_client_new", status, expected, error);
        assert_eq!(client.is_null(), status != aa_status::Ok);
        // SAFETY: NULL or a live client, freed once.
        assert_eq!(unsafe { aa_client_free(client) }, aa_status::Ok);
    }

    // The CA file is only remembered here (it is read by aa_client_new, which is not called
    // after it: a fuzzed path could name any file).
    set("aa_client_options_set_ca_file", live(ca_file.non_empty_status()), |error| unsafe {
        aa_client_options_set_ca_file(options, ca_file.ptr(), error)
    });

    // SAFETY: NULL or a live options handle, freed once.
    assert_eq!(unsafe { aa_client_options_free(options) }, aa_status::Ok);
    if !options.is_null() {
        // SAFETY: a stale handle is detected, never dereferenced.
        assert_eq!(unsafe { aa_client_options_free(options) }, aa_status::InvalidHandle);
    }
    let mut live_objects = usize::MAX;
    // SAFETY: a writable out-parameter.
    assert_eq!(unsafe { aa_live_objects(&mut live_objects) }, aa_status::Ok);
    assert_eq!(live_objects, 0, "handles or strings leaked");
});
