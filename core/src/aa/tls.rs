//! Server certificate verification: the OS trust store, extra CAs trusted in addition, an optional
//! SubjectPublicKeyInfo pin on top, and the loudly named opt-out.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use super::config::TlsOptions;
use crate::{Error, ErrorKind, Result};

/// The rustls client configuration a client uses for every connection.
pub(crate) fn client_config(options: &TlsOptions) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = AaServerVerifier::new(options, provider.clone())?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Config, format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// CA certificates from the PEM file and PEM bytes of `options`.
fn extra_roots(options: &TlsOptions) -> Result<Vec<CertificateDer<'static>>> {
    let mut pems: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(path) = &options.extra_ca_pem_file {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::new(ErrorKind::Config, format!("cannot read CA file {}: {e}", path.display()))
        })?;
        pems.push((path.display().to_string(), bytes));
    }
    if let Some(bytes) = &options.extra_ca_pem {
        pems.push(("extra_ca_pem".to_owned(), bytes.clone()));
    }
    let mut roots = Vec::new();
    for (source, pem) in pems {
        let before = roots.len();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.push(cert.map_err(|e| {
                Error::new(ErrorKind::Config, format!("bad PEM certificate in {source}: {e}"))
            })?);
        }
        if roots.len() == before {
            return Err(Error::new(ErrorKind::Config, format!("no PEM certificate found in {source}")));
        }
    }
    Ok(roots)
}

/// The verifiers a chain is checked with: the OS store and a verifier for the extra CAs (when
/// there are any). Without an OS store the extra CAs alone are trusted; without either, it fails.
fn trust_anchors(
    roots: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<(Option<rustls_platform_verifier::Verifier>, Option<Arc<WebPkiServerVerifier>>)> {
    let extra = if roots.is_empty() {
        None
    } else {
        let mut store = RootCertStore::empty();
        for root in roots {
            store
                .add(root)
                .map_err(|e| Error::new(ErrorKind::Config, format!("unusable CA certificate: {e}")))?;
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, format!("unusable CA certificates: {e}")))?;
        Some(verifier)
    };
    let platform = match rustls_platform_verifier::Verifier::new(provider.clone()) {
        Ok(verifier) => Some(verifier),
        Err(e) if extra.is_some() => {
            log::warn!("OS trust store unavailable ({e}); trusting only the configured CA certificates");
            None
        }
        Err(e) => return Err(Error::new(ErrorKind::Tls, format!("OS trust store unavailable: {e}"))),
    };
    Ok((platform, extra))
}

/// SHA-256 of the certificate's DER SubjectPublicKeyInfo, the value a pin is compared with.
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32]> {
    let der = CertificateDer::from(cert_der);
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| Error::new(ErrorKind::Tls, format!("cannot parse server certificate: {e}")))?;
    Ok(Sha256::digest(cert.subject_public_key_info().as_ref()).into())
}

/// The verdict to report when both the OS store and the configured CAs refuse a chain. A verifier
/// that does not know the issuer says only that (`UnknownIssuer`); one that does know it found
/// the real fault (a name mismatch, an expired certificate, …), so that one wins: a certificate of
/// the configured CA for another host is reported as `NotValidForName`, not as an unknown issuer.
/// When both merely do not know the issuer, the OS store's verdict is kept.
fn more_telling(platform: Option<rustls::Error>, extra: Option<rustls::Error>) -> rustls::Error {
    fn unknown_issuer(e: &rustls::Error) -> bool {
        matches!(e, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer))
    }
    match (platform, extra) {
        (Some(platform), Some(extra)) if unknown_issuer(&platform) && !unknown_issuer(&extra) => extra,
        (Some(platform), _) => platform,
        (None, Some(extra)) => extra,
        (None, None) => rustls::Error::General("no trust anchors configured".into()),
    }
}

#[derive(Debug)]
struct AaServerVerifier {
    /// The OS store; `None` when it could not be loaded and extra CAs are configured.
    platform: Option<rustls_platform_verifier::Verifier>,
    /// The configured extra CAs, tried when the OS store does not vouch for the chain.
    extra: Option<Arc<WebPkiServerVerifier>>,
    pin: Option<[u8; 32]>,
    verify_chain: bool,
    provider: Arc<CryptoProvider>,
}

impl AaServerVerifier {
    fn new(options: &TlsOptions, provider: Arc<CryptoProvider>) -> Result<Self> {
        // Read even when verification is off, so a bad CA option is always reported.
        let roots = extra_roots(options)?;
        let verify_chain = !options.danger_disable_tls_verification;
        let (platform, extra) = if verify_chain {
            trust_anchors(roots, &provider)?
        } else {
            log::warn!(
                "TLS certificate verification is DISABLED (danger_disable_tls_verification): \
                 anyone on the network path can read and change this traffic"
            );
            (None, None)
        };
        Ok(AaServerVerifier { platform, extra, pin: options.pinned_spki_sha256, verify_chain, provider })
    }

    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<(), rustls::Error> {
        // The caller's own CA first: it is the deliberate choice, it is cheap, and it keeps the
        // platform verifier from logging an error for a certificate the extra CA accepts.
        let mut extra_error = None;
        if let Some(extra) = &self.extra {
            match extra.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
                Ok(_) => return Ok(()),
                Err(e) => extra_error = Some(e),
            }
        }
        let mut platform_error = None;
        if let Some(platform) = &self.platform {
            match platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
                Ok(_) => return Ok(()),
                Err(e) => platform_error = Some(e),
            }
        }
        Err(more_telling(platform_error, extra_error))
    }

    fn check_pin(&self, end_entity: &CertificateDer<'_>) -> std::result::Result<(), rustls::Error> {
        let Some(pin) = self.pin else { return Ok(()) };
        let actual = spki_sha256(end_entity).map_err(|e| rustls::Error::General(e.message().to_owned()))?;
        if actual == pin {
            Ok(())
        } else {
            log::warn!("server certificate public key does not match the configured pin");
            Err(rustls::Error::General(
                "server certificate public key does not match the pinned SHA-256".into(),
            ))
        }
    }
}

impl ServerCertVerifier for AaServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.verify_chain {
            self.verify_chain(end_entity, intermediates, server_name, ocsp_response, now)?;
        }
        self.check_pin(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    // Handshake signatures are always checked, even with chain verification off: it is what binds
    // the connection to the (possibly pinned) certificate key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_a_config_error() {
        let options =
            TlsOptions { extra_ca_pem_file: Some("/nonexistent/ca.pem".into()), ..TlsOptions::default() };
        let err = client_config(&options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn pem_without_certificates_is_a_config_error() {
        let options = TlsOptions { extra_ca_pem: Some(b"not a pem".to_vec()), ..TlsOptions::default() };
        assert_eq!(client_config(&options).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn garbage_certificate_cannot_be_pinned() {
        assert_eq!(spki_sha256(b"\x30\x03\x02\x01\x00").unwrap_err().kind(), ErrorKind::Tls);
    }

    #[test]
    fn the_verifier_that_knows_the_issuer_explains_the_refusal() {
        use rustls::CertificateError::{Expired, NotValidForName, UnknownIssuer};
        let cert = |e| Some(rustls::Error::InvalidCertificate(e));
        let name = rustls::Error::InvalidCertificate(NotValidForName);
        assert_eq!(more_telling(cert(UnknownIssuer), cert(NotValidForName)), name);
        assert_eq!(
            more_telling(cert(Expired), cert(UnknownIssuer)),
            rustls::Error::InvalidCertificate(Expired)
        );
        let unknown = rustls::Error::InvalidCertificate(UnknownIssuer);
        assert_eq!(more_telling(cert(UnknownIssuer), cert(UnknownIssuer)), unknown);
        assert_eq!(more_telling(None, cert(NotValidForName)), name);
        assert_eq!(more_telling(cert(UnknownIssuer), None), unknown);
    }

    #[test]
    fn disabled_verification_still_builds() {
        let options = TlsOptions { danger_disable_tls_verification: true, ..TlsOptions::default() };
        assert!(client_config(&options).is_ok());
    }
}
