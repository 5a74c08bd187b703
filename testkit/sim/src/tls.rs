//! TLS for the simulator: a CA and a server certificate generated at start (rcgen), or PEM files
//! given by the caller; served with rustls on the `ring` provider.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The TLS acceptor and, when generated, the CA certificate clients must trust.
pub struct TlsMaterial {
    pub acceptor: TlsAcceptor,
    pub ca_pem: Option<String>,
}

fn invalid(context: &str, error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{context}: {error}"))
}

/// A fresh CA ("aa-sim test CA") and a server certificate for localhost, aa-sim.local,
/// 127.0.0.1, ::1 and the listening address.
pub fn generated(listen_ip: IpAddr) -> io::Result<TlsMaterial> {
    let mut names =
        vec!["localhost".to_owned(), "aa-sim.local".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !listen_ip.is_unspecified() && !names.contains(&listen_ip.to_string()) {
        names.push(listen_ip.to_string());
    }
    generated_for(names)
}

/// A fresh CA and a server certificate for exactly `names` (DNS names or IP addresses).
pub fn generated_for(names: Vec<String>) -> io::Result<TlsMaterial> {
    let rcgen_error =
        |error: rcgen::Error| io::Error::other(format!("certificate generation failed: {error}"));
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    ca_params.distinguished_name.push(DnType::CommonName, "aa-sim test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(rcgen_error)?)
        .map_err(rcgen_error)?;

    let mut server_params = CertificateParams::new(names).map_err(rcgen_error)?;
    server_params.distinguished_name.push(DnType::CommonName, "aa-sim");
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.use_authority_key_identifier_extension = true;
    let server_key = KeyPair::generate().map_err(rcgen_error)?;
    let server_cert = server_params.signed_by(&server_key, &ca).map_err(rcgen_error)?;

    let chain = vec![server_cert.der().clone(), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Ok(TlsMaterial { acceptor: acceptor(chain, key)?, ca_pem: Some(ca.pem()) })
}

/// The caller's certificate chain and private key, both PEM.
pub fn from_pem(cert_pem: &str, key_pem: &str) -> io::Result<TlsMaterial> {
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid("certificate PEM", error))?;
    if chain.is_empty() {
        return Err(invalid("certificate PEM", "no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|error| invalid("private key PEM", error))?;
    Ok(TlsMaterial { acceptor: acceptor(chain, key)?, ca_pem: None })
}

fn acceptor(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> io::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid("TLS configuration", error))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| invalid("TLS certificate/key", error))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
