//! `aa_client_options` and `aa_client`: configuration and the shared, thread-safe client.

use std::ffi::c_char;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::args::{non_empty_arg, secret_arg, str_arg, write_string, Out};
use super::boundary::{guard_call, guard_status, FfiError, FfiResult};
use super::error::aa_error;
use super::handles::{from_ptr, to_ptr, HandleKind, Registry};
use super::status::aa_status;
use crate::fido::{DeviceProvider, HidapiDevices};
use crate::{Client, ClientConfig};

/// Client configuration being built: create with aa_client_options_new, adjust with the
/// aa_client_options_set_* functions, pass to aa_client_new, free with aa_client_options_free.
/// Not safe for concurrent mutation.
pub struct aa_client_options {
    _private: [u8; 0],
}

/// A client of one AA server for one endpoint. Shared by any number of logons and threads:
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
    #[cfg(feature = "virtual-device")]
    pub(crate) virtual_devices: Mutex<super::virtual_device::Attachments>,
}

impl ClientHandle {
    pub(crate) fn devices(&self) -> Arc<dyn DeviceProvider> {
        self.devices.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    #[cfg(feature = "virtual-device")]
    pub(crate) fn set_devices(&self, devices: Arc<dyn DeviceProvider>) {
        *self.devices.write().unwrap_or_else(|p| p.into_inner()) = devices;
    }
}

pub(crate) fn client_handle(client: *const aa_client) -> FfiResult<Arc<ClientHandle>> {
    CLIENTS.get(from_ptr(client), "client")
}

fn with_options(
    options: *mut aa_client_options,
    change: impl FnOnce(&mut ClientConfig) -> FfiResult,
) -> FfiResult {
    let options = OPTIONS.get(from_ptr(options), "options")?;
    let mut config = options.lock().unwrap_or_else(|p| p.into_inner());
    change(&mut config)
}

fn millis(value: u32, name: &str) -> FfiResult<Duration> {
    if value == 0 {
        return Err(FfiError::new(aa_status::InvalidArgument, format!("{name} must be greater than 0")));
    }
    Ok(Duration::from_millis(u64::from(value)))
}

/// Starts a client configuration for the AA server at `base_url` (e.g. "https://aa.example.com")
/// and the endpoint `endpoint_id` with its `endpoint_secret`. TLS verification uses the
/// operating system's trust store. The secret is copied; the library wipes its copy after use.
/// On success `*options_out` receives a handle owned by the caller (free with
/// aa_client_options_free).
#[no_mangle]
pub extern "C" fn aa_client_options_new(
    base_url: *const c_char,
    endpoint_id: *const c_char,
    endpoint_secret: *const c_char,
    options_out: *mut *mut aa_client_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let base_url = non_empty_arg(base_url, "base_url")?;
        let endpoint_id = non_empty_arg(endpoint_id, "endpoint_id")?;
        let endpoint_secret = secret_arg(endpoint_secret, "endpoint_secret")?;
        let out = Out::new(options_out, "options_out")?;
        let config = ClientConfig::new(base_url, endpoint_id, endpoint_secret);
        out.write(to_ptr(OPTIONS.insert(Mutex::new(config))));
        Ok(())
    })
}

/// Trusts the CA certificates in the PEM file at `path` in addition to the system trust store.
#[no_mangle]
pub extern "C" fn aa_client_options_set_ca_file(
    options: *mut aa_client_options,
    path: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let path = non_empty_arg(path, "path")?;
        with_options(options, |config| {
            config.tls.extra_ca_pem_file = Some(path.into());
            Ok(())
        })
    })
}

/// Pins the server certificate's public key: `sha256_hex` is the lowercase or uppercase hex
/// SHA-256 of its DER SubjectPublicKeyInfo (64 hex digits). Checked in addition to normal
/// verification.
#[no_mangle]
pub extern "C" fn aa_client_options_set_pinned_public_key(
    options: *mut aa_client_options,
    sha256_hex: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let hex = str_arg(sha256_hex, "sha256_hex")?;
        let pin = parse_sha256_hex(hex)?;
        with_options(options, |config| {
            config.tls.pinned_spki_sha256 = Some(pin);
            Ok(())
        })
    })
}

fn parse_sha256_hex(hex: &str) -> FfiResult<[u8; 32]> {
    let invalid = || FfiError::new(aa_status::InvalidArgument, "sha256_hex must be 64 hexadecimal digits");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(invalid());
    }
    let mut pin = [0u8; 32];
    for (byte, pair) in pin.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(pin)
}

/// Sets the connect timeout and the per-request timeout, in milliseconds (both > 0).
/// Defaults: 10 000 and 30 000.
#[no_mangle]
pub extern "C" fn aa_client_options_set_timeouts(
    options: *mut aa_client_options,
    connect_timeout_ms: u32,
    request_timeout_ms: u32,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let connect = millis(connect_timeout_ms, "connect_timeout_ms")?;
        let request = millis(request_timeout_ms, "request_timeout_ms")?;
        with_options(options, |config| {
            config.connect_timeout = connect;
            config.request_timeout = request;
            Ok(())
        })
    })
}

/// Sends all requests through the proxy at `proxy_url` (e.g. "http://proxy:3128").
#[no_mangle]
pub extern "C" fn aa_client_options_set_proxy(
    options: *mut aa_client_options,
    proxy_url: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let proxy = non_empty_arg(proxy_url, "proxy_url")?;
        with_options(options, |config| {
            config.proxy = Some(proxy.to_owned());
            Ok(())
        })
    })
}

/// Sets the User-Agent header (default "aa-logon/<version>").
#[no_mangle]
pub extern "C" fn aa_client_options_set_user_agent(
    options: *mut aa_client_options,
    user_agent: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let user_agent = non_empty_arg(user_agent, "user_agent")?;
        with_options(options, |config| {
            config.user_agent = user_agent.to_owned();
            Ok(())
        })
    })
}

/// Caps the size of any server answer in bytes (default 1 MiB); larger answers fail with
/// AA_STATUS_MALFORMED_SERVER_DATA.
#[no_mangle]
pub extern "C" fn aa_client_options_set_max_response_bytes(
    options: *mut aa_client_options,
    max_response_bytes: u64,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        if max_response_bytes == 0 {
            return Err(FfiError::new(
                aa_status::InvalidArgument,
                "max_response_bytes must be greater than 0",
            ));
        }
        with_options(options, |config| {
            config.max_response_bytes = max_response_bytes;
            Ok(())
        })
    })
}

/// DANGER: turns off TLS certificate verification, so anybody on the network path can
/// impersonate the AA server and read secrets. For lab setups only; the library logs a warning
/// every time such a client is created.
#[no_mangle]
pub extern "C" fn aa_client_options_danger_disable_tls_verification(
    options: *mut aa_client_options,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        with_options(options, |config| {
            config.tls.danger_disable_tls_verification = true;
            Ok(())
        })
    })
}

/// Frees client options. NULL is ignored; a freed or foreign handle gives
/// AA_STATUS_INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn aa_client_options_free(options: *mut aa_client_options) -> aa_status {
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
#[no_mangle]
pub extern "C" fn aa_client_new(
    options: *const aa_client_options,
    client_out: *mut *mut aa_client,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let options = OPTIONS.get(from_ptr(options), "options")?;
        let out = Out::new(client_out, "client_out")?;
        let config = options.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let client = Client::new(config)?;
        let handle = ClientHandle {
            client,
            devices: RwLock::new(Arc::new(HidapiDevices::new())),
            #[cfg(feature = "virtual-device")]
            virtual_devices: Mutex::new(Default::default()),
        };
        out.write(to_ptr(CLIENTS.insert(handle)));
        Ok(())
    })
}

/// Frees a client. Logons created from it stay usable until they are freed. NULL is ignored; a
/// freed or foreign handle gives AA_STATUS_INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn aa_client_free(client: *mut aa_client) -> aa_status {
    guard_status(|| {
        if client.is_null() {
            return Ok(());
        }
        CLIENTS.remove(from_ptr(client), "client").map(drop)
    })
}

/// The chains `user_name` may use for `event`, as the server's JSON
/// (`{"chains":[{"name":…,"methods":[…]},…],"user_is_locked":false}`). The caller owns
/// `*chains_json_out` and frees it with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_client_chains_json(
    client: *const aa_client,
    user_name: *const c_char,
    event: *const c_char,
    chains_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
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

/// Information about a login session, as the server's JSON (user_name, user_id, event_name,
/// created, chain_id, …). The caller owns `*session_json_out` and frees it with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_client_login_session_json(
    client: *const aa_client,
    login_session_id: *const c_char,
    session_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let handle = client_handle(client)?;
        let id = non_empty_arg(login_session_id, "login_session_id")?;
        let out = Out::new(session_json_out, "session_json_out")?;
        let session = handle.client.login_session(id)?;
        write_string(out, &session.raw.to_string(), "login session")
    })
}

/// Ends a login session (logout). Fails with AA_STATUS_SERVER_ERROR (HTTP 434) when the
/// session is unknown or expired.
#[no_mangle]
pub extern "C" fn aa_client_logout(
    client: *const aa_client,
    login_session_id: *const c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let handle = client_handle(client)?;
        let id = non_empty_arg(login_session_id, "login_session_id")?;
        handle.client.logout(id)?;
        Ok(())
    })
}

/// The FIDO security keys present now, as a JSON array of
/// `{"path","vendor_id","product_id","manufacturer","product","serial_number"}`.
/// The caller owns `*devices_json_out` and frees it with aa_string_free.
#[no_mangle]
pub extern "C" fn aa_client_devices_json(
    client: *const aa_client,
    devices_json_out: *mut *mut c_char,
    error_out: *mut *mut aa_error,
) -> aa_status {
    guard_call(error_out, || {
        let handle = client_handle(client)?;
        let out = Out::new(devices_json_out, "devices_json_out")?;
        let devices = handle.devices().list()?;
        let json: Vec<_> = devices.iter().map(super::json::device).collect();
        write_string(out, &serde_json::Value::Array(json).to_string(), "devices")
    })
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
    }
}
