//! Where security keys come from (USB HID, or the virtual key in test builds) and the `devices`
//! command.

use std::fmt::Write as _;

use aa_logon::fido::{describe, wink, DeviceDetails, DeviceInfo, HidapiDevices};
use aa_logon::DeviceProvider;
use serde_json::{json, Value};

use crate::args::{DevicesArgs, VirtualKeyArgs};
use crate::exit::{CmdResult, Exit};
use crate::output::Outcome;

/// The message printed when no key is attached.
pub const NO_KEYS_MESSAGE: &str = "no FIDO security keys found";

/// USB keys, or the virtual key named on the command line.
pub fn provider(args: &VirtualKeyArgs) -> Box<dyn DeviceProvider> {
    #[cfg(feature = "virtual-device")]
    if let Some(seed) = &args.virtual_key {
        return virtual_key::devices(seed, args);
    }
    let _ = args;
    Box::new(HidapiDevices::new())
}

#[cfg(feature = "virtual-device")]
mod virtual_key {
    use std::path::Path;

    use aa_logon::fido::{DeviceInfo, HidTransport};
    use aa_logon::{DeviceProvider, Error, ErrorKind, Result};
    use aa_virtual_key::{Presence, Protocols, VirtualDevices, VirtualKey};

    use crate::args::{PresenceArg, ProtocolsArg, VirtualKeyArgs};

    /// The virtual key of `seed` as the options describe it: its protocols, its counter kept in
    /// the state file when given, its PIN.
    pub fn devices(seed: &str, args: &VirtualKeyArgs) -> Box<dyn DeviceProvider> {
        let key = match make(seed, args.virtual_key_protocols, args.virtual_key_state.as_deref()) {
            Ok(key) => key,
            Err(message) => return Box::new(Unusable(message)),
        };
        if let Some(pin) = &args.virtual_key_pin {
            key.set_pin(Some(pin));
        }
        let presence = args.virtual_key_presence;
        key.set_presence(match presence {
            PresenceArg::Always => Presence::Always,
            PresenceArg::Never => Presence::Never,
        });
        let devices = VirtualDevices::new();
        devices.insert(key);
        Box::new(devices)
    }

    fn make(
        seed: &str,
        protocols: ProtocolsArg,
        state_file: Option<&Path>,
    ) -> std::result::Result<VirtualKey, String> {
        let protocols = match protocols {
            ProtocolsArg::U2f => Protocols::U2fOnly,
            ProtocolsArg::Ctap2 => Protocols::Ctap2Only,
            ProtocolsArg::Both => Protocols::Both,
        };
        match state_file {
            None => Ok(VirtualKey::with_protocols(seed.as_bytes(), protocols)),
            Some(path) if protocols == Protocols::Both => {
                VirtualKey::with_state_file(seed.as_bytes(), path).map_err(|error| error.to_string())
            }
            Some(_) => Err("--virtual-key-state works only with --virtual-key-protocols both".to_owned()),
        }
    }

    /// A virtual key that could not be made (its state file is unusable): every use is that
    /// configuration error, so the command fails with it instead of running without the key.
    struct Unusable(String);

    impl DeviceProvider for Unusable {
        fn list(&self) -> Result<Vec<DeviceInfo>> {
            Err(Error::new(ErrorKind::Config, self.0.clone()))
        }

        fn open(&self, _path: &str) -> Result<Box<dyn HidTransport>> {
            Err(Error::new(ErrorKind::Config, self.0.clone()))
        }
    }
}

pub fn run(args: &DevicesArgs) -> CmdResult<Outcome> {
    let devices = provider(&args.virtual_key);
    if let Some(path) = &args.wink {
        wink(devices.as_ref(), path)?;
        return Ok(Outcome::ok(format!("{path}: blinking\n"), json!({ "status": "OK", "winked": path })));
    }
    let found = devices.list()?;
    if found.is_empty() {
        return Ok(Outcome::ok(
            format!("{NO_KEYS_MESSAGE}\n"),
            json!({ "status": "OK", "devices": [], "message": NO_KEYS_MESSAGE }),
        ));
    }
    let mut text = String::new();
    let mut entries = Vec::new();
    let mut unreadable = Vec::new();
    for info in found {
        match describe(devices.as_ref(), &info.path) {
            Ok(details) => {
                describe_text(&mut text, &details);
                entries.push(details_json(&details));
            }
            Err(error) => {
                info_text(&mut text, &info);
                let _ = writeln!(text, "  error:        {error}");
                let mut entry = info_json(&info);
                entry["error"] = Value::String(error.to_string());
                entries.push(entry);
                unreadable.push(info.path.clone());
            }
        }
        text.push('\n');
    }
    if unreadable.is_empty() {
        return Ok(Outcome::ok(text, json!({ "status": "OK", "devices": entries })));
    }
    let _ = writeln!(
        text,
        "cannot query {}: check the permissions of the device (on Linux see the udev rule in cli/README.md)",
        unreadable.join(", ")
    );
    Ok(Outcome { text, json: json!({ "status": "ERROR", "devices": entries }), exit: Exit::Device })
}

fn info_text(text: &mut String, info: &DeviceInfo) {
    let _ = writeln!(text, "{}", info.path);
    let _ = writeln!(text, "  vendor/product: {:04x}:{:04x}", info.vendor_id, info.product_id);
    let _ = writeln!(text, "  manufacturer: {}", info.manufacturer.as_deref().unwrap_or("-"));
    let _ = writeln!(text, "  product:      {}", info.product.as_deref().unwrap_or("-"));
}

fn describe_text(text: &mut String, details: &DeviceDetails) {
    info_text(text, &details.info);
    let _ = writeln!(
        text,
        "  CTAPHID:      version {}, firmware {}",
        details.ctaphid_version, details.device_version
    );
    let _ = writeln!(text, "  capabilities: {}", details.capabilities);
    let _ = writeln!(
        text,
        "  U2F:          {}",
        details.u2f_version.as_deref().unwrap_or("not supported (NMSG)")
    );
    match &details.ctap2 {
        None => {
            let why = if details.capabilities.cbor() { "getInfo failed" } else { "not supported" };
            let _ = writeln!(text, "  CTAP2:        {why}");
        }
        Some(info) => {
            let _ = writeln!(text, "  CTAP2:        {}", info.versions.join(", "));
            let options: Vec<String> = info
                .options
                .iter()
                .map(|(name, set)| format!("{name}={}", if *set { "yes" } else { "no" }))
                .collect();
            let _ = writeln!(
                text,
                "  options:      {}",
                if options.is_empty() { "-".into() } else { options.join(" ") }
            );
            let pin = match (info.pin_set(), details.pin_retries) {
                (Some(true), Some(retries)) => format!("set, {retries} retries left"),
                (Some(true), None) => "set".to_owned(),
                (Some(false), _) => "not set".to_owned(),
                (None, _) => "not supported".to_owned(),
            };
            let _ = writeln!(text, "  PIN:          {pin}");
            let protocols: Vec<String> = info.pin_uv_auth_protocols.iter().map(u64::to_string).collect();
            let _ = writeln!(
                text,
                "  PIN/UV auth:  protocols {}; max message {} bytes",
                if protocols.is_empty() { "-".into() } else { protocols.join(", ") },
                info.max_msg_size.map_or("-".to_owned(), |n| n.to_string())
            );
        }
    }
}

fn info_json(info: &DeviceInfo) -> Value {
    json!({
        "path": info.path,
        "vendor_id": format!("{:04x}", info.vendor_id),
        "product_id": format!("{:04x}", info.product_id),
        "manufacturer": info.manufacturer,
        "product": info.product,
    })
}

fn details_json(details: &DeviceDetails) -> Value {
    let mut entry = info_json(&details.info);
    entry["ctaphid_version"] = json!(details.ctaphid_version);
    entry["firmware_version"] = json!(details.device_version.to_string());
    entry["capabilities"] = json!(details.capabilities.names());
    entry["capability_bits"] = json!(details.capabilities.bits());
    entry["u2f_version"] = json!(details.u2f_version);
    entry["ctap2"] = match &details.ctap2 {
        None => Value::Null,
        Some(info) => json!({
            "versions": info.versions,
            "extensions": info.extensions,
            "aaguid": info.aaguid.map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            "options": info.options,
            "pin_set": info.pin_set(),
            "pin_retries": details.pin_retries,
            "pin_uv_auth_protocols": info.pin_uv_auth_protocols,
            "max_msg_size": info.max_msg_size,
        }),
    };
    entry
}
