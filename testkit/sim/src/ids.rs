//! Identifier formats of the AA API: 32-char alphanumeric session/process ids, 32-hex object ids.

use sha2::{Digest, Sha256};

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random 32-character alphanumeric id (sessions, processes, endpoint secrets).
pub fn random_alphanumeric() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    // 256 is not a multiple of 62; the slight bias is irrelevant for test ids.
    bytes.iter().map(|b| char::from(ALPHANUMERIC[usize::from(*b) % ALPHANUMERIC.len()])).collect()
}

/// A random 32-hex-digit id (registered endpoints).
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    data_encoding::HEXLOWER.encode(&bytes)
}

/// A stable 32-hex-digit id derived from a name, so fixtures need no ids of their own.
pub fn derived_hex(kind: &str, name: &str) -> String {
    let digest =
        Sha256::new().chain_update(kind).chain_update([0]).chain_update(name.to_lowercase()).finalize();
    data_encoding::HEXLOWER.encode(&digest[..16])
}

/// The default (TOP) tenant id of all AA samples.
pub const TENANT_ID: &str = "def0def0def0def0def0def0def0def0";
