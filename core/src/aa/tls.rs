//! Server certificate verification: the OS trust store, extra CAs trusted in addition, an optional
//! SubjectPublicKeyInfo pin on top, and the loudly named opt-out.

use std::sync::{Arc, OnceLock};

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
    let provider = crypto_provider();
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

/// The crypto provider of every client of the process (ring's defaults).
fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// The OS trust store's verifier, shared by every client of the process: building it parses
/// every system root certificate, which costs milliseconds. Loaded on first use; a failure is
/// not kept, so a later client tries again. System roots added while the process runs are seen
/// by the next process.
fn os_store_verifier() -> std::result::Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error> {
    static SHARED: OnceLock<Arc<rustls_platform_verifier::Verifier>> = OnceLock::new();
    if let Some(verifier) = SHARED.get() {
        return Ok(verifier.clone());
    }
    let verifier = Arc::new(rustls_platform_verifier::Verifier::new(crypto_provider())?);
    Ok(SHARED.get_or_init(|| verifier).clone())
}

/// The OS trust store of one client.
#[derive(Debug)]
enum OsStore {
    /// Chain verification is off.
    Unused,
    /// No extra CA is configured: every chain needs the store, so it was loaded with the client
    /// (a missing store fails the client's creation, as it always did).
    Loaded(Arc<rustls_platform_verifier::Verifier>),
    /// Extra CAs are configured and tried first: the store is loaded only when they refuse a
    /// chain, so a client of a server with its own CA never parses it. `None` inside: the store
    /// could not be loaded and the extra CAs alone are trusted.
    OnDemand(OnceLock<Option<Arc<rustls_platform_verifier::Verifier>>>),
}

impl OsStore {
    fn new(has_extra: bool) -> Result<OsStore> {
        if has_extra {
            return Ok(OsStore::OnDemand(OnceLock::new()));
        }
        os_store_verifier()
            .map(OsStore::Loaded)
            .map_err(|e| Error::new(ErrorKind::Tls, format!("OS trust store unavailable: {e}")))
    }

    fn verifier(&self) -> Option<&rustls_platform_verifier::Verifier> {
        match self {
            OsStore::Unused => None,
            OsStore::Loaded(verifier) => Some(verifier),
            OsStore::OnDemand(cell) => cell
                .get_or_init(|| match os_store_verifier() {
                    Ok(verifier) => Some(verifier),
                    Err(e) => {
                        log::warn!(
                            "OS trust store unavailable ({e}); trusting only the configured CA certificates"
                        );
                        None
                    }
                })
                .as_deref(),
        }
    }
}

/// A verifier for the extra CAs, when there are any.
fn extra_verifier(
    roots: Vec<CertificateDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<WebPkiServerVerifier>>> {
    if roots.is_empty() {
        return Ok(None);
    }
    let mut store = RootCertStore::empty();
    for root in roots {
        store
            .add(root)
            .map_err(|e| Error::new(ErrorKind::Config, format!("unusable CA certificate: {e}")))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| Error::new(ErrorKind::Config, format!("unusable CA certificates: {e}")))?;
    Ok(Some(verifier))
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
    /// The OS store, tried when the extra CAs do not vouch for the chain.
    platform: OsStore,
    /// The configured extra CAs, tried first.
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
            let extra = extra_verifier(roots, &provider)?;
            (OsStore::new(extra.is_some())?, extra)
        } else {
            log::warn!(
                "TLS certificate verification is DISABLED (danger_disable_tls_verification): \
                 anyone on the network path can read and change this traffic"
            );
            (OsStore::Unused, None)
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
        if let Some(platform) = self.platform.verifier() {
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

    /// A self-signed CA certificate (no key kept) for building verifiers.
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBpzCCAU2gAwIBAgIUGIDij7EslqcI7eLa3zGzzYGkR8owCgYIKoZIzj0EAwIw\nIDEeMBwGA1UEAwwVYWEtbG9nb24gdW5pdC10ZXN0IENBMCAXDTI2MTIwMTIyNTEz\nN1oYDzIxMjYxMTA3MjI1MTM3WjAgMR4wHAYDVQQDDBVhYS1sb2dvbiB1bml0LXRl\nc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARvTAQfY412cGgzTEAAhhKd\n3LTGJtWafL2kCHXm6tsKWTa18opfYV09LBxtxv1rg7mfE3gYrvOLOHJpZnOjQJuR\no2MwYTAdBgNVHQ4EFgQUUcpGSm7ab8dc02rBYQWL6QZcTYowHwYDVR0jBBgwFoAU\nUcpGSm7ab8dc02rBYQWL6QZcTYowDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E\nBAMCAgQwCgYIKoZIzj0EAwIDSAAwRQIgfUZqGdLr10ZHhOUXhFX3IESQOFn4nwok\nA0fg6RVmhJ4CIQCfFC3g0/WMCsqcPWm+jD8CGCQTmK4TpWbzgJw0PJ/zzg==\n-----END CERTIFICATE-----";

    #[test]
    fn with_an_extra_ca_the_os_store_waits_until_a_chain_needs_it() {
        let options = TlsOptions { extra_ca_pem: Some(TEST_CA.into()), ..TlsOptions::default() };
        let verifier = AaServerVerifier::new(&options, crypto_provider()).unwrap();
        assert!(matches!(&verifier.platform, OsStore::OnDemand(cell) if cell.get().is_none()));
        let pinned = TlsOptions { pinned_spki_sha256: Some([7; 32]), ..options };
        let verifier = AaServerVerifier::new(&pinned, crypto_provider()).unwrap();
        assert!(matches!(&verifier.platform, OsStore::OnDemand(cell) if cell.get().is_none()));
    }

    #[test]
    fn the_os_store_is_parsed_once_per_process() {
        let (Ok(first), Ok(second)) = (os_store_verifier(), os_store_verifier()) else {
            eprintln!("SKIPPED: no system root certificates on this machine, nothing to share");
            return;
        };
        assert!(Arc::ptr_eq(&first, &second));
        let verifier = AaServerVerifier::new(&TlsOptions::default(), crypto_provider()).unwrap();
        assert!(matches!(&verifier.platform, OsStore::Loaded(shared) if Arc::ptr_eq(shared, &first)));
    }

    #[test]
    fn disabled_verification_still_builds() {
        let options = TlsOptions { danger_disable_tls_verification: true, ..TlsOptions::default() };
        assert!(client_config(&options).is_ok());
    }
}
