//! The FIDO U2F Raw Message Formats example vectors (google/u2f-ref-code), where a software key can
//! reproduce them: APDU bytes, packet split, response layout and signed-bytes layout.

mod common;

use aa_virtual_key::{application_parameter, ctaphid, VirtualKey};
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const VECTORS: &str = include_str!("../../../testdata/u2f-test-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn field(section: &Value, name: &str) -> Vec<u8> {
    hex(section[name].as_str().unwrap_or_else(|| panic!("{name} missing")))
}

fn param(section: &Value, name: &str) -> [u8; 32] {
    field(section, name).try_into().unwrap()
}

/// A fresh key that owns the sign vector's handle with the vector's private key.
fn key_with_sign_vector_credential(sign: &Value) -> VirtualKey {
    let key = VirtualKey::new(b"google vectors");
    key.import_credential(
        param(sign, "application_parameter"),
        field(sign, "key_handle"),
        param(sign, "user_private_key"),
    );
    key
}

#[test]
fn the_parameters_are_the_hashes_the_vector_states() {
    let v = vectors();
    let sign = &v["sign"];
    assert_eq!(application_parameter(sign["app_id"].as_str().unwrap()), param(sign, "application_parameter"));
    let challenge: [u8; 32] = Sha256::digest(sign["client_data"].as_str().unwrap().as_bytes()).into();
    assert_eq!(challenge, param(sign, "challenge_parameter"));
}

#[test]
fn the_extended_apdu_is_the_vectors_request_data_in_extended_form() {
    let v = vectors();
    let sign = &v["sign"];
    let request_data = field(sign, "request_data_with_control_byte_prefix");
    let (control, data) = request_data.split_first().unwrap();
    assert_eq!(
        authenticate_apdu(
            *control,
            &data[..32].try_into().unwrap(),
            &data[32..64].try_into().unwrap(),
            &data[65..]
        ),
        field(sign, "derived_extended_apdu")
    );
}

#[test]
fn the_packet_split_matches_the_vector() {
    let v = vectors();
    let sign = &v["sign"];
    let expected: Vec<Vec<u8>> = sign["derived_ctaphid_packets_cid_01020304"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| hex(p.as_str().unwrap()))
        .collect();
    let apdu = field(sign, "derived_extended_apdu");
    let ours: Vec<Vec<u8>> = ctaphid::frames(0x0102_0304, 0x03, &apdu).iter().map(|r| r.to_vec()).collect();
    assert_eq!(ours, expected);
    assert_eq!(packets(0x0102_0304, MSG, &apdu).iter().map(|r| r.to_vec()).collect::<Vec<_>>(), expected);
}

/// The vector's packets, moved onto a channel the key allocated (CID 01020304 cannot be chosen).
fn vector_packets_on(sign: &Value, cid: u32, cmd: u8) -> Vec<[u8; 64]> {
    sign["derived_ctaphid_packets_cid_01020304"]
        .as_array()
        .unwrap()
        .iter()
        .map(|packet| {
            let mut report: [u8; 64] = hex(packet.as_str().unwrap()).try_into().unwrap();
            assert_eq!(&report[..4], &[1, 2, 3, 4]);
            report[..4].copy_from_slice(&cid.to_be_bytes());
            if report[4] & 0x80 != 0 {
                report[4] = cmd;
            }
            report
        })
        .collect()
}

#[test]
fn the_key_reassembles_the_exact_apdu_from_the_vector_packets() {
    let v = vectors();
    let sign = &v["sign"];
    let key = VirtualKey::new(b"google vectors");
    let cid = allocate(&key);
    // Sent as PING, the key echoes exactly the bytes it reassembled.
    for packet in vector_packets_on(sign, cid, PING) {
        key.write_report(&packet).unwrap();
    }
    assert_eq!(receive(&key), (cid, PING, field(sign, "derived_extended_apdu")));
}

#[test]
fn authenticate_from_the_vector_packets_signs_the_vectors_signed_bytes() {
    let v = vectors();
    let sign = &v["sign"];
    let key = key_with_sign_vector_credential(sign);
    let cid = allocate(&key);
    for packet in vector_packets_on(sign, cid, MSG) {
        key.write_report(&packet).unwrap();
    }
    let (answer_cid, cmd, response) = receive(&key);
    assert_eq!((answer_cid, cmd), (cid, MSG));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);

    // Same layout as the vector's response: UP=1 ‖ counter 1 ‖ DER signature (ours differs: ECDSA
    // nonces differ, so compare by verification).
    let expected = field(sign, "response_data");
    assert_eq!(&data[..5], &expected[..5]);
    let signed = signed_assertion(
        &param(sign, "application_parameter"),
        data[0],
        1,
        &param(sign, "challenge_parameter"),
    );
    assert_eq!(signed, field(sign, "signed_bytes"));
    verify(&field(sign, "user_public_key"), &signed, &data[5..]);
    // The vector's own signature verifies the same way, so the layout is the published one.
    verify(&field(sign, "user_public_key"), &signed, &field(sign, "signature"));
    assert_eq!(&expected[5..], field(sign, "signature"));
}

#[test]
fn check_only_recognises_the_imported_vector_handle() {
    let v = vectors();
    let sign = &v["sign"];
    let key = key_with_sign_vector_credential(sign);
    let mut apdu = field(sign, "derived_extended_apdu");
    apdu[2] = 0x07;
    assert_eq!(key.apdu(&apdu), [0x69, 0x85]);
    let bare = VirtualKey::new(b"google vectors");
    assert_eq!(bare.apdu(&apdu), [0x6A, 0x80]);
}

#[test]
fn registration_uses_the_vectors_response_and_signed_bytes_layouts() {
    let v = vectors();
    let register = &v["register"];
    let app = param(register, "application_parameter");
    let challenge = param(register, "challenge_parameter");
    assert_eq!(field(register, "request_data"), [&challenge[..], &app[..]].concat());

    // Our parser reads the published response and its signature verifies over the published layout.
    let published = field(register, "response_data");
    let theirs = parse_registration(&published);
    assert_eq!(theirs.certificate, field(register, "attestation_certificate"));
    let their_signed = [&[0x00][..], &app, &challenge, theirs.key_handle, theirs.public_key].concat();
    assert_eq!(their_signed, field(register, "signed_bytes"));
    verify(&certificate_public_key(theirs.certificate), &their_signed, theirs.signature);

    // The virtual key's answer to the same request has the same shape and verifies the same way.
    let key = VirtualKey::new(b"google vectors");
    let response = key.apdu(&register_apdu(&challenge, &app));
    let (data, status) = split_status(&response);
    assert_eq!(status, 0x9000);
    let ours = parse_registration(data);
    assert_eq!(ours.key_handle.len(), theirs.key_handle.len());
    let our_signed = [&[0x00][..], &app, &challenge, ours.key_handle, ours.public_key].concat();
    assert_eq!(our_signed.len(), their_signed.len());
    verify(&certificate_public_key(ours.certificate), &our_signed, ours.signature);
}

#[test]
fn the_discretix_signature_verifies_with_the_same_layout() {
    let v = vectors();
    let set = &v["discretix_set"];
    let data = field(set, "sign_data");
    let app = application_parameter(set["signed_over_app_id"].as_str().unwrap());
    let challenge: [u8; 32] =
        Sha256::digest(set["signed_over_client_data"].as_str().unwrap().as_bytes()).into();
    let counter = u32::from_be_bytes(data[1..5].try_into().unwrap());
    assert_eq!(counter, 34);
    verify(&field(set, "user_public_key"), &signed_assertion(&app, data[0], counter, &challenge), &data[5..]);
}
