//! Prints real CTAP2 answers (status ‖ CBOR) of the testkit's virtual key, one `name hex` line
//! each, for the ctap2_answers seeds (fuzz/make_seeds.py composes the inputs). Deterministic: the
//! virtual key derives everything from its seed, and the host side here uses a fixed key.
//!
//! The credential is the Google U2F vector's (testdata/u2f-test-vectors.json), imported into the
//! key: the one the fuzz target's requests name, with the rpId = its appId.

use aa_virtual_key::{application_parameter, Presence, Protocols, VirtualKey};
use aes::Aes256;
use cbc::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use ciborium::Value;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};

const SEED: &[u8] = b"aa-logon ctap2_answers seeds";
/// The PIN of the fuzz target's scripted key, set on the virtual key too.
const PIN: &str = "pin-of-the-fuzzed-key";
const GET_ASSERTION: u8 = 0x02;
const GET_INFO: u8 = 0x04;
const CLIENT_PIN: u8 = 0x06;
const GET_NEXT_ASSERTION: u8 = 0x08;

fn main() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../testdata/u2f-test-vectors.json")).expect("vectors");
    let sign = &vectors["sign"];
    let text = |name: &str| sign[name].as_str().expect(name).to_owned();
    let app_id = text("app_id");
    let key_handle = hex(&text("key_handle"));
    let client_data_hash = hex(&text("challenge_parameter"));
    let private_key: [u8; 32] = hex(&text("user_private_key")).try_into().expect("32 bytes");

    // getInfo of the three kinds of key.
    emit("info_both", &VirtualKey::new(SEED).cbor(&[GET_INFO]));
    emit("info_ctap2_only", &VirtualKey::with_protocols(SEED, Protocols::Ctap2Only).cbor(&[GET_INFO]));
    let key = VirtualKey::new(SEED);
    key.set_presence(Presence::Always);
    key.set_pin(Some(PIN));
    key.set_uv(true, true);
    emit("info_pin_uv", &key.cbor(&[GET_INFO]));

    // getAssertion of the vector's credential: plain, silent (the probe's answer), with built-in UV.
    key.import_credential(application_parameter(&app_id), key_handle.clone(), private_key);
    let descriptor = |id: &[u8]| {
        text_map(vec![("id", Value::Bytes(id.to_vec())), ("type", Value::Text("public-key".into()))])
    };
    let assertion = |allow: Option<&[u8]>, options: Vec<(&str, Value)>| {
        let mut entries = vec![(1, Value::Text(app_id.clone())), (2, Value::Bytes(client_data_hash.clone()))];
        if let Some(id) = allow {
            entries.push((3, Value::Array(vec![descriptor(id)])));
        }
        if !options.is_empty() {
            entries.push((5, text_map(options)));
        }
        request(GET_ASSERTION, int_map(entries))
    };
    emit("assertion", &key.cbor(&assertion(Some(&key_handle), vec![])));
    emit("assertion_silent", &key.cbor(&assertion(Some(&key_handle), vec![("up", Value::Bool(false))])));
    emit("assertion_uv", &key.cbor(&assertion(Some(&key_handle), vec![("uv", Value::Bool(true))])));
    emit("assertion_no_credentials", &key.cbor(&assertion(Some(&[7; 64]), vec![])));

    // Discoverable credentials of two users: the first answer (numberOfCredentials 2), the next.
    let discoverable = VirtualKey::new(SEED);
    discoverable.set_presence(Presence::Always);
    discoverable.make_credential(&app_id, b"first user");
    discoverable.make_credential(&app_id, b"second user");
    emit("assertion_discoverable", &discoverable.cbor(&assertion(None, vec![])));
    emit("next_assertion", &discoverable.cbor(&[GET_NEXT_ASSERTION]));
    emit("next_assertion_none_left", &discoverable.cbor(&[GET_NEXT_ASSERTION]));

    // clientPIN: retries, key agreement, and a token by PIN (protocol 2 with permissions, 1 without).
    let client_pin = |entries: Vec<(i64, Value)>| key.cbor(&request(CLIENT_PIN, int_map(entries)));
    let sub = |protocol: u64, sub: u64| vec![(1, Value::from(protocol)), (2, Value::from(sub))];
    emit("pin_retries", &client_pin(sub(2, 0x01)));
    key.set_pin_retries(3);
    emit("pin_retries_3", &client_pin(sub(2, 0x01)));
    key.set_pin_retries(0);
    emit("pin_retries_blocked", &client_pin(sub(2, 0x01)));
    key.set_pin(Some(PIN));
    let platform = SecretKey::from_slice(&[0x42; 32]).expect("a P-256 scalar");
    for protocol in [2u64, 1] {
        let answer = client_pin(sub(protocol, 0x02));
        emit(&format!("key_agreement_p{protocol}"), &answer);
        let device = device_key(&answer);
        let shared = p256::ecdh::diffie_hellman(platform.to_nonzero_scalar(), device.as_affine());
        let aes_key = aes_key(protocol, shared.raw_secret_bytes());
        let token_request = |pin: &str| {
            let pin_hash = Sha256::digest(pin.as_bytes());
            let mut entries = sub(protocol, if protocol == 2 { 0x09 } else { 0x05 });
            entries.push((3, cose_key(&platform.public_key())));
            entries.push((6, Value::Bytes(encrypt(protocol, &aes_key, &pin_hash[..16]))));
            if protocol == 2 {
                entries.push((9, Value::from(0x02)));
                entries.push((0x0A, Value::Text(app_id.clone())));
            }
            entries
        };
        emit(&format!("pin_token_p{protocol}"), &client_pin(token_request(PIN)));
        emit(&format!("pin_token_p{protocol}_wrong_pin"), &client_pin(token_request("wrong pin")));
        key.set_pin(Some(PIN));
    }
}

fn emit(name: &str, answer: &[u8]) {
    println!("{name} {}", answer.iter().map(|b| format!("{b:02x}")).collect::<String>());
}

fn request(command: u8, parameters: Value) -> Vec<u8> {
    let mut out = vec![command];
    ciborium::into_writer(&parameters, &mut out).expect("CBOR into a Vec");
    out
}

fn int_map(entries: Vec<(i64, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
}

fn text_map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::Text(k.into()), v)).collect())
}

fn field(map: &Value, key: i64) -> &Value {
    let key = Value::from(key);
    map.as_map().and_then(|m| m.iter().find(|(k, _)| *k == key)).map(|(_, v)| v).expect("field")
}

/// The key-agreement key of a getKeyAgreement answer.
fn device_key(answer: &[u8]) -> PublicKey {
    assert_eq!(answer[0], 0, "getKeyAgreement failed");
    let value: Value = ciborium::from_reader(&answer[1..]).expect("CBOR");
    let cose = field(&value, 1);
    let coordinate = |key| field(cose, key).as_bytes().expect("coordinate").clone();
    PublicKey::from_sec1_bytes(&[vec![4], coordinate(-2), coordinate(-3)].concat()).expect("a point")
}

fn cose_key(public: &PublicKey) -> Value {
    let point = public.to_encoded_point(false);
    int_map(vec![
        (1, Value::from(2)),
        (3, Value::from(-25)),
        (-1, Value::from(1)),
        (-2, Value::Bytes(point.x().expect("x").to_vec())),
        (-3, Value::Bytes(point.y().expect("y").to_vec())),
    ])
}

fn aes_key(protocol: u64, z: &[u8]) -> [u8; 32] {
    if protocol == 1 {
        return Sha256::digest(z).into();
    }
    let mut key = [0; 32];
    hkdf::Hkdf::<Sha256>::new(Some(&[0; 32]), z).expand(b"CTAP2 AES key", &mut key).expect("32 bytes");
    key
}

fn encrypt(protocol: u64, key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let iv = [if protocol == 1 { 0 } else { 0x3c }; 16];
    let mut buffer = plaintext.to_vec();
    let length = buffer.len();
    cbc::Encryptor::<Aes256>::new(key.into(), &iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buffer, length)
        .expect("whole blocks");
    if protocol == 1 {
        buffer
    } else {
        [&iv[..], &buffer].concat()
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}
