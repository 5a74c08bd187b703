//! authenticatorGetInfo (`0x04`): what a CTAP2 key supports — versions, options (`clientPin`,
//! `uv`, `alwaysUv`, …), PIN/UV auth protocols and message and list limits.

use std::collections::BTreeMap;

use super::cbor::{text_list, CborError, MapView, Value};
use super::ctap2::{self, cmd, Ctap2Error};
use super::ctaphid::Channel;
use super::deadline::Deadline;

/// Default maxMsgSize when a key does not say (CTAP 2.0 §6.4).
pub const DEFAULT_MAX_MSG_SIZE: u64 = 1024;

/// A key's getInfo answer (the fields a host uses; unknown fields are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ctap2Info {
    /// `U2F_V2`, `FIDO_2_0`, `FIDO_2_1_PRE`, `FIDO_2_1`, …
    pub versions: Vec<String>,
    /// Extension identifiers (`credProtect`, `hmac-secret`, …).
    pub extensions: Vec<String>,
    /// The authenticator model's AAGUID.
    pub aaguid: Option<[u8; 16]>,
    /// Options by name (`rk`, `up`, `uv`, `plat`, `clientPin`, `pinUvAuthToken`, `alwaysUv`, …).
    pub options: BTreeMap<String, bool>,
    /// Largest CTAPHID_CBOR message the key accepts.
    pub max_msg_size: Option<u64>,
    /// PIN/UV auth protocols the key supports, in its order of preference.
    pub pin_uv_auth_protocols: Vec<u64>,
    /// Most allowList entries per request.
    pub max_credential_count_in_list: Option<u64>,
    /// Longest credential id the key accepts.
    pub max_credential_id_length: Option<u64>,
    /// Shortest PIN the key accepts (code points).
    pub min_pin_length: Option<u64>,
    /// Firmware version.
    pub firmware_version: Option<u64>,
}

impl Ctap2Info {
    /// The value of option `name`, if the key lists it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options.get(name).copied()
    }

    /// The key speaks U2F (CTAP1) next to CTAP2: it lists `U2F_V2` and does not insist on UV for
    /// everything (`alwaysUv` disables CTAP1).
    pub fn speaks_u2f(&self) -> bool {
        self.versions.iter().any(|v| v == "U2F_V2") && self.option("alwaysUv") != Some(true)
    }

    /// `Some(true)` when a PIN is set, `Some(false)` when the key can have one but has none,
    /// `None` when it has no PIN support.
    pub fn pin_set(&self) -> Option<bool> {
        self.option("clientPin")
    }

    /// The key has built-in user verification (fingerprint…) and it is configured.
    pub fn built_in_uv(&self) -> bool {
        self.option("uv") == Some(true)
    }

    /// The key demands user verification for every assertion.
    pub fn always_uv(&self) -> bool {
        self.option("alwaysUv") == Some(true)
    }

    /// The key issues PIN/UV tokens with permissions (CTAP 2.1 subcommand 0x09).
    pub fn tokens_with_permissions(&self) -> bool {
        self.option("pinUvAuthToken") == Some(true)
    }

    /// The PIN/UV auth protocol to use: 2 when offered, else 1 (CTAP 2.0 keys that list none
    /// speak protocol 1).
    pub fn preferred_pin_protocol(&self) -> Option<u64> {
        if self.pin_uv_auth_protocols.contains(&2) {
            Some(2)
        } else if self.pin_uv_auth_protocols.contains(&1) || self.pin_uv_auth_protocols.is_empty() {
            Some(1)
        } else {
            None
        }
    }

    /// Parses a getInfo answer map.
    pub fn parse(value: &Value) -> Result<Ctap2Info, CborError> {
        let map = MapView::new(value, "getInfo answer")?;
        let texts = |key: i64, what: &str| -> Result<Vec<String>, CborError> {
            map.opt_array(key)?
                .map(|items| text_list(items, 64, what))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let versions = texts(0x01, "getInfo versions")?;
        if versions.is_empty() {
            return Err(CborError::from_message("the getInfo answer lists no versions"));
        }
        let aaguid = match map.opt_bytes(0x03, 16)? {
            None => None,
            Some(bytes) => Some(
                <[u8; 16]>::try_from(bytes)
                    .map_err(|_| CborError::from_message("the getInfo aaguid is not 16 bytes"))?,
            ),
        };
        let mut options = BTreeMap::new();
        if let Some(entries) = map.opt_map(0x04, "getInfo options")? {
            for (key, value) in entries.entries() {
                match (key, value) {
                    (Value::Text(name), Value::Bool(set)) if name.len() <= 64 => {
                        options.insert(name.clone(), *set);
                    }
                    _ => return Err(CborError::from_message("a getInfo option is not a name and a boolean")),
                }
            }
        }
        let pin_uv_auth_protocols = match map.opt_array(0x06)? {
            None => Vec::new(),
            Some(items) => items
                .iter()
                .map(|item| {
                    item.as_integer()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| CborError::from_message("a getInfo pinUvAuthProtocol is not a number"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Ctap2Info {
            versions,
            extensions: texts(0x02, "getInfo extensions")?,
            aaguid,
            options,
            max_msg_size: map.opt_uint(0x05)?,
            pin_uv_auth_protocols,
            max_credential_count_in_list: map.opt_uint(0x07)?,
            max_credential_id_length: map.opt_uint(0x08)?,
            min_pin_length: map.opt_uint(0x0D)?,
            firmware_version: map.opt_uint(0x0E)?,
        })
    }
}

/// Sends authenticatorGetInfo and parses the answer.
pub fn get_info(channel: &mut Channel, deadline: &Deadline) -> Result<Ctap2Info, Ctap2Error> {
    let answer = ctap2::call(channel, cmd::GET_INFO, None, "getInfo", deadline)?
        .ok_or_else(|| channel.error("getInfo answered without data"))?;
    Ctap2Info::parse(&answer).map_err(|e| channel.error(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido::cbor::decode;
    use crate::fido::test_support::{ctap2_vector, hex};

    #[test]
    fn parses_the_ctap2_spec_get_info_example() {
        let vector = ctap2_vector("get_info");
        let info = Ctap2Info::parse(&decode(&hex(vector["cbor"].as_str().unwrap())).unwrap()).unwrap();
        assert_eq!(info.versions, ["U2F_V2", "FIDO_2_0"]);
        assert_eq!(info.extensions, ["uvm", "hmac-secret"]);
        assert_eq!(info.aaguid.unwrap().to_vec(), hex(vector["aaguid"].as_str().unwrap()));
        assert_eq!(info.option("rk"), Some(true));
        assert_eq!(info.option("up"), Some(true));
        assert_eq!(info.option("plat"), Some(false));
        assert_eq!(info.pin_set(), Some(false));
        assert_eq!(info.max_msg_size, Some(1200));
        assert_eq!(info.pin_uv_auth_protocols, [1]);
        assert_eq!(info.preferred_pin_protocol(), Some(1));
        assert!(info.speaks_u2f() && !info.built_in_uv() && !info.always_uv());

        // python-fido2's variant with an extra unknown key (0x18: 1234) parses the same.
        let extra =
            Ctap2Info::parse(&decode(&hex(vector["cbor_extra_key"].as_str().unwrap())).unwrap()).unwrap();
        assert_eq!(extra, info);
    }

    #[test]
    fn refuses_answers_of_the_wrong_shape() {
        for bad in [
            "a0",                               // no versions
            "a1018101",                         // a version that is not text
            "a20181665532465f5632044100",       // options not a map
            "a20181665532465f5632034100",       // an aaguid of 1 byte
            "a20181665532465f563204a1627570f6", // an option that is not a boolean
        ] {
            let value = decode(&hex(bad)).unwrap();
            assert!(Ctap2Info::parse(&value).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefers_pin_protocol_two() {
        let info = Ctap2Info { pin_uv_auth_protocols: vec![1, 2], ..Ctap2Info::default() };
        assert_eq!(info.preferred_pin_protocol(), Some(2));
        let odd = Ctap2Info { pin_uv_auth_protocols: vec![7], ..Ctap2Info::default() };
        assert_eq!(odd.preferred_pin_protocol(), None);
        let always = Ctap2Info {
            versions: vec!["U2F_V2".into()],
            options: [("alwaysUv".to_owned(), true)].into(),
            ..Ctap2Info::default()
        };
        assert!(!always.speaks_u2f());
    }
}
