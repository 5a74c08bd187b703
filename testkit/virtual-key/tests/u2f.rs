//! U2F raw messages: every status word and control byte, with real ECDSA verification.

mod common;

use std::time::{Duration, Instant};

use aa_virtual_key::{application_parameter, Presence, VirtualKey};
use common::*;

const APP_ID: &str = "https://aa.example.com";
const CHALLENGE: [u8; 32] = [0x5C; 32];

fn app() -> [u8; 32] {
    application_parameter(APP_ID)
}

#[test]
fn version_in_every_form_hosts_send() {
    let key = VirtualKey::new(b"u2f");
    for request in [&[0, 3, 0, 0, 0, 0, 0][..], &[0, 3, 0, 0, 0, 0, 0, 0, 0][..], &[0, 3, 0, 0][..]] {
        assert_eq!(key.apdu(request), b"U2F_V2\x90\x00", "{request:02x?}");
    }
    assert_eq!(key.apdu(&extended_apdu(0x03, 0, &[1])), [0x67, 0x00], "VERSION takes no data");
}

#[test]
fn malformed_requests_get_their_status_words() {
    let key = VirtualKey::new(b"u2f");
    assert_eq!(key.apdu(&[0x80, 3, 0, 0, 0, 0, 0]), [0x6E, 0x00], "class");
    assert_eq!(key.apdu(&[0, 0x44, 0, 0, 0, 0, 0]), [0x6D, 0x00], "instruction");
    assert_eq!(key.apdu(&[0, 3, 0]), [0x67, 0x00], "truncated header");
    assert_eq!(key.apdu(&[0, 3, 0, 0, 0]), [0x67, 0x00], "short (NFC) Le");
    let mut wrong_lc = authenticate_apdu(0x07, &CHALLENGE, &app(), &[1; 64]);
    wrong_lc[6] += 1;
    assert_eq!(key.apdu(&wrong_lc), [0x67, 0x00], "Lc disagrees with the data");
    assert_eq!(key.apdu(&extended_apdu(0x01, 0, &[0; 63])), [0x67, 0x00], "REGISTER needs 64 bytes");
}

#[test]
fn authenticate_control_bytes() {
    let key = VirtualKey::new(b"u2f");
    let enrollment = key.enrollment(APP_ID);
    let handle = &enrollment.key_handle;

    // 0x07 check-only: 6985 means "mine", never signs.
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), handle)), [0x69, 0x85]);
    assert_eq!(key.counter(), 0);

    // 0x03 enforce presence: UP=1 ‖ counter ‖ signature over app ‖ flags ‖ counter ‖ challenge.
    let response = key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), handle));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    assert_eq!(&data[..5], &[0x01, 0, 0, 0, 1]);
    verify(&enrollment.public_key, &signed_assertion(&app(), 0x01, 1, &CHALLENGE), &data[5..]);

    // 0x08 don't enforce: UP=0, still signed and counted.
    let response = key.apdu(&authenticate_apdu(0x08, &CHALLENGE, &app(), handle));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    assert_eq!(&data[..5], &[0x00, 0, 0, 0, 2]);
    verify(&enrollment.public_key, &signed_assertion(&app(), 0x00, 2, &CHALLENGE), &data[5..]);

    // Unknown control byte.
    assert_eq!(key.apdu(&authenticate_apdu(0x05, &CHALLENGE, &app(), handle)), [0x6A, 0x80]);
    assert_eq!(key.counter(), 2);
}

#[test]
fn handles_bind_key_and_application() {
    let key = VirtualKey::new(b"u2f");
    let handle = key.enrollment(APP_ID).key_handle;
    let other_app = application_parameter("https://other.example.com");
    let foreign = VirtualKey::new(b"someone else").enrollment(APP_ID).key_handle;
    for control in [0x07, 0x03, 0x08] {
        assert_eq!(key.apdu(&authenticate_apdu(control, &CHALLENGE, &other_app, &handle)), [0x6A, 0x80]);
        assert_eq!(key.apdu(&authenticate_apdu(control, &CHALLENGE, &app(), &foreign)), [0x6A, 0x80]);
    }
    let mut tampered = handle.clone();
    tampered[40] ^= 1;
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &tampered)), [0x6A, 0x80]);
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &handle[..10])), [0x6A, 0x80]);
    assert_eq!(key.counter(), 0);
}

#[test]
fn authenticate_length_errors() {
    let key = VirtualKey::new(b"u2f");
    let handle = key.enrollment(APP_ID).key_handle;
    let mut data = [&CHALLENGE[..], &app()[..], &[64], &handle[..]].concat();
    data.pop(); // L says 64, 63 follow
    assert_eq!(key.apdu(&extended_apdu(0x02, 0x03, &data)), [0x67, 0x00]);
    assert_eq!(
        key.apdu(&extended_apdu(0x02, 0x03, &[&CHALLENGE[..], &app()[..], &[0]].concat())),
        [0x67, 0x00]
    );
    assert_eq!(key.apdu(&extended_apdu(0x02, 0x03, &CHALLENGE)), [0x67, 0x00]);
}

#[test]
fn register_returns_a_credential_signed_by_the_attestation_key() {
    let key = VirtualKey::new(b"u2f");
    let response = key.apdu(&register_apdu(&CHALLENGE, &app()));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    let registration = parse_registration(data);
    assert_eq!(registration.public_key[0], 0x04);
    assert_eq!(registration.key_handle.len(), 64);

    let attestation_public = certificate_public_key(registration.certificate);
    assert_eq!(
        attestation_public,
        key.material().attestation_key().verifying_key().to_encoded_point(false).as_bytes()
    );
    let signed = [&[0x00][..], &app(), &CHALLENGE, registration.key_handle, registration.public_key].concat();
    verify(&attestation_public, &signed, registration.signature);

    // The new credential works, and a second registration makes a different one.
    let response = key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), registration.key_handle));
    let (assertion, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    verify(registration.public_key, &signed_assertion(&app(), 1, 1, &CHALLENGE), &assertion[5..]);
    let again = key.apdu(&register_apdu(&CHALLENGE, &app()));
    assert_ne!(parse_registration(split_status(&again).0).key_handle, registration.key_handle);
}

#[test]
fn register_needs_presence() {
    let key = VirtualKey::new(b"u2f");
    key.set_presence(Presence::Never);
    assert_eq!(key.apdu(&register_apdu(&CHALLENGE, &app())), [0x69, 0x85]);
    key.set_presence(Presence::OnDemand);
    assert_eq!(key.apdu(&register_apdu(&CHALLENGE, &app())), [0x69, 0x85]);
    key.touch();
    assert_eq!(split_status(&key.apdu(&register_apdu(&CHALLENGE, &app()))).1, 0x9000);
}

#[test]
fn the_counter_rises_by_one_per_signature_only() {
    let key = VirtualKey::new(b"u2f");
    let enrollment = key.enrollment(APP_ID);
    key.set_presence(Presence::OnDemand);
    let mut last = 0;
    for round in 0..5u32 {
        assert_eq!(
            key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &enrollment.key_handle)),
            [0x69, 0x85]
        );
        assert_eq!(
            key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), &enrollment.key_handle)),
            [0x69, 0x85]
        );
        // Alternate touched 0x03 and silent 0x08 signatures; 0x08 leaves no touch behind.
        let control = if round % 2 == 0 { 0x03 } else { 0x08 };
        if control == 0x03 {
            key.touch();
        }
        let response = key.apdu(&authenticate_apdu(control, &CHALLENGE, &app(), &enrollment.key_handle));
        let counter = u32::from_be_bytes(response[1..5].try_into().unwrap());
        assert_eq!(counter, last + 1);
        assert_eq!(key.counter(), counter);
        last = counter;
    }
}

#[test]
fn the_same_seed_gives_the_same_key() {
    let a = VirtualKey::new(b"seed");
    let b = VirtualKey::new(b"seed");
    let c = VirtualKey::new(b"other seed");
    assert_eq!(a.enrollment(APP_ID), b.enrollment(APP_ID));
    assert_ne!(a.enrollment(APP_ID), c.enrollment(APP_ID));
    assert_eq!(a.enrollment(APP_ID), a.material().enrollment(APP_ID));
    // Deterministic ECDSA (RFC 6979): even the bytes of registrations and signatures repeat.
    assert_eq!(a.apdu(&register_apdu(&CHALLENGE, &app())), b.apdu(&register_apdu(&CHALLENGE, &app())));
    let handle = a.enrollment(APP_ID).key_handle;
    let request = authenticate_apdu(0x03, &CHALLENGE, &app(), &handle);
    assert_eq!(a.apdu(&request), b.apdu(&request));
    assert_eq!(c.apdu(&request), [0x6A, 0x80]);
}

#[test]
fn presence_never_refuses_enforced_signing_but_not_silent_signing() {
    let key = VirtualKey::new(b"u2f");
    let handle = key.enrollment(APP_ID).key_handle;
    key.set_presence(Presence::Never);
    key.touch();
    for _ in 0..3 {
        assert_eq!(key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), &handle)), [0x69, 0x85]);
    }
    assert_eq!(split_status(&key.apdu(&authenticate_apdu(0x08, &CHALLENGE, &app(), &handle))).1, 0x9000);
    key.set_presence(Presence::Always);
    for _ in 0..3 {
        assert_eq!(split_status(&key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), &handle))).1, 0x9000);
    }
}

#[test]
fn presence_after_delay_arrives_once_per_wait() {
    let key = VirtualKey::new(b"u2f");
    let handle = key.enrollment(APP_ID).key_handle;
    let delay = Duration::from_millis(300);
    key.set_presence(Presence::AfterDelay(delay));
    let request = authenticate_apdu(0x03, &CHALLENGE, &app(), &handle);
    let started = Instant::now();
    let mut polls = 0;
    let response = loop {
        let response = key.apdu(&request);
        if response != [0x69, 0x85] {
            break response;
        }
        polls += 1;
        assert!(started.elapsed() < Duration::from_secs(10), "presence never came");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(started.elapsed() >= delay);
    assert!(polls >= 2, "the host had to poll");
    assert_eq!(response[0], 0x01);
    assert_eq!(key.apdu(&request), [0x69, 0x85], "consumed by one signature");
}

#[test]
fn presence_on_demand_grants_one_signature_per_touch() {
    let key = VirtualKey::new(b"u2f");
    let handle = key.enrollment(APP_ID).key_handle;
    key.set_presence(Presence::OnDemand);
    let request = authenticate_apdu(0x03, &CHALLENGE, &app(), &handle);
    assert_eq!(key.apdu(&request), [0x69, 0x85]);
    key.touch();
    // Check-only does not use up the touch.
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &handle)), [0x69, 0x85]);
    assert_eq!(split_status(&key.apdu(&request)).1, 0x9000);
    assert_eq!(key.apdu(&request), [0x69, 0x85]);
}

#[test]
fn imported_credentials_sign_with_their_key_and_bad_scalars_are_refused() {
    let key = VirtualKey::new(b"u2f");
    let private = [0x42; 32];
    let public =
        p256::ecdsa::SigningKey::from_slice(&private).unwrap().verifying_key().to_encoded_point(false);
    key.import_credential(app(), vec![7; 20], private);
    let response = key.apdu(&authenticate_apdu(0x03, &CHALLENGE, &app(), &[7; 20]));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    verify(public.as_bytes(), &signed_assertion(&app(), 1, 1, &CHALLENGE), &data[5..]);
    // Bound to its application parameter like any handle.
    let other = application_parameter("https://other.example.com");
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &other, &[7; 20])), [0x6A, 0x80]);

    key.import_credential(app(), vec![8; 20], [0; 32]);
    key.import_credential(app(), vec![9; 20], [0xFF; 32]);
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &[8; 20])), [0x6A, 0x80]);
    assert_eq!(key.apdu(&authenticate_apdu(0x07, &CHALLENGE, &app(), &[9; 20])), [0x6A, 0x80]);
}

#[test]
fn authenticate_over_hid_with_polling_for_a_touch() {
    let key = VirtualKey::new(b"u2f");
    let enrollment = key.enrollment(APP_ID);
    key.set_presence(Presence::OnDemand);
    let cid = allocate(&key);
    let request = authenticate_apdu(0x03, &CHALLENGE, &app(), &enrollment.key_handle);
    assert_eq!(transact(&key, cid, MSG, &request), (MSG, vec![0x69, 0x85]));
    key.touch();
    let (cmd, response) = transact(&key, cid, MSG, &request);
    assert_eq!(cmd, MSG);
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    assert_eq!(&data[..5], &[1, 0, 0, 0, 1]);
    verify(&enrollment.public_key, &signed_assertion(&app(), 1, 1, &CHALLENGE), &data[5..]);
}

#[test]
fn register_over_hid_spans_several_packets() {
    let key = VirtualKey::new(b"u2f");
    let cid = allocate(&key);
    let (cmd, response) = transact(&key, cid, MSG, &register_apdu(&CHALLENGE, &app()));
    assert_eq!(cmd, MSG);
    assert!(response.len() > 57 + 59, "a multi-packet answer");
    assert_eq!(response, VirtualKey::new(b"u2f").apdu(&register_apdu(&CHALLENGE, &app())));
}
