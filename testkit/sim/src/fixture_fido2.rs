//! The FIDO2:1 part of a user's fixture: enrolled credentials and the user-verification policy.

use serde::{Deserialize, Serialize};

use crate::u2f::{decode_b64url, parse_public_key};

/// A user's FIDO2:1 enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fido2UserFixture {
    /// Enrolled credentials.
    pub credentials: Vec<Fido2CredentialFixture>,
    /// `"discouraged"` (default) or `"required"`: whether assertions must carry the UV flag.
    #[serde(default = "discouraged")]
    pub user_verification: String,
}

fn discouraged() -> String {
    "discouraged".to_owned()
}

/// One enrolled FIDO2 credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fido2CredentialFixture {
    /// base64url credential id.
    pub credential_id: String,
    /// base64url of the 65-byte uncompressed P-256 point.
    pub public_key: String,
    /// Last accepted signature counter; the next assertion must carry a greater one.
    #[serde(default)]
    pub counter: u32,
}

/// Why a user's FIDO2 enrollment is refused, if it is.
pub fn validate(user_name: &str, fido2: &Fido2UserFixture) -> Result<(), String> {
    if !["discouraged", "required"].contains(&fido2.user_verification.as_str()) {
        return Err(format!(
            "fido2 user_verification of {user_name} is {:?}; use \"discouraged\" or \"required\"",
            fido2.user_verification
        ));
    }
    for credential in &fido2.credentials {
        let id = decode_b64url(&credential.credential_id);
        if id.as_ref().is_none_or(|id| id.is_empty() || id.len() > 1023) {
            return Err(format!("a fido2 credential_id of {user_name} is not base64url of 1..=1023 bytes"));
        }
        if decode_b64url(&credential.public_key).as_deref().and_then(parse_public_key).is_none() {
            return Err(format!("a fido2 public_key of {user_name} is not base64url of a P-256 point"));
        }
    }
    Ok(())
}
