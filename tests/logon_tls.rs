//! HTTPS verification: the simulator's CA, no CA, SPKI pins, the opt-out; and Debug without secrets.

mod logon_support;

use aa_logon::aa::spki_sha256;
use aa_logon::{Client, ClientConfig, ErrorKind, Secret, TlsOptions};
use aa_sim::demo;
use logon_support::{ca_pem, config, server_certificate, simulator};

#[test]
fn the_simulator_ca_is_trusted_when_configured() {
    let sim = simulator();
    assert!(Client::new(config(&sim)).unwrap().endpoint_session_id().is_ok());
}

#[test]
fn the_ca_can_come_from_a_file() {
    let sim = simulator();
    let path = std::env::temp_dir().join(format!("aa-logon-test-ca-{}.pem", std::process::id()));
    std::fs::write(&path, ca_pem(&sim)).unwrap();
    let mut config = config(&sim);
    config.tls = TlsOptions { extra_ca_pem_file: Some(path.clone()), ..TlsOptions::default() };
    let result = Client::new(config).unwrap().endpoint_session_id();
    std::fs::remove_file(&path).unwrap();
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn without_the_ca_the_server_is_refused() {
    let sim = simulator();
    let config = ClientConfig::new(sim.base_url(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    let e = Client::new(config).and_then(|client| client.endpoint_session_id()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
fn a_matching_pin_is_accepted_and_a_wrong_one_refused() {
    let sim = simulator();
    let pin = spki_sha256(&server_certificate(&sim)).unwrap();
    let mut pinned = config(&sim);
    pinned.tls.pinned_spki_sha256 = Some(pin);
    assert!(Client::new(pinned).unwrap().endpoint_session_id().is_ok());

    let mut wrong = config(&sim);
    let mut other = pin;
    other[0] ^= 1;
    wrong.tls.pinned_spki_sha256 = Some(other);
    let e = Client::new(wrong).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
fn the_pin_still_counts_with_verification_disabled() {
    let sim = simulator();
    let base = ClientConfig::new(sim.base_url(), demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    let mut unverified = base.clone();
    unverified.tls.danger_disable_tls_verification = true;
    assert!(Client::new(unverified.clone()).unwrap().endpoint_session_id().is_ok());
    unverified.tls.pinned_spki_sha256 = Some([7; 32]);
    let e = Client::new(unverified).unwrap().endpoint_session_id().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
fn debug_of_a_config_shows_no_secret() {
    let config =
        ClientConfig::new("https://aa.example", demo::ENDPOINT_ID, Secret::from(demo::ENDPOINT_SECRET));
    let shown = format!("{config:?}");
    assert!(!shown.contains(demo::ENDPOINT_SECRET), "{shown}");
    assert!(shown.contains(demo::ENDPOINT_ID));
}
