//! PIN/UV auth protocols 1 and 2 (CTAP 2.1 §6.5.6, §6.5.7), authenticator side: the shared secret
//! from P-256 ECDH with the platform's key agreement key, AES-256-CBC encryption and the HMAC-SHA-256
//! authentication of messages.

use aes::Aes256;
use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use ciborium::value::Value;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{AffinePoint, EncodedPoint, PublicKey, SecretKey};
use sha2::{Digest, Sha256};

use super::cbor::{self, canonical_map};
use super::status;

type HmacSha256 = Hmac<Sha256>;

/// COSE algorithm of a key agreement key: ECDH-ES + HKDF-256 (CTAP2 uses it for both protocols).
pub const COSE_ALG_ECDH_ES_HKDF_256: i64 = -25;
const AES_BLOCK: usize = 16;

/// One of the two PIN/UV auth protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinProtocol {
    One,
    Two,
}

/// The secret both sides derive: protocol 1 uses 32 bytes for both HMAC and AES, protocol 2
/// derives separate 32-byte HMAC and AES keys.
pub struct SharedSecret {
    protocol: PinProtocol,
    hmac_key: [u8; 32],
    aes_key: [u8; 32],
}

impl PinProtocol {
    pub fn from_number(number: u64) -> Option<PinProtocol> {
        match number {
            1 => Some(PinProtocol::One),
            2 => Some(PinProtocol::Two),
            _ => None,
        }
    }

    /// `decapsulate`: the shared secret from our key agreement key and the platform's COSE key.
    pub fn decapsulate(self, ours: &SecretKey, platform_cose: &Value) -> Result<SharedSecret, u8> {
        let peer = parse_cose_public_key(platform_cose)?;
        let z = p256::ecdh::diffie_hellman(ours.to_nonzero_scalar(), peer.as_affine());
        let z = z.raw_secret_bytes();
        Ok(match self {
            PinProtocol::One => {
                let key: [u8; 32] = Sha256::digest(z).into();
                SharedSecret { protocol: self, hmac_key: key, aes_key: key }
            }
            PinProtocol::Two => {
                let hkdf = Hkdf::<Sha256>::new(Some(&[0u8; 32]), z);
                let (mut hmac_key, mut aes_key) = ([0u8; 32], [0u8; 32]);
                hkdf.expand(b"CTAP2 HMAC key", &mut hmac_key).map_err(|_| status::OTHER)?;
                hkdf.expand(b"CTAP2 AES key", &mut aes_key).map_err(|_| status::OTHER)?;
                SharedSecret { protocol: self, hmac_key, aes_key }
            }
        })
    }

    /// `authenticate(key, message)`: protocol 1 keeps the first 16 bytes of the HMAC. The key
    /// only verifies; its tests authenticate.
    #[cfg(test)]
    pub fn authenticate(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        let tag = mac.finalize().into_bytes();
        match self {
            PinProtocol::One => tag[..16].to_vec(),
            PinProtocol::Two => tag.to_vec(),
        }
    }

    /// `verify(key, message, signature)`: constant-time comparison of the expected tag.
    pub fn verify(self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        match self {
            PinProtocol::One => signature.len() == 16 && mac.verify_truncated_left(signature).is_ok(),
            PinProtocol::Two => mac.verify_slice(signature).is_ok(),
        }
    }
}

impl SharedSecret {
    /// The key `verify` uses for messages authenticated with this secret.
    pub fn hmac_key(&self) -> &[u8; 32] {
        &self.hmac_key
    }

    /// Protocol 1: AES-256-CBC with a zero IV. Protocol 2: `iv ‖ AES-256-CBC(iv)`.
    /// `plaintext` must be a whole number of blocks (every CTAP2 plaintext is).
    pub fn encrypt(&self, plaintext: &[u8], iv: [u8; AES_BLOCK]) -> Vec<u8> {
        let iv = match self.protocol {
            PinProtocol::One => [0u8; AES_BLOCK],
            PinProtocol::Two => iv,
        };
        let mut ciphertext = plaintext.to_vec();
        let len = ciphertext.len();
        // NoPadding fails only for a partial block, which no CTAP2 plaintext is.
        cbc::Encryptor::<Aes256>::new(&self.aes_key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut ciphertext, len)
            .expect("whole AES blocks");
        match self.protocol {
            PinProtocol::One => ciphertext,
            PinProtocol::Two => [&iv[..], &ciphertext].concat(),
        }
    }

    /// The inverse of [`encrypt`](Self::encrypt); `None` for a length that is no whole number of
    /// blocks (or, for protocol 2, has no room for the IV).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        let (iv, body) = match self.protocol {
            PinProtocol::One => ([0u8; AES_BLOCK], ciphertext),
            PinProtocol::Two => {
                let (iv, body) = ciphertext.split_at_checked(AES_BLOCK)?;
                (iv.try_into().ok()?, body)
            }
        };
        if body.is_empty() || body.len() % AES_BLOCK != 0 {
            return None;
        }
        let mut plaintext = body.to_vec();
        let len = cbc::Decryptor::<Aes256>::new(&self.aes_key.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut plaintext)
            .ok()?
            .len();
        plaintext.truncate(len);
        Some(plaintext)
    }
}

/// The COSE_Key of a key agreement public key: `{1: 2, 3: -25, -1: 1, -2: x, -3: y}`.
pub fn cose_key_agreement(public: &PublicKey) -> Value {
    let point = public.to_encoded_point(false);
    canonical_map(vec![
        (cbor::int(1), cbor::int(2)),
        (cbor::int(3), cbor::int(COSE_ALG_ECDH_ES_HKDF_256)),
        (cbor::int(-1), cbor::int(1)),
        (cbor::int(-2), cbor::bytes(point.x().expect("uncompressed point"))),
        (cbor::int(-3), cbor::bytes(point.y().expect("uncompressed point"))),
    ])
}

/// A P-256 public key from a COSE_Key (kty EC2, crv P-256, 32-byte coordinates on the curve).
fn parse_cose_public_key(value: &Value) -> Result<PublicKey, u8> {
    let map = cbor::as_map(value)?;
    let get = |label: i128| {
        map.iter()
            .find(|(k, _)| cbor::integer(k) == Ok(label))
            .map(|(_, v)| v)
            .ok_or(status::MISSING_PARAMETER)
    };
    if cbor::integer(get(1)?)? != 2 || cbor::integer(get(-1)?)? != 1 {
        return Err(status::INVALID_PARAMETER);
    }
    let x = cbor::as_bytes(get(-2)?)?;
    let y = cbor::as_bytes(get(-3)?)?;
    if x.len() != 32 || y.len() != 32 {
        return Err(status::INVALID_PARAMETER);
    }
    let point = EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    let affine: Option<AffinePoint> = AffinePoint::from_encoded_point(&point).into();
    affine.and_then(|a| PublicKey::from_affine(a).ok()).ok_or(status::INVALID_PARAMETER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_slice(&[byte; 32]).unwrap()
    }

    #[test]
    fn both_sides_derive_the_same_secret_and_round_trip() {
        let (a, b) = (key(1), key(2));
        for protocol in [PinProtocol::One, PinProtocol::Two] {
            let ab = protocol.decapsulate(&a, &cose_key_agreement(&b.public_key())).unwrap();
            let ba = protocol.decapsulate(&b, &cose_key_agreement(&a.public_key())).unwrap();
            assert_eq!(ab.hmac_key, ba.hmac_key);
            assert_eq!(ab.aes_key, ba.aes_key);
            let sealed = ab.encrypt(&[7u8; 32], [9u8; 16]);
            assert_eq!(sealed.len(), if protocol == PinProtocol::One { 32 } else { 48 });
            assert_eq!(ba.decrypt(&sealed).unwrap(), [7u8; 32]);
            assert!(ba.decrypt(&sealed[..sealed.len() - 1]).is_none());
            let tag = protocol.authenticate(ab.hmac_key(), b"message");
            assert!(protocol.verify(ba.hmac_key(), b"message", &tag));
            assert!(!protocol.verify(ba.hmac_key(), b"massage", &tag));
        }
    }

    #[test]
    fn points_off_the_curve_are_refused() {
        let bad = canonical_map(vec![
            (cbor::int(1), cbor::int(2)),
            (cbor::int(3), cbor::int(-25)),
            (cbor::int(-1), cbor::int(1)),
            (cbor::int(-2), cbor::bytes(&[1; 32])),
            (cbor::int(-3), cbor::bytes(&[2; 32])),
        ]);
        assert_eq!(PinProtocol::Two.decapsulate(&key(1), &bad).err(), Some(status::INVALID_PARAMETER));
    }
}
