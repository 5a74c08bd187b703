//! `aa_client_options` and `aa_client`: configuration and the shared, thread-safe client.

use std::ffi::c_char;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use aa_logon::fido::{DeviceProvider, HidapiDevices};
use aa_logon::{Client, ClientConfig};

use super::args::{non_empty_arg, secret_arg, str_arg, Out};
use super::boundary::{aa_error, guard_call, guard_status};
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::hid_io::{aa_hid_io, CallerDevices};
use super::result::{FfiError, FfiResult};
use super::status::aa_status;
use super::strings::write_string;

/// Client configuration being built: create with aa_client_options_new, adjust with the
/// aa_client_options_set_* functions, pass to aa_client_new, free with aa_client_options_free.
/// Not safe for concurrent mutation.
pub struct aa_client_options {
    _private: [u8; 0],
}

/// A client of one AA server (or the servers of one cluster) for one endpoint. Shared by any
/// number of logons and threads:
/// every function taking `const aa_client *` is thread-safe. Keeps its HTTPS connections alive
/// between calls. Free with aa_client_free; logons made from it keep working after that.
pub struct aa_client {
    _private: [u8; 0],
}

pub(crate) static OPTIONS: Registry<Mutex<ClientConfig>> = Registry::new(HandleKind::ClientOptions);
pub(crate) static CLIENTS: Registry<ClientHandle> = Registry::new(HandleKind::Client);

/// The Rust side of an `aa_client`: the REST client plus where its security keys come from.
pub(crate) struct ClientHandle {
    pub(crate) client: Client,
    devices: RwLock<Arc<dyn DeviceProvider>>,
}

impl ClientHandle {
    /// Where this client's security keys come from now (USB HID, or a caller's aa_hid_io).
    pub(crate) fn devices(&self) -> Arc<dyn DeviceProvider> {
        self.devices.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_devices(&self, devices: Arc<dyn DeviceProvider>) {
        *self.devices.write().unwrap_or_else(PoisonError::into_inner) = devices;
    }
}

pub(crate) fn client_handle(client: *const aa_client) -> FfiResult<Arc<ClientHandle>> {
    CLIENTS.get(from_ptr(client), "client")
}

/// Changes the configuration behind `options`. The handle is checked before any other argument
/// is read (so a NULL handle is reported as such), then `read_arguments` runs, then `change`.
fn with_options<A>(
    options: *mut aa_client_options,
    read_arguments: impl FnOnce() -> FfiResult<A>,
    change: impl FnOnce(&mut ClientConfig, A) -> FfiResult,
) -> FfiResult {
    let options = OPTIONS.get(from_ptr(options), "options")?;
    let arguments = read_arguments()?;
    let mut config = options.lock().unwrap_or_else(PoisonError::into_inner);
    change(&mut config, arguments)
}

/// A value the core's configuration checks refused, reported when it is set.
fn invalid_argument(error: aa_logon::Error) -> FfiError {
    FfiError::new(aa_status::InvalidArgument, error.message())
}

fn millis(value: u32, name: &str) -> FfiResult<Duration> {
    if value == 0 {
        return Err(FfiError::new(aa_status::InvalidArgument, format!("{name} must be greater than 0")));
    }
    Ok(Duration::from_millis(u64::from(value)))
}

/// Starts a client configuration for the AA server at `base_url` (e.g. "https://aa.example.com")
/// and the endpoint `endpoint_id` with its `endpoint_secret`. TLS verification uses the
/// operating system's trust store. A `base_url` with credentials ("https://user:pass@host"), a
/// query, a "#fragment", spaces, control characters or non-ASCII bytes (spell international host
/// names in punycode) fails with AA_STATUS_INVALID_ARGUMENT. The secret is copied; the library wipes its copy after use.
/// On success `*options_out` receives a handle owned by the caller (free with
/// aa_client_options_free).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_new(
    base_url: *const c_char,
    endpoint_id: *const c_char,
    endpoint_secret: *const c_char,
    options_out: *mut *mut aa_client_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let base_url = non_empty_arg(base_url, "base_url")?;
            ClientConfig::check_base_url(base_url).map_err(invalid_argument)?;
            let endpoint_id = non_empty_arg(endpoint_id, "endpoint_id")?;
            let endpoint_secret = secret_arg(endpoint_secret, "endpoint_secret")?;
            let out = Out::new(options_out, "options_out")?;
            let config = ClientConfig::new(base_url, endpoint_id, endpoint_secret);
            out.write(to_ptr(OPTIONS.insert(Mutex::new(config))));
            Ok(())
        })
    }
}

/// Trusts the CA certificates in the PEM file at `path` in addition to the system trust store.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_ca_file(
    options: *mut aa_client_options,
    path: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || non_empty_arg(path, "path"),
                |config, path| {
                    config.tls.extra_ca_pem_file = Some(path.into());
                    Ok(())
                },
            )
        })
    }
}

/// Pins the server certificate's public key: `sha256_hex` is the lowercase or uppercase hex
/// SHA-256 of its DER SubjectPublicKeyInfo (64 hex digits). Checked in addition to normal
/// verification.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_pinned_public_key(
    options: *mut aa_client_options,
    sha256_hex: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let pin = || parse_sha256_hex(str_arg(sha256_hex, "sha256_hex")?);
            with_options(options, pin, |config, pin| {
                config.tls.pinned_spki_sha256 = Some(pin);
                Ok(())
            })
        })
    }
}

/// Exactly 64 hex digits (no sign, no separators, no prefix).
fn parse_sha256_hex(hex: &str) -> FfiResult<[u8; 32]> {
    let invalid =
        || FfiError::new(aa_status::InvalidArgument, "sha256_hex must be exactly 64 hexadecimal digits");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8).ok_or_else(invalid);
    let mut pin = [0u8; 32];
    for (byte, pair) in pin.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(pin)
}

/// Sets the connect timeout and the per-request timeout, in milliseconds (both > 0).
/// Defaults: 10 000 and 30 000.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_timeouts(
    options: *mut aa_client_options,
    connect_timeout_ms: u32,
    request_timeout_ms: u32,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let timeouts = || {
                Ok((
                    millis(connect_timeout_ms, "connect_timeout_ms")?,
                    millis(request_timeout_ms, "request_timeout_ms")?,
                ))
            };
            with_options(options, timeouts, |config, (connect, request)| {
                config.connect_timeout = connect;
                config.request_timeout = request;
                Ok(())
            })
        })
    }
}

/// Sends all requests through the HTTP CONNECT proxy at `proxy_url` (e.g. "http://proxy:3128",
/// optionally with "user:password@" for the proxy; "https://" for TLS to the proxy). A URL with
/// another scheme (SOCKS is not supported), a path, query or fragment, spaces or control
/// characters fails with AA_STATUS_INVALID_ARGUMENT.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_proxy(
    options: *mut aa_client_options,
    proxy_url: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || {
                    let proxy = non_empty_arg(proxy_url, "proxy_url")?;
                    ClientConfig::check_proxy_url(proxy).map_err(invalid_argument)?;
                    Ok(proxy)
                },
                |config, proxy| {
                    config.proxy = Some(proxy.to_owned());
                    Ok(())
                },
            )
        })
    }
}

/// Sets the User-Agent header (default "aa-logon/<version>"): 1 to 512 printable ASCII
/// characters; anything else (a CR or LF above all) fails with AA_STATUS_INVALID_ARGUMENT.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_user_agent(
    options: *mut aa_client_options,
    user_agent: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || {
                    let user_agent = non_empty_arg(user_agent, "user_agent")?;
                    ClientConfig::check_user_agent(user_agent).map_err(invalid_argument)?;
                    Ok(user_agent)
                },
                |config, user_agent| {
                    config.user_agent = user_agent.to_owned();
                    Ok(())
                },
            )
        })
    }
}

/// Caps the size of any server answer in bytes (default 1 MiB); larger answers fail with
/// AA_STATUS_MALFORMED_SERVER_DATA.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_max_response_bytes(
    options: *mut aa_client_options,
    max_response_bytes: u64,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let max = || match max_response_bytes {
                0 => Err(FfiError::new(
                    aa_status::InvalidArgument,
                    "max_response_bytes must be greater than 0",
                )),
                max => Ok(max),
            };
            with_options(options, max, |config, max| {
                config.max_response_bytes = max;
                Ok(())
            })
        })
    }
}

/// DANGER: turns off TLS certificate verification, so anybody on the network path can
/// impersonate the AA server and read secrets. For lab setups only; the library logs a warning
/// every time such a client is created.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_danger_disable_tls_verification(
    options: *mut aa_client_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || Ok(()),
                |config, ()| {
                    config.tls.danger_disable_tls_verification = true;
                    Ok(())
                },
            )
        })
    }
}

/// Also accepts U2F sign requests whose appId is an https URL of `host` (a bare host name or IP
/// address, e.g. "aa-sim.local"; no scheme, port, path or wildcard — else
/// AA_STATUS_INVALID_ARGUMENT). Callable several times to allow several hosts. By default only
/// appIds of the AA server's own host (the host of the base URL, any port) are signed: a security
/// key signs for whatever appId it is given, so a hostile server could otherwise obtain the user's
/// assertions for other sites. A sign request with any other appId makes
/// aa_logon_gather_sign_request and aa_logon_sign_with_device fail with
/// AA_STATUS_MALFORMED_SERVER_DATA before a key is touched.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_allow_app_id_host(
    options: *mut aa_client_options,
    host: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || {
                    let host = non_empty_arg(host, "host")?;
                    ClientConfig::check_app_id_host(host).map_err(invalid_argument)
                },
                |config, host| {
                    config.allow_app_id_host(&host).map_err(invalid_argument)?;
                    Ok(())
                },
            )
        })
    }
}

/// Adds a further server of the same AA cluster (same database, same endpoint id and secret),
/// tried after the base URL and the failover URLs added before it. A call moves to the next
/// server when one cannot be reached (connect or TLS handshake failure), and — for calls that are
/// safe to repeat — when it answers 502/503/504 or fails mid-request; a call carrying an answer or
/// a signature moves on only when it was never sent. A server that failed is skipped for the
/// back-off period (aa_client_options_set_server_backoff_ms). Checked like the base URL
/// (AA_STATUS_INVALID_ARGUMENT); a server already in the list is refused too.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_add_failover_url(
    options: *mut aa_client_options,
    url: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || non_empty_arg(url, "url"),
                |config, url| config.add_failover_url(url).map_err(invalid_argument),
            )
        })
    }
}

/// How long a server that failed is skipped before calls try it again, in milliseconds
/// (default 30000). 0: never skipped, every call tries the servers in order of preference.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_server_backoff_ms(
    options: *mut aa_client_options,
    backoff_ms: u64,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || Ok(Duration::from_millis(backoff_ms)),
                |config, backoff| {
                    config.server_backoff = backoff;
                    Ok(())
                },
            )
        })
    }
}

/// The most connections the client has open at once, in use or kept alive, over all its servers
/// (default 32). A call that finds them all in use waits for one, up to the request timeout
/// (then AA_STATUS_TIMEOUT). 0 fails with AA_STATUS_INVALID_ARGUMENT.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_set_max_connections(
    options: *mut aa_client_options,
    max_connections: u32,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let max = || match max_connections {
                0 => Err(FfiError::new(aa_status::InvalidArgument, "max_connections must be at least 1")),
                max => Ok(max as usize),
            };
            with_options(options, max, |config, max| {
                config.max_connections = max;
                Ok(())
            })
        })
    }
}

/// DANGER: signs U2F sign requests for any appId the server sends (see
/// aa_client_options_allow_app_id_host), so a hostile or impersonated server can obtain the
/// user's assertions for other sites. For lab setups only; the library logs a warning every time
/// such a client is created.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_danger_disable_app_id_check(
    options: *mut aa_client_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            with_options(
                options,
                || Ok(()),
                |config, ()| {
                    config.danger_disable_app_id_check = true;
                    Ok(())
                },
            )
        })
    }
}

/// Frees client options. NULL is ignored; a freed or foreign handle gives
/// AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_options_free(options: *mut aa_client_options) -> aa_status {
    guard_status(|| {
        if options.is_null() {
            return Ok(());
        }
        OPTIONS.remove(from_ptr(options), "options").map(drop)
    })
}

/// Creates a client from `options` (which stay owned by the caller and may be freed right
/// after). No network traffic happens yet: the endpoint session is created on first use.
/// On success `*client_out` receives a handle owned by the caller (free with aa_client_free).
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_new(
    options: *const aa_client_options,
    client_out: *mut *mut aa_client,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let options = OPTIONS.get(from_ptr(options), "options")?;
            let out = Out::new(client_out, "client_out")?;
            let config = options.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let client = Client::new(config)?;
            let handle = ClientHandle { client, devices: RwLock::new(Arc::new(HidapiDevices::new())) };
            out.write(to_ptr(CLIENTS.insert(handle)));
            Ok(())
        })
    }
}

/// Frees a client. Logons created from it stay usable until they are freed. NULL is ignored; a
/// freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_free(client: *mut aa_client) -> aa_status {
    guard_status(|| {
        if client.is_null() {
            return Ok(());
        }
        CLIENTS.remove(from_ptr(client), "client").map(drop)
    })
}

/// Makes `client` reach its security keys through the caller's HID functions in `*io` instead of
/// the operating system's USB HID devices (hidapi), for every later sign and device listing of
/// the client and of the logons made from it; a sign already running keeps the devices it had.
/// `*io` is copied; its functions and userdata must stay usable until its release function is
/// called (once, when neither the client nor any logon or open device uses it any more), or, when
/// release is NULL, until the client and all its logons are freed. `io` NULL switches the client
/// back to USB HID. Fails with AA_STATUS_NULL_ARGUMENT when a required function is NULL (the io is
/// then not taken over and release is not called).
///
/// # Safety
/// `client` is NULL or a pointer received from this library; `io` is NULL or points to a readable
/// aa_hid_io whose functions honour aa_hid_io's contract; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn aa_client_set_hid_io(
    client: *const aa_client,
    io: *const aa_hid_io,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let devices: Arc<dyn DeviceProvider> = if io.is_null() {
                Arc::new(HidapiDevices::new())
            } else {
                Arc::new(CallerDevices::new(&*io)?)
            };
            handle.set_devices(devices);
            Ok(())
        })
    }
}

/// The chains `user_name` may use for `event`, as the server's JSON
/// (`{"chains":[{"name":…,"methods":[…]},…],"user_is_locked":false}`). Asks with
/// `GET /logon/chains?user_name=…&event=…`; a server that answers that with HTTP 404 or 405 is
/// asked with the older `POST /logon/chains?username=…&application=…` instead (and so first from
/// then on, by this client). The caller owns `*chains_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_chains_json(
    client: *const aa_client,
    user_name: *const c_char,
    event: *const c_char,
    chains_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let user_name = non_empty_arg(user_name, "user_name")?;
            let event = str_arg(event, "event")?;
            let out = Out::new(chains_json_out, "chains_json_out")?;
            let chains = handle.client.chains(user_name, event)?;
            let json = serde_json::json!({
                "chains": chains.chains.iter().map(super::json::chain).collect::<Vec<_>>(),
                "user_is_locked": chains.user_is_locked,
            });
            write_string(out, &json.to_string(), "chains")
        })
    }
}

/// The base URL of the server that answered the client's last call (any logon's): with failover
/// URLs, the server in use now; the base URL before the first call. The caller owns `*url_out`
/// and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_current_server(
    client: *const aa_client,
    url_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let out = Out::new(url_out, "url_out")?;
            write_string(out, &handle.client.current_server(), "url")
        })
    }
}

/// Information about a login session, as the server's JSON (user_name, user_id, event_name,
/// created, chain_id, …). The caller owns `*session_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_login_session_json(
    client: *const aa_client,
    login_session_id: *const c_char,
    session_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let id = non_empty_arg(login_session_id, "login_session_id")?;
            let out = Out::new(session_json_out, "session_json_out")?;
            let session = handle.client.login_session(id)?;
            write_string(out, &session.raw.to_string(), "login session")
        })
    }
}

/// Ends a login session (logout). Fails with AA_STATUS_SERVER_ERROR (HTTP 434) when the
/// session is unknown or expired.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_logout(
    client: *const aa_client,
    login_session_id: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let id = non_empty_arg(login_session_id, "login_session_id")?;
            handle.client.logout(id)?;
            Ok(())
        })
    }
}

/// The FIDO security keys present now, as a JSON array of
/// `{"path","vendor_id","product_id","manufacturer","product","serial_number"}`.
/// The caller owns `*devices_json_out` and frees it with aa_string_free.
///
/// # Safety
/// Every pointer argument is NULL or valid for its use: handles as received from this library
/// (stale ones are detected, never dereferenced), strings NUL-terminated and readable, out-parameters
/// writable for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn aa_client_devices_json(
    client: *const aa_client,
    devices_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    // SAFETY: the caller upholds this function's # Safety contract for every pointer used below.
    unsafe {
        guard_call(error_out, || {
            let handle = client_handle(client)?;
            let out = Out::new(devices_json_out, "devices_json_out")?;
            let devices = handle.devices().list()?;
            let json: Vec<_> = devices.iter().map(super::json::device).collect();
            write_string(out, &serde_json::Value::Array(json).to_string(), "devices")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_from_hex() {
        let pin = parse_sha256_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(pin, [0xab; 32]);
        assert!(parse_sha256_hex("abc").is_err());
        assert!(parse_sha256_hex(&"zz".repeat(32)).is_err());
        assert!(parse_sha256_hex(&"é".repeat(32)).is_err());
        assert!(parse_sha256_hex(&"+f".repeat(32)).is_err(), "a sign is not a hex digit");
        assert!(parse_sha256_hex(&"AB".repeat(32)).is_ok());
    }

    fn new_options(base_url: &std::ffi::CStr) -> (aa_status, *mut aa_client_options) {
        let mut options = std::ptr::null_mut();
        // SAFETY: valid NUL-terminated strings and a writable out-parameter.
        let status = unsafe {
            aa_client_options_new(
                base_url.as_ptr(),
                c"id".as_ptr(),
                c"s".as_ptr(),
                &mut options,
                std::ptr::null_mut(),
            )
        };
        (status, options)
    }

    fn with_new_options(check: impl FnOnce(*mut aa_client_options)) {
        let (status, options) = new_options(c"https://aa.example.com");
        assert_eq!(status, aa_status::Ok);
        check(options);
        // SAFETY: a handle from aa_client_options_new, freed once.
        assert_eq!(unsafe { aa_client_options_free(options) }, aa_status::Ok);
    }

    #[test]
    fn base_urls_with_credentials_fragments_or_control_bytes_are_refused_at_once() {
        for bad in [
            c"https://user:pass@aa.example.com",
            c"https://aa.example.com/#x",
            c"https://aa.example.com/\r\nX: y",
            c"ftp://aa.example.com",
        ] {
            let (status, options) = new_options(bad);
            assert_eq!(status, aa_status::InvalidArgument, "{bad:?}");
            assert!(options.is_null());
        }
    }

    #[test]
    fn header_breaking_user_agents_and_bad_proxies_are_refused_when_set() {
        with_new_options(|options| {
            // SAFETY: a live handle and NUL-terminated strings.
            let agent = |value: &std::ffi::CStr| unsafe {
                aa_client_options_set_user_agent(options, value.as_ptr(), std::ptr::null_mut())
            };
            assert_eq!(agent(c"evil\r\nX-Injected: 1"), aa_status::InvalidArgument);
            assert_eq!(agent(c"caf\xc3\xa9"), aa_status::InvalidArgument);
            assert_eq!(agent(c"my-agent/1.0"), aa_status::Ok);
            // SAFETY: a live handle and NUL-terminated strings.
            let proxy = |value: &std::ffi::CStr| unsafe {
                aa_client_options_set_proxy(options, value.as_ptr(), std::ptr::null_mut())
            };
            assert_eq!(proxy(c"socks5://127.0.0.1:1080"), aa_status::InvalidArgument);
            assert_eq!(proxy(c"http://proxy:3128/#x"), aa_status::InvalidArgument);
            assert_eq!(proxy(c"http://proxy:3128"), aa_status::Ok);
        });
    }

    #[test]
    fn app_id_hosts_are_checked_and_kept() {
        with_new_options(|options| {
            // SAFETY: a live handle and NUL-terminated strings.
            let allow = |value: &std::ffi::CStr| unsafe {
                aa_client_options_allow_app_id_host(options, value.as_ptr(), std::ptr::null_mut())
            };
            assert_eq!(allow(c"AA-Sim.Local"), aa_status::Ok);
            assert_eq!(allow(c"aa-sim.local"), aa_status::Ok);
            assert_eq!(allow(c"10.1.2.3"), aa_status::Ok);
            for bad in [c"https://aa-sim.local", c"aa-sim.local:443", c"*.example", c"a b"] {
                assert_eq!(allow(bad), aa_status::InvalidArgument, "{bad:?}");
            }
            // SAFETY: a live handle and a NULL string.
            let null = unsafe {
                aa_client_options_allow_app_id_host(options, std::ptr::null(), std::ptr::null_mut())
            };
            assert_eq!(null, aa_status::NullArgument);
            // SAFETY: a live handle.
            let danger =
                unsafe { aa_client_options_danger_disable_app_id_check(options, std::ptr::null_mut()) };
            assert_eq!(danger, aa_status::Ok);
            let config = OPTIONS.get(from_ptr(options), "options").unwrap();
            let config = config.lock().unwrap();
            assert_eq!(config.allowed_app_id_hosts, ["aa-sim.local", "10.1.2.3"]);
            assert!(config.danger_disable_app_id_check);
        });
    }
}
