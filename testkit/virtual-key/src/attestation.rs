//! The attestation certificate a REGISTER response carries: self-signed by the seed's attestation
//! key, so every virtual key made from the same seed presents the same certificate.

use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::UtcTime;
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// Subject and issuer of the certificate.
pub const ATTESTATION_SUBJECT: &str = "CN=aa-virtual-key U2F attestation,O=aa-logon testkit";

/// Fixed validity so the certificate depends only on the key: 2020-01-01 to 2049-12-31.
const NOT_BEFORE_UNIX: u64 = 1_577_836_800;
const NOT_AFTER_UNIX: u64 = 2_524_607_999;

/// Builds the DER certificate for `key` (ECDSA-SHA256, RFC 6979 deterministic signature).
pub fn certificate_der(key: &SigningKey) -> Result<Vec<u8>, String> {
    let describe = |what: &str, err: &dyn std::fmt::Display| format!("attestation certificate {what}: {err}");
    let validity = Validity {
        not_before: Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(NOT_BEFORE_UNIX))
                .map_err(|e| describe("not-before", &e))?,
        ),
        not_after: Time::UtcTime(
            UtcTime::from_unix_duration(Duration::from_secs(NOT_AFTER_UNIX))
                .map_err(|e| describe("not-after", &e))?,
        ),
    };
    let subject = Name::from_str(ATTESTATION_SUBJECT).map_err(|e| describe("subject", &e))?;
    let public_key_der = key.verifying_key().to_public_key_der().map_err(|e| describe("public key", &e))?;
    let public_key = SubjectPublicKeyInfoOwned::try_from(public_key_der.as_bytes())
        .map_err(|e| describe("public key info", &e))?;
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(1u32),
        validity,
        subject,
        public_key,
        key,
    )
    .map_err(|e| describe("builder", &e))?;
    let certificate = builder.build::<DerSignature>().map_err(|e| describe("signature", &e))?;
    certificate.to_der().map_err(|e| describe("encoding", &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use x509_cert::der::Decode;
    use x509_cert::Certificate;

    #[test]
    fn certificate_is_self_signed_by_the_attestation_key_and_deterministic() {
        let key = crate::KeyMaterial::from_seed(b"demo").attestation_key();
        let der = certificate_der(&key).unwrap();
        assert_eq!(der, certificate_der(&key).unwrap());

        let certificate = Certificate::from_der(&der).unwrap();
        let tbs = certificate.tbs_certificate.to_der().unwrap();
        let signature = DerSignature::try_from(certificate.signature.raw_bytes()).unwrap();
        key.verifying_key().verify(&tbs, &signature).unwrap();
        assert_eq!(certificate.tbs_certificate.subject.to_string(), ATTESTATION_SUBJECT);
        let spki = certificate.tbs_certificate.subject_public_key_info;
        assert_eq!(
            spki.subject_public_key.raw_bytes(),
            key.verifying_key().to_encoded_point(false).as_bytes()
        );
    }
}
