//! Deterministic key material: everything a virtual key knows derives from its seed.
//!
//! A key handle is `nonce (32 bytes) ‖ HMAC(master, "handle" ‖ appParam ‖ nonce) (32 bytes)`, so a
//! handle only validates for the application parameter it was made for, and the private key is
//! re-derived from the handle instead of being stored (the way most real U2F keys work).

use hmac::{Hmac, Mac};
use p256::ecdsa::{signature::Signer, DerSignature, SigningKey};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of every key handle this key makes.
pub const KEY_HANDLE_LEN: usize = 64;

/// SHA-256 of an appId string: the U2F application parameter.
pub fn application_parameter(app_id: &str) -> [u8; 32] {
    Sha256::digest(app_id.as_bytes()).into()
}

/// The public half of a credential as a server stores it at enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    /// The 64-byte key handle.
    pub key_handle: Vec<u8>,
    /// The 65-byte uncompressed SEC1 P-256 point (`04 ‖ X ‖ Y`).
    pub public_key: [u8; 65],
}

/// Secret material of one virtual key, derived from its seed.
#[derive(Clone)]
pub struct KeyMaterial {
    master: [u8; 32],
}

impl KeyMaterial {
    /// Derives the master secret from a seed; the same seed always gives the same keys.
    pub fn from_seed(seed: &[u8]) -> Self {
        let mut mac =
            HmacSha256::new_from_slice(b"aa-virtual-key master v1").expect("HMAC takes any key length");
        mac.update(seed);
        KeyMaterial { master: mac.finalize().into_bytes().into() }
    }

    pub(crate) fn prf(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.master).expect("HMAC takes any key length");
        mac.update(label);
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Builds the key handle for `app_param` from a 32-byte nonce.
    pub fn key_handle(&self, app_param: &[u8; 32], nonce: &[u8; 32]) -> Vec<u8> {
        let tag = self.prf(b"handle", &[app_param, nonce]);
        let mut handle = Vec::with_capacity(KEY_HANDLE_LEN);
        handle.extend_from_slice(nonce);
        handle.extend_from_slice(&tag);
        handle
    }

    /// True when `handle` was made by this key for `app_param`.
    pub fn owns(&self, app_param: &[u8; 32], handle: &[u8]) -> bool {
        if handle.len() != KEY_HANDLE_LEN {
            return false;
        }
        let nonce: [u8; 32] = handle[..32].try_into().expect("length checked");
        let mut mac = HmacSha256::new_from_slice(&self.master).expect("HMAC takes any key length");
        mac.update(b"handle");
        mac.update(app_param);
        mac.update(&nonce);
        mac.verify_slice(&handle[32..]).is_ok()
    }

    /// The credential's signing key; only meaningful for handles that [`owns`](Self::owns) accepts.
    pub fn signing_key(&self, app_param: &[u8; 32], handle: &[u8]) -> SigningKey {
        let mut counter = 0u32;
        loop {
            let candidate = self.prf(b"private", &[app_param, handle, &counter.to_be_bytes()]);
            if let Ok(key) = SigningKey::from_slice(&candidate) {
                return key;
            }
            counter += 1; // zero or ≥ n: astronomically rare, derive again
        }
    }

    /// The deterministic credential the `enroll-virtual-key` tooling and fixtures use for `app_id`.
    pub fn enrollment(&self, app_id: &str) -> Enrollment {
        let app_param = application_parameter(app_id);
        let nonce = self.prf(b"enroll", &[&app_param]);
        self.credential(&app_param, &nonce)
    }

    /// The deterministic FIDO2 credential for `rp_id` ([`VirtualKey::make_credential`](crate::VirtualKey::make_credential)):
    /// distinct from the U2F [`enrollment`](Self::enrollment) of the same string.
    pub fn fido2_credential(&self, rp_id: &str) -> Enrollment {
        let rp_id_hash = application_parameter(rp_id);
        let nonce = self.prf(b"fido2 credential", &[&rp_id_hash]);
        self.credential(&rp_id_hash, &nonce)
    }

    /// A new credential for REGISTER; `sequence` makes each registration distinct yet reproducible.
    pub fn registration(
        &self,
        app_param: &[u8; 32],
        challenge_param: &[u8; 32],
        sequence: u64,
    ) -> Enrollment {
        let nonce = self.prf(b"register", &[app_param, challenge_param, &sequence.to_be_bytes()]);
        self.credential(app_param, &nonce)
    }

    fn credential(&self, app_param: &[u8; 32], nonce: &[u8; 32]) -> Enrollment {
        let key_handle = self.key_handle(app_param, nonce);
        let public = self.signing_key(app_param, &key_handle).verifying_key().to_encoded_point(false);
        let public_key: [u8; 65] =
            public.as_bytes().try_into().expect("uncompressed P-256 point is 65 bytes");
        Enrollment { key_handle, public_key }
    }

    /// A public name of this key material (hex, 16 bytes of a PRF output): what a state file
    /// records to refuse being used by the key of another seed, without revealing the seed.
    pub fn state_id(&self) -> String {
        self.prf(b"state file id", &[])[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The attestation key used to sign REGISTER responses.
    pub fn attestation_key(&self) -> SigningKey {
        let mut counter = 0u32;
        loop {
            if let Ok(key) = SigningKey::from_slice(&self.prf(b"attestation", &[&counter.to_be_bytes()])) {
                return key;
            }
            counter += 1;
        }
    }
}

/// DER ECDSA-SHA256 signature of `message` (RFC 6979 deterministic nonce).
pub fn sign_der(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(message);
    signature.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    #[test]
    fn same_seed_same_enrollment_and_handles_bind_the_app() {
        let a = KeyMaterial::from_seed(b"demo");
        let b = KeyMaterial::from_seed(b"demo");
        let e = a.enrollment("https://aa.example");
        assert_eq!(e, b.enrollment("https://aa.example"));
        assert_eq!(e.key_handle.len(), KEY_HANDLE_LEN);
        assert_eq!(e.public_key[0], 4);
        assert!(a.owns(&application_parameter("https://aa.example"), &e.key_handle));
        assert!(!a.owns(&application_parameter("https://other.example"), &e.key_handle));
        assert!(!KeyMaterial::from_seed(b"other")
            .owns(&application_parameter("https://aa.example"), &e.key_handle));
    }

    #[test]
    fn signatures_verify_with_the_enrolled_public_key() {
        let km = KeyMaterial::from_seed(b"demo");
        let app = application_parameter("https://aa.example");
        let e = km.enrollment("https://aa.example");
        let sig = sign_der(&km.signing_key(&app, &e.key_handle), b"message");
        let vk = VerifyingKey::from_sec1_bytes(&e.public_key).unwrap();
        let sig = p256::ecdsa::DerSignature::try_from(sig.as_slice()).unwrap();
        vk.verify(b"message", &sig).unwrap();
    }
}
