//! CTAP2 over CTAPHID: CBOR requests and answers through real 64-byte reports, checked by a small
//! host written here (its own framing, CBOR building and PIN/UV auth protocol code), and the host's
//! PIN protocol 1 checked against the published CTAP2 example (testdata/ctap2-vectors.json).

mod common;

use std::time::Duration;

use aa_virtual_key::ctap2_status as status;
use aa_virtual_key::{application_parameter, Fault, Presence, Protocols, VirtualKey, AAGUID};
use aes::Aes256;
use cbc::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use ciborium::value::{Integer, Value};
use common::*;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::{EncodedPoint, PublicKey, SecretKey};
use sha2::{Digest, Sha256};

const RP_ID: &str = "aa-sim.local";
const GET_INFO: u8 = 0x04;
const GET_ASSERTION: u8 = 0x02;
const MAKE_CREDENTIAL: u8 = 0x01;
const CLIENT_PIN: u8 = 0x06;
const GET_NEXT_ASSERTION: u8 = 0x08;
const KEEPALIVE_PROCESSING: u8 = 0x01;
const KEEPALIVE_UPNEEDED: u8 = 0x02;

// ---------------------------------------------------------------------------------------------
// CBOR building and reading

fn int(value: i64) -> Value {
    Value::Integer(Integer::from(value))
}

fn text(value: &str) -> Value {
    Value::Text(value.into())
}

fn bytes(value: &[u8]) -> Value {
    Value::Bytes(value.to_vec())
}

/// A request map with integer keys in ascending order (canonical for small keys).
fn request(command: u8, entries: Vec<(i64, Value)>) -> Vec<u8> {
    let mut out = vec![command];
    if !entries.is_empty() {
        let map = Value::Map(entries.into_iter().map(|(k, v)| (int(k), v)).collect());
        ciborium::ser::into_writer(&map, &mut out).unwrap();
    }
    out
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

/// Decodes an answer's CBOR and checks it is CTAP2 canonical: re-encoding gives the same bytes
/// (definite, shortest lengths) and every map's keys are sorted by encoded length, then bytes.
fn decode_canonical(cbor: &[u8]) -> Value {
    let value: Value = ciborium::de::from_reader(cbor).expect("the answer is CBOR");
    assert_eq!(encode(&value), cbor, "shortest definite encodings");
    fn sorted(value: &Value) {
        match value {
            Value::Map(entries) => {
                let keys: Vec<Vec<u8>> = entries.iter().map(|(k, _)| encode(k)).collect();
                let mut expected = keys.clone();
                expected.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
                assert_eq!(keys, expected, "canonical map key order");
                entries.iter().for_each(|(k, v)| {
                    sorted(k);
                    sorted(v);
                });
            }
            Value::Array(items) => items.iter().for_each(sorted),
            _ => {}
        }
    }
    sorted(&value);
    value
}

fn get(map: &Value, key: i64) -> &Value {
    try_get(map, key).unwrap_or_else(|| panic!("key {key} in {map:?}"))
}

fn try_get(map: &Value, key: i64) -> Option<&Value> {
    map.as_map().unwrap().iter().find(|(k, _)| *k == int(key)).map(|(_, v)| v)
}

fn field<'a>(map: &'a Value, name: &str) -> Option<&'a Value> {
    map.as_map().unwrap().iter().find(|(k, _)| k.as_text() == Some(name)).map(|(_, v)| v)
}

fn as_bytes(value: &Value) -> Vec<u8> {
    value.as_bytes().expect("a byte string").clone()
}

fn as_int(value: &Value) -> i128 {
    i128::from(value.as_integer().expect("an integer"))
}

// ---------------------------------------------------------------------------------------------
// CTAPHID_CBOR exchanges

/// What came back for one CBOR request: the KEEPALIVE statuses seen, then the status byte and
/// the decoded map (if any).
struct Answer {
    keepalives: Vec<u8>,
    status: u8,
    body: Option<Value>,
}

impl Answer {
    fn ok(self) -> Value {
        assert_eq!(self.status, status::OK, "CTAP2 status");
        self.body.expect("a CBOR map")
    }
}

/// Reads messages on `cid` until the CBOR answer, collecting KEEPALIVE statuses.
fn receive_cbor(key: &VirtualKey, cid: u32) -> Answer {
    let mut keepalives = Vec::new();
    loop {
        let (answer_cid, cmd, payload) = receive(key);
        assert_eq!(answer_cid, cid);
        match cmd {
            KEEPALIVE => {
                assert_eq!(payload.len(), 1);
                keepalives.push(payload[0]);
            }
            CBOR => {
                let (status, rest) = payload.split_first().expect("a status byte");
                let body = (!rest.is_empty()).then(|| decode_canonical(rest));
                return Answer { keepalives, status: *status, body };
            }
            other => panic!("unexpected command {other:#x}: {payload:02x?}"),
        }
    }
}

fn cbor(key: &VirtualKey, cid: u32, request: &[u8]) -> Answer {
    send(key, cid, CBOR, request);
    receive_cbor(key, cid)
}

fn get_info(key: &VirtualKey, cid: u32) -> Value {
    cbor(key, cid, &[GET_INFO]).ok()
}

fn client_data_hash(tag: &str) -> [u8; 32] {
    Sha256::digest(tag.as_bytes()).into()
}

fn descriptor(id: &[u8]) -> Value {
    Value::Map(vec![(text("id"), bytes(id)), (text("type"), text("public-key"))])
}

fn get_assertion_request(rp_id: &str, cdh: &[u8; 32], allow: &[&[u8]], extra: Vec<(i64, Value)>) -> Vec<u8> {
    let mut entries = vec![(1, text(rp_id)), (2, bytes(cdh))];
    if !allow.is_empty() {
        entries.push((3, Value::Array(allow.iter().map(|id| descriptor(id)).collect())));
    }
    entries.extend(extra);
    entries.sort_by_key(|(k, _)| *k);
    request(GET_ASSERTION, entries)
}

fn options(pairs: &[(&str, bool)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (text(k), Value::Bool(*v))).collect())
}

fn make_credential_request(rp_id: &str, cdh: &[u8; 32], user_id: &[u8], extra: Vec<(i64, Value)>) -> Vec<u8> {
    let mut entries = vec![
        (1, bytes(cdh)),
        (2, Value::Map(vec![(text("id"), text(rp_id))])),
        (3, Value::Map(vec![(text("id"), bytes(user_id)), (text("name"), text("denis"))])),
        (4, Value::Array(vec![Value::Map(vec![(text("alg"), int(-7)), (text("type"), text("public-key"))])])),
    ];
    entries.extend(extra);
    entries.sort_by_key(|(k, _)| *k);
    request(MAKE_CREDENTIAL, entries)
}

/// A P-256 public key from a COSE_Key map.
fn cose_public_key(cose: &Value) -> PublicKey {
    assert_eq!(as_int(get(cose, 1)), 2, "kty EC2");
    assert_eq!(as_int(get(cose, -1)), 1, "crv P-256");
    let x = as_bytes(get(cose, -2));
    let y = as_bytes(get(cose, -3));
    let point = EncodedPoint::from_affine_coordinates(x.as_slice().into(), y.as_slice().into(), false);
    PublicKey::from_sec1_bytes(point.as_bytes()).expect("a point on the curve")
}

/// Verifies an assertion answer for `rp_id`: returns (flags, counter).
fn check_assertion(answer: &Value, rp_id: &str, cdh: &[u8; 32], public_key: &[u8]) -> (u8, u32) {
    let auth_data = as_bytes(get(answer, 2));
    assert_eq!(auth_data.len(), 37, "no attested data or extensions");
    assert_eq!(&auth_data[..32], &application_parameter(rp_id));
    let signature = as_bytes(get(answer, 3));
    verify(public_key, &[&auth_data[..], cdh].concat(), &signature);
    (auth_data[32], u32::from_be_bytes(auth_data[33..37].try_into().unwrap()))
}

// ---------------------------------------------------------------------------------------------
// The host side of the PIN/UV auth protocols, written independently of the key's

struct HostPin {
    protocol: u8,
    platform_cose: Value,
    hmac_key: Vec<u8>,
    aes_key: Vec<u8>,
}

impl HostPin {
    /// Derives the shared secret from our scalar and the key's COSE key agreement key.
    fn derive(protocol: u8, platform: &SecretKey, device_public: &PublicKey) -> HostPin {
        let z = p256::ecdh::diffie_hellman(platform.to_nonzero_scalar(), device_public.as_affine());
        let z = z.raw_secret_bytes().to_vec();
        let (hmac_key, aes_key) = if protocol == 1 {
            let secret = Sha256::digest(&z).to_vec();
            (secret.clone(), secret)
        } else {
            let hkdf = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), &z);
            let (mut h, mut a) = (vec![0u8; 32], vec![0u8; 32]);
            hkdf.expand(b"CTAP2 HMAC key", &mut h).unwrap();
            hkdf.expand(b"CTAP2 AES key", &mut a).unwrap();
            (h, a)
        };
        let point = platform.public_key().to_encoded_point(false);
        let platform_cose = Value::Map(vec![
            (int(1), int(2)),
            (int(3), int(-25)),
            (int(-1), int(1)),
            (int(-2), bytes(point.x().unwrap())),
            (int(-3), bytes(point.y().unwrap())),
        ]);
        HostPin { protocol, platform_cose, hmac_key, aes_key }
    }

    /// getKeyAgreement, then our side of the ECDH.
    fn agree(key: &VirtualKey, cid: u32, protocol: u8) -> HostPin {
        let answer = cbor(key, cid, &request(CLIENT_PIN, vec![(1, int(protocol.into())), (2, int(2))])).ok();
        let device_key = get(&answer, 1);
        assert_eq!(as_int(get(device_key, 3)), -25, "ECDH-ES+HKDF-256");
        let platform = SecretKey::from_slice(&Sha256::digest([protocol; 7])).unwrap();
        HostPin::derive(protocol, &platform, &cose_public_key(device_key))
    }

    fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let iv = if self.protocol == 1 { [0u8; 16] } else { [0x5Cu8; 16] };
        let mut buffer = plaintext.to_vec();
        let len = buffer.len();
        cbc::Encryptor::<Aes256>::new(self.aes_key.as_slice().into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut buffer, len)
            .unwrap();
        if self.protocol == 1 {
            buffer
        } else {
            [&iv[..], &buffer].concat()
        }
    }

    fn decrypt(&self, ciphertext: &[u8]) -> Vec<u8> {
        let (iv, body) =
            if self.protocol == 1 { (&[0u8; 16][..], ciphertext) } else { ciphertext.split_at(16) };
        let mut buffer = body.to_vec();
        cbc::Decryptor::<Aes256>::new(self.aes_key.as_slice().into(), iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buffer)
            .unwrap();
        buffer
    }

    fn authenticate(&self, key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(message);
        let tag = mac.finalize().into_bytes().to_vec();
        if self.protocol == 1 {
            tag[..16].to_vec()
        } else {
            tag
        }
    }

    fn pin_hash_enc(&self, pin: &str) -> Vec<u8> {
        self.encrypt(&Sha256::digest(pin.as_bytes())[..16])
    }

    fn padded_pin_enc(&self, pin: &str) -> Vec<u8> {
        let mut padded = pin.as_bytes().to_vec();
        padded.resize(64, 0);
        self.encrypt(&padded)
    }
}

/// getPinToken (`0x05`) or, with permissions, getPinUvAuthTokenUsingPinWithPermissions (`0x09`).
fn pin_token_answer(
    key: &VirtualKey,
    cid: u32,
    host: &HostPin,
    pin: &str,
    permissions: Option<(u64, Option<&str>)>,
) -> Answer {
    let mut entries = vec![
        (1, int(host.protocol.into())),
        (2, int(if permissions.is_some() { 0x09 } else { 0x05 })),
        (3, host.platform_cose.clone()),
        (6, bytes(&host.pin_hash_enc(pin))),
    ];
    if let Some((permissions, rp_id)) = permissions {
        entries.push((9, int(permissions as i64)));
        if let Some(rp_id) = rp_id {
            entries.push((10, text(rp_id)));
        }
    }
    cbor(key, cid, &request(CLIENT_PIN, entries))
}

fn pin_token(
    key: &VirtualKey,
    cid: u32,
    protocol: u8,
    pin: &str,
    permissions: Option<(u64, Option<&str>)>,
) -> (HostPin, Vec<u8>) {
    let host = HostPin::agree(key, cid, protocol);
    let answer = pin_token_answer(key, cid, &host, pin, permissions).ok();
    let token = host.decrypt(&as_bytes(get(&answer, 2)));
    assert_eq!(token.len(), 32);
    (host, token)
}

fn pin_retries(key: &VirtualKey, cid: u32) -> i128 {
    as_int(get(&cbor(key, cid, &request(CLIENT_PIN, vec![(2, int(1))])).ok(), 3))
}

fn assertion_with_token(
    key: &VirtualKey,
    cid: u32,
    host: &HostPin,
    token: &[u8],
    rp_id: &str,
    id: &[u8],
) -> Answer {
    let cdh = client_data_hash("with token");
    let param = host.authenticate(token, &cdh);
    let extra = vec![(6, bytes(&param)), (7, int(host.protocol.into()))];
    cbor(key, cid, &get_assertion_request(rp_id, &cdh, &[id], extra))
}

// ---------------------------------------------------------------------------------------------
// Transport: capabilities, getInfo, framing

#[test]
fn init_capabilities_and_commands_follow_the_protocols() {
    for (protocols, capabilities) in
        [(Protocols::U2fOnly, 0x01), (Protocols::Both, 0x05), (Protocols::Ctap2Only, 0x0D)]
    {
        let key = VirtualKey::with_protocols(b"ctap2", protocols);
        assert_eq!(key.protocols(), protocols);
        key.write_report(&init_packet(BROADCAST, INIT, 8, &[1; 8])).unwrap();
        let report = read(&key);
        assert_eq!(report[7 + 16], capabilities, "{protocols:?}");
        let cid = u32::from_be_bytes(report[15..19].try_into().unwrap());

        send(&key, cid, MSG, &[0, 3, 0, 0, 0, 0, 0]);
        if protocols.u2f() {
            assert_eq!(receive(&key).2, b"U2F_V2\x90\x00");
        } else {
            expect_error(&key, cid, ERR_INVALID_CMD);
        }
        send(&key, cid, CBOR, &[GET_INFO]);
        if protocols.ctap2() {
            assert_eq!(receive_cbor(&key, cid).status, status::OK);
        } else {
            expect_error(&key, cid, ERR_INVALID_CMD);
        }
    }
    assert_eq!(VirtualKey::new(b"default").protocols(), Protocols::Both);
}

#[test]
fn get_info_reports_versions_options_and_protocols() {
    let key = VirtualKey::new(b"ctap2");
    let cid = allocate(&key);
    let info = get_info(&key, cid);
    let versions: Vec<&str> =
        get(&info, 1).as_array().unwrap().iter().map(|v| v.as_text().unwrap()).collect();
    assert_eq!(versions, ["U2F_V2", "FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(as_bytes(get(&info, 3)), AAGUID);
    let options = get(&info, 4);
    assert_eq!(field(options, "rk"), Some(&Value::Bool(true)));
    assert_eq!(field(options, "up"), Some(&Value::Bool(true)));
    assert_eq!(field(options, "clientPin"), Some(&Value::Bool(false)));
    assert_eq!(field(options, "uv"), None, "no built-in UV offered");
    assert_eq!(as_int(get(&info, 5)), 2048);
    assert_eq!(get(&info, 6), &Value::Array(vec![int(2), int(1)]));

    key.set_pin(Some("1234"));
    key.set_uv(true, true);
    let info = get_info(&key, cid);
    assert_eq!(field(get(&info, 4), "clientPin"), Some(&Value::Bool(true)));
    assert_eq!(field(get(&info, 4), "uv"), Some(&Value::Bool(true)));

    let ctap2_only = VirtualKey::with_protocols(b"ctap2", Protocols::Ctap2Only);
    let cid = allocate(&ctap2_only);
    let versions = get(&get_info(&ctap2_only, cid), 1).clone();
    assert_eq!(versions, Value::Array(vec![text("FIDO_2_0"), text("FIDO_2_1")]));
}

#[test]
fn malformed_requests_get_ctap2_errors_not_crashes() {
    let key = VirtualKey::new(b"ctap2");
    let cid = allocate(&key);
    let status_of = |payload: &[u8]| cbor(&key, cid, payload).status;
    assert_eq!(status_of(&[0x42]), status::INVALID_COMMAND);
    assert_eq!(status_of(&[GET_ASSERTION, 0xA1, 0x01]), status::INVALID_CBOR, "truncated");
    assert_eq!(status_of(&[GET_ASSERTION, 0xA0, 0x00]), status::INVALID_CBOR, "trailing byte");
    assert_eq!(status_of(&[GET_ASSERTION, 0x80]), status::CBOR_UNEXPECTED_TYPE, "not a map");
    assert_eq!(status_of(&[GET_ASSERTION, 0xA0]), status::MISSING_PARAMETER, "no rpId");
    assert_eq!(
        status_of(&request(GET_ASSERTION, vec![(1, int(5)), (2, bytes(&[0; 32]))])),
        status::CBOR_UNEXPECTED_TYPE
    );
    assert_eq!(
        status_of(&request(GET_ASSERTION, vec![(1, text(RP_ID)), (2, bytes(&[0; 31]))])),
        status::INVALID_LENGTH
    );
    // A byte string claiming 4 GiB, and nesting deeper than any request needs.
    assert_eq!(status_of(&[GET_ASSERTION, 0xA1, 0x01, 0x5A, 0xFF, 0xFF, 0xFF, 0xFF]), status::INVALID_CBOR);
    let mut deep = vec![GET_ASSERTION, 0xA1, 0x04];
    deep.extend(std::iter::repeat_n(0x81, 40));
    deep.push(0x00);
    assert_eq!(status_of(&deep), status::INVALID_CBOR);
    let mut large = vec![GET_ASSERTION, 0xA1, 0x04, 0x59, 0x08, 0x00];
    large.extend(vec![0u8; 2048]);
    assert_eq!(status_of(&large), status::REQUEST_TOO_LARGE, "over maxMsgSize");
    // The key still works.
    assert_eq!(cbor(&key, cid, &[GET_INFO]).status, status::OK);
}

// ---------------------------------------------------------------------------------------------
// Credentials and assertions

#[test]
fn make_credential_then_get_assertion_round_trip_with_a_counter_shared_with_u2f() {
    let key = VirtualKey::new(b"ctap2");
    let cid = allocate(&key);
    let cdh = client_data_hash("register");
    let answer = cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"user-1", vec![])).ok();
    assert_eq!(get(&answer, 1), &text("packed"));
    let auth_data = as_bytes(get(&answer, 2));
    assert_eq!(&auth_data[..32], &application_parameter(RP_ID));
    assert_eq!(auth_data[32], 0x41, "UP and AT");
    assert_eq!(u32::from_be_bytes(auth_data[33..37].try_into().unwrap()), 1);
    assert_eq!(&auth_data[37..53], &AAGUID);
    let id_len = usize::from(u16::from_be_bytes([auth_data[53], auth_data[54]]));
    let credential_id = auth_data[55..55 + id_len].to_vec();
    let cose: Value = ciborium::de::from_reader(&auth_data[55 + id_len..]).unwrap();
    let public_key = cose_public_key(&cose).to_encoded_point(false).as_bytes().to_vec();
    assert_eq!(as_int(get(&cose, 3)), -7, "ES256");
    // Packed self attestation: signed by the credential key.
    let statement = get(&answer, 3);
    assert_eq!(field(statement, "alg"), Some(&int(-7)));
    verify(&public_key, &[&auth_data[..], &cdh].concat(), &as_bytes(field(statement, "sig").unwrap()));

    let cdh = client_data_hash("login");
    let answer =
        cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&[9; 64], &credential_id], vec![])).ok();
    assert_eq!(as_bytes(field(get(&answer, 1), "id").unwrap()), credential_id);
    assert_eq!(check_assertion(&answer, RP_ID, &cdh, &public_key), (0x01, 2));
    assert!(try_get(&answer, 4).is_none(), "not discoverable: no user");

    // A U2F signature in between takes the next counter value; CTAP2 continues after it.
    let app = application_parameter("https://aa-sim.local");
    let handle = key.enrollment("https://aa-sim.local").key_handle;
    let response = key.apdu(&authenticate_apdu(0x03, &[1; 32], &app, &handle));
    let (data, sw) = split_status(&response);
    assert_eq!((sw, &data[1..5]), (0x9000, &3u32.to_be_bytes()[..]));
    let answer = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential_id], vec![])).ok();
    assert_eq!(check_assertion(&answer, RP_ID, &cdh, &public_key).1, 4);
    assert_eq!(key.counter(), 4);

    // Not ours, or not for this RP.
    let other = cbor(&key, cid, &get_assertion_request("other.example", &cdh, &[&credential_id], vec![]));
    assert_eq!(other.status, status::NO_CREDENTIALS);
    // Silent (up = false): flags 0, counter still advances.
    let extra = vec![(5, options(&[("up", false)]))];
    let silent = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential_id], extra)).ok();
    assert_eq!(check_assertion(&silent, RP_ID, &cdh, &public_key), (0x00, 5));
}

#[test]
fn fixture_credentials_are_deterministic_and_discoverable() {
    let key = VirtualKey::with_protocols(b"demo", Protocols::Ctap2Only);
    let credential = key.make_credential(RP_ID, b"denis");
    let again = VirtualKey::new(b"demo").make_credential(RP_ID, b"another user");
    assert_eq!(credential, again, "deterministic from seed and rpId");
    assert_ne!(credential, VirtualKey::new(b"other").make_credential(RP_ID, b"denis"));
    assert_ne!(credential.credential_id, key.enrollment(RP_ID).key_handle, "not the U2F enrollment");
    let cose: Value = ciborium::de::from_reader(credential.public_key_cose.as_slice()).unwrap();
    assert_eq!(cose_public_key(&cose).to_encoded_point(false).as_bytes(), credential.public_key_sec1);

    let cid = allocate(&key);
    let cdh = client_data_hash("discoverable");
    let answer = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[], vec![])).ok();
    assert_eq!(as_bytes(field(get(&answer, 1), "id").unwrap()), credential.credential_id);
    assert_eq!(as_bytes(field(get(&answer, 4), "id").unwrap()), b"denis");
    check_assertion(&answer, RP_ID, &cdh, &credential.public_key_sec1);

    // A second discoverable credential: numberOfCredentials 2, the other via getNextAssertion.
    let made =
        cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"alice", vec![(7, options(&[("rk", true)]))]));
    assert_eq!(made.status, status::OK);
    let first = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[], vec![])).ok();
    assert_eq!(as_int(get(&first, 5)), 2);
    assert_eq!(as_bytes(field(get(&first, 4), "id").unwrap()), b"alice", "most recent first");
    let next = cbor(&key, cid, &[GET_NEXT_ASSERTION]).ok();
    assert_eq!(as_bytes(field(get(&next, 4), "id").unwrap()), b"denis");
    check_assertion(&next, RP_ID, &cdh, &credential.public_key_sec1);
    assert_eq!(cbor(&key, cid, &[GET_NEXT_ASSERTION]).status, status::NOT_ALLOWED);
}

#[test]
fn a_u2f_credential_answers_ctap2_with_exactly_the_u2f_signed_message() {
    const APP_ID: &str = "https://aa-sim.local";
    for protocols in [Protocols::Both, Protocols::Ctap2Only] {
        let key = VirtualKey::with_protocols(b"demo", protocols);
        let enrollment = key.enrollment(APP_ID);
        let cid = allocate(&key);
        let client_data =
            br#"{"typ":"navigator.id.getAssertion","challenge":"abc","origin":"https://aa-sim.local"}"#;
        let challenge_param: [u8; 32] = Sha256::digest(client_data).into();
        let answer = cbor(
            &key,
            cid,
            &get_assertion_request(APP_ID, &challenge_param, &[&enrollment.key_handle], vec![]),
        )
        .ok();
        let auth_data = as_bytes(get(&answer, 2));
        // signatureData = flags ‖ counter ‖ signature, verified as a U2F server verifies it.
        let signature_data = [&auth_data[32..37], &as_bytes(get(&answer, 3))[..]].concat();
        let app = application_parameter(APP_ID);
        let counter = u32::from_be_bytes(signature_data[1..5].try_into().unwrap());
        assert_eq!(signature_data[0], 0x01);
        let signed = signed_assertion(&app, signature_data[0], counter, &challenge_param);
        verify(&enrollment.public_key, &signed, &signature_data[5..]);
        assert_eq!(&[&auth_data[..], &challenge_param[..]].concat(), &signed, "byte-identical signed data");
        // The same credential over U2F (Both only) signs the same 69-byte layout.
        if protocols.u2f() {
            let response = key.apdu(&authenticate_apdu(0x03, &challenge_param, &app, &enrollment.key_handle));
            let (data, sw) = split_status(&response);
            assert_eq!(sw, 0x9000);
            verify(
                &enrollment.public_key,
                &signed_assertion(&app, data[0], counter + 1, &challenge_param),
                &data[5..],
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// User presence: KEEPALIVE, touch, cancel, timeout

#[test]
fn keepalive_upneeded_while_waiting_for_the_touch() {
    let key = VirtualKey::new(b"ctap2");
    let credential = key.make_credential(RP_ID, b"u");
    key.set_presence(Presence::OnDemand);
    let cid = allocate(&key);
    let cdh = client_data_hash("touch");
    send(&key, cid, CBOR, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], vec![]));
    let (_, cmd, payload) = receive(&key);
    assert_eq!((cmd, payload.as_slice()), (KEEPALIVE, &[KEEPALIVE_UPNEEDED][..]));
    assert!(key.wait_for_touch_request(READ_TIMEOUT));
    // Another channel meanwhile: busy.
    let other = allocate(&key);
    send(&key, other, PING, b"x");
    expect_error(&key, other, ERR_CHANNEL_BUSY);
    key.touch();
    let answer = receive_cbor(&key, cid);
    assert!(answer.keepalives.iter().all(|&s| s == KEEPALIVE_UPNEEDED));
    let (flags, _) = check_assertion(&answer.ok(), RP_ID, &cdh, &credential.public_key_sec1);
    assert_eq!(flags, 0x01);
    assert!(!key.is_waiting_for_touch());
}

#[test]
fn keepalive_processing_while_the_key_is_slow() {
    let key = VirtualKey::new(b"ctap2");
    let cid = allocate(&key);
    key.inject_fault(Fault::SlowKeepalive(Duration::from_millis(250)));
    let answer = cbor(&key, cid, &[GET_INFO]);
    assert_eq!(answer.status, status::OK);
    assert!(!answer.keepalives.is_empty());
    assert!(answer.keepalives.iter().all(|&s| s == KEEPALIVE_PROCESSING), "{:?}", answer.keepalives);
}

#[test]
fn cancel_ends_a_waiting_request_with_keepalive_cancel() {
    let key = VirtualKey::new(b"ctap2");
    let credential = key.make_credential(RP_ID, b"u");
    let cid = allocate(&key);
    // CANCEL with nothing pending: counted, never answered.
    key.write_report(&init_packet(cid, CANCEL, 0, &[])).unwrap();
    assert_quiet(&key);
    assert_eq!(key.cancels_seen(), 1);

    key.set_presence(Presence::Never);
    let counter = key.counter();
    send(&key, cid, CBOR, &get_assertion_request(RP_ID, &[7; 32], &[&credential.credential_id], vec![]));
    assert_eq!(receive(&key).1, KEEPALIVE);
    assert!(key.wait_for_touch_request(READ_TIMEOUT));
    key.write_report(&init_packet(cid, CANCEL, 0, &[])).unwrap();
    let answer = receive_cbor(&key, cid);
    assert_eq!((answer.status, answer.body), (status::KEEPALIVE_CANCEL, None));
    assert_eq!(key.cancels_seen(), 2);
    assert_eq!(key.counter(), counter, "nothing was signed");
    assert!(!key.is_waiting_for_touch());
    assert_quiet(&key);
    // The channel works again.
    assert_eq!(cbor(&key, cid, &[GET_INFO]).status, status::OK);
}

#[test]
fn a_cancel_on_another_channel_or_a_resync_does_not_answer_for_it() {
    let key = VirtualKey::new(b"ctap2");
    let credential = key.make_credential(RP_ID, b"u");
    key.set_presence(Presence::Never);
    let (cid, other) = (allocate(&key), allocate(&key));
    send(&key, cid, CBOR, &get_assertion_request(RP_ID, &[7; 32], &[&credential.credential_id], vec![]));
    assert_eq!(receive(&key).1, KEEPALIVE);
    key.write_report(&init_packet(other, CANCEL, 0, &[])).unwrap();
    // Still waiting: only KEEPALIVE on the requesting channel.
    let (answer_cid, cmd, _) = receive(&key);
    assert_eq!((answer_cid, cmd), (cid, KEEPALIVE));
    // INIT on the channel abandons the request without an answer.
    key.write_report(&init_packet(cid, INIT, 8, &[3; 8])).unwrap();
    loop {
        let (_, cmd, _) = receive(&key);
        if cmd == INIT {
            break;
        }
        assert_eq!(cmd, KEEPALIVE, "only keepalives queued before the resync");
    }
    assert_quiet(&key);
    assert!(!key.is_waiting_for_touch());
}

#[test]
fn no_touch_within_the_timeout_is_user_action_timeout() {
    let key = VirtualKey::new(b"ctap2");
    let credential = key.make_credential(RP_ID, b"u");
    key.set_presence(Presence::Never);
    key.set_user_presence_timeout(Duration::from_millis(300));
    let cid = allocate(&key);
    let answer =
        cbor(&key, cid, &get_assertion_request(RP_ID, &[7; 32], &[&credential.credential_id], vec![]));
    assert_eq!(answer.status, status::USER_ACTION_TIMEOUT);
    assert!(answer.keepalives.iter().all(|&s| s == KEEPALIVE_UPNEEDED) && !answer.keepalives.is_empty());
}

// ---------------------------------------------------------------------------------------------
// PIN/UV auth protocols

#[test]
fn host_pin_protocol_one_matches_the_published_example() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../testdata/ctap2-vectors.json")).unwrap();
    let v = &vectors["pin_protocol_1"];
    let h = |name: &str| hex(v[name].as_str().unwrap());
    let platform = SecretKey::from_slice(&h("platform_private_key")).unwrap();
    let device_point = EncodedPoint::from_affine_coordinates(
        h("device_public_x").as_slice().into(),
        h("device_public_y").as_slice().into(),
        false,
    );
    let device = PublicKey::from_sec1_bytes(device_point.as_bytes()).unwrap();
    let host = HostPin::derive(1, &platform, &device);
    assert_eq!(host.aes_key, h("shared_secret"));
    let platform_point = platform.public_key().to_encoded_point(false);
    assert_eq!(platform_point.x().unwrap().to_vec(), h("platform_public_x"));
    assert_eq!(host.pin_hash_enc(v["pin"].as_str().unwrap()), h("pin_hash_enc"));
    assert_eq!(host.decrypt(&h("token_enc")), h("token"));
}

#[test]
fn pin_tokens_of_both_protocols_verify_assertions() {
    for protocol in [1u8, 2] {
        let key = VirtualKey::new(b"pin");
        let credential = key.make_credential(RP_ID, b"u");
        let cid = allocate(&key);
        assert_eq!(pin_retries(&key, cid), 8);
        let host = HostPin::agree(&key, cid, protocol);
        assert_eq!(pin_token_answer(&key, cid, &host, "1234", None).status, status::PIN_NOT_SET);

        key.set_pin(Some("1234"));
        let (host, token) = pin_token(&key, cid, protocol, "1234", None);
        let answer = assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id).ok();
        let auth_data = as_bytes(get(&answer, 2));
        assert_eq!(auth_data[32], 0x05, "UP and UV (protocol {protocol})");

        // A wrong pinUvAuthParam, and a token of another protocol number.
        let cdh = client_data_hash("with token");
        let bad = vec![(6, bytes(&host.authenticate(b"not the token", &cdh))), (7, int(protocol.into()))];
        let answer = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], bad));
        assert_eq!(answer.status, status::PIN_AUTH_INVALID);
        let unknown = vec![(6, bytes(&[1; 16])), (7, int(3))];
        let answer =
            cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], unknown));
        assert_eq!(answer.status, status::INVALID_PARAMETER);
        let no_protocol = vec![(6, bytes(&[1; 16]))];
        let answer =
            cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], no_protocol));
        assert_eq!(answer.status, status::MISSING_PARAMETER);

        // A new token replaces the old one.
        let (_, newer) = pin_token(&key, cid, protocol, "1234", None);
        let answer = assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id);
        assert_eq!(answer.status, status::PIN_AUTH_INVALID);
        assert_ne!(newer, token);
    }
}

#[test]
fn tokens_with_permissions_are_bound_to_their_rp_and_use() {
    let key = VirtualKey::new(b"pin");
    key.set_pin(Some("4321"));
    let credential = key.make_credential(RP_ID, b"u");
    let elsewhere = key.make_credential("other.example", b"u");
    let cid = allocate(&key);
    const GA: u64 = 0x02;
    const MC: u64 = 0x01;

    let (host, token) = pin_token(&key, cid, 2, "4321", Some((GA, Some(RP_ID))));
    assert_eq!(
        assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id).status,
        status::OK
    );
    let answer = assertion_with_token(&key, cid, &host, &token, "other.example", &elsewhere.credential_id);
    assert_eq!(answer.status, status::PIN_AUTH_INVALID, "bound to {RP_ID}");

    // Without rpId: bound at first use.
    let (host, token) = pin_token(&key, cid, 2, "4321", Some((GA, None)));
    assert_eq!(
        assertion_with_token(&key, cid, &host, &token, "other.example", &elsewhere.credential_id).status,
        status::OK
    );
    assert_eq!(
        assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id).status,
        status::PIN_AUTH_INVALID
    );

    // A makeCredential-only token cannot sign assertions.
    let (host, token) = pin_token(&key, cid, 2, "4321", Some((MC, Some(RP_ID))));
    assert_eq!(
        assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id).status,
        status::PIN_AUTH_INVALID
    );

    let host = HostPin::agree(&key, cid, 2);
    assert_eq!(pin_token_answer(&key, cid, &host, "4321", Some((0, None))).status, status::INVALID_PARAMETER);
    let host = HostPin::agree(&key, cid, 2);
    assert_eq!(
        pin_token_answer(&key, cid, &host, "4321", Some((0x04, None))).status,
        status::UNAUTHORIZED_PERMISSION
    );
    assert_eq!(key.pin_retries(), 8, "refused before the PIN was checked");
}

#[test]
fn wrong_pins_count_down_block_and_need_a_power_cycle_after_three_in_a_row() {
    for protocol in [1u8, 2] {
        let key = VirtualKey::new(b"pin");
        key.set_pin(Some("1234"));
        let cid = allocate(&key);
        let attempt = |pin: &str| {
            let host = HostPin::agree(&key, cid, protocol);
            pin_token_answer(&key, cid, &host, pin, None).status
        };
        assert_eq!(attempt("0000"), status::PIN_INVALID);
        assert_eq!(attempt("0000"), status::PIN_INVALID);
        assert_eq!(attempt("1234"), status::OK, "a correct PIN resets the streak and the retries");
        assert_eq!(key.pin_retries(), 8);
        assert_eq!(attempt("0000"), status::PIN_INVALID);
        assert_eq!(attempt("0000"), status::PIN_INVALID);
        assert_eq!(attempt("0000"), status::PIN_AUTH_BLOCKED);
        assert_eq!(attempt("1234"), status::PIN_AUTH_BLOCKED, "even the right PIN until a power cycle");
        assert_eq!(key.pin_retries(), 5);
        assert_eq!(pin_retries(&key, cid), 5);

        key.disconnect();
        key.reconnect();
        let cid = allocate(&key);
        let attempt = |pin: &str| {
            let host = HostPin::agree(&key, cid, protocol);
            pin_token_answer(&key, cid, &host, pin, None).status
        };
        key.set_pin_retries(2);
        assert_eq!(attempt("0000"), status::PIN_INVALID);
        assert_eq!(attempt("0000"), status::PIN_BLOCKED);
        assert_eq!(key.pin_retries(), 0);
        assert_eq!(attempt("1234"), status::PIN_BLOCKED, "blocked: no more attempts");
        key.set_pin_retries(0);
        assert_eq!(attempt("1234"), status::PIN_BLOCKED);
        key.set_pin(Some("1234"));
        assert_eq!(key.pin_retries(), 8, "set_pin resets the retries");
        assert_eq!(attempt("1234"), status::OK);
    }
}

#[test]
fn set_and_change_pin_through_the_protocol() {
    let key = VirtualKey::new(b"pin");
    let cid = allocate(&key);
    let host = HostPin::agree(&key, cid, 2);
    let new_pin_enc = host.padded_pin_enc("246810");
    let auth = host.authenticate(&host.hmac_key, &new_pin_enc);
    let set = request(
        CLIENT_PIN,
        vec![
            (1, int(2)),
            (2, int(3)),
            (3, host.platform_cose.clone()),
            (4, bytes(&auth)),
            (5, bytes(&new_pin_enc)),
        ],
    );
    assert_eq!(cbor(&key, cid, &set).status, status::OK);
    assert_eq!(cbor(&key, cid, &set).status, status::NOT_ALLOWED, "a PIN is set already");
    pin_token(&key, cid, 2, "246810", None);

    let host = HostPin::agree(&key, cid, 1);
    let new_pin_enc = host.padded_pin_enc("1357");
    let pin_hash_enc = host.pin_hash_enc("246810");
    let auth = host.authenticate(&host.hmac_key, &[&new_pin_enc[..], &pin_hash_enc].concat());
    let change = request(
        CLIENT_PIN,
        vec![
            (1, int(1)),
            (2, int(4)),
            (3, host.platform_cose.clone()),
            (4, bytes(&auth)),
            (5, bytes(&new_pin_enc)),
            (6, bytes(&pin_hash_enc)),
        ],
    );
    assert_eq!(cbor(&key, cid, &change).status, status::OK);
    pin_token(&key, cid, 1, "1357", None);

    // Too short a PIN is a policy violation.
    key.set_pin(None);
    let host = HostPin::agree(&key, cid, 2);
    let short = host.padded_pin_enc("12");
    let auth = host.authenticate(&host.hmac_key, &short);
    let set = request(
        CLIENT_PIN,
        vec![
            (1, int(2)),
            (2, int(3)),
            (3, host.platform_cose.clone()),
            (4, bytes(&auth)),
            (5, bytes(&short)),
        ],
    );
    assert_eq!(cbor(&key, cid, &set).status, status::PIN_POLICY_VIOLATION);
}

#[test]
fn a_pin_protects_discoverable_credentials_and_answers_the_selection_probe() {
    let key = VirtualKey::new(b"pin");
    let cid = allocate(&key);
    let cdh = client_data_hash("mc");
    let rk = vec![(7, options(&[("rk", true)]))];
    // Zero-length pinUvAuthParam: after the touch, PIN_NOT_SET or PIN_INVALID.
    let probe = vec![(8, bytes(&[])), (9, int(2))];
    assert_eq!(
        cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"u", probe.clone())).status,
        status::PIN_NOT_SET
    );
    key.set_pin(Some("1234"));
    assert_eq!(
        cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"u", probe)).status,
        status::PIN_INVALID
    );
    assert_eq!(
        cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"u", rk.clone())).status,
        status::PIN_REQUIRED
    );
    // Non-discoverable credentials need no PIN (makeCredUvNotRqd).
    assert_eq!(cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"u", vec![])).status, status::OK);

    let (host, token) = pin_token(&key, cid, 2, "1234", Some((0x01, Some(RP_ID))));
    let mut extra = rk;
    extra.extend([(8, bytes(&host.authenticate(&token, &cdh))), (9, int(2))]);
    let answer = cbor(&key, cid, &make_credential_request(RP_ID, &cdh, b"u", extra)).ok();
    assert_eq!(as_bytes(get(&answer, 2))[32], 0x45, "UP, UV and AT");
}

#[test]
fn built_in_uv_sets_the_uv_flag_or_fails_and_blocks() {
    let key = VirtualKey::new(b"uv");
    let credential = key.make_credential(RP_ID, b"u");
    let cid = allocate(&key);
    let cdh = client_data_hash("uv");
    let uv = || vec![(5, options(&[("uv", true)]))];
    let ask =
        |extra| cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], extra));
    assert_eq!(ask(uv()).status, status::INVALID_OPTION, "no built-in UV");

    key.set_uv(true, true);
    let answer = ask(uv()).ok();
    assert_eq!(check_assertion(&answer, RP_ID, &cdh, &credential.public_key_sec1).0, 0x05);
    assert_eq!(
        check_assertion(&ask(vec![]).ok(), RP_ID, &cdh, &credential.public_key_sec1).0,
        0x01,
        "uv not asked"
    );

    key.set_uv(true, false);
    for left in (1..8).rev() {
        assert_eq!(ask(uv()).status, status::UV_INVALID);
        assert_eq!(key.uv_retries(), left);
    }
    assert_eq!(ask(uv()).status, status::UV_BLOCKED);
    assert_eq!(ask(uv()).status, status::UV_BLOCKED);
    assert_eq!(key.uv_retries(), 0);

    // A token by built-in UV (getPinUvAuthTokenUsingUvWithPermissions).
    key.set_uv(true, true);
    let host = HostPin::agree(&key, cid, 2);
    let by_uv = request(
        CLIENT_PIN,
        vec![(1, int(2)), (2, int(6)), (3, host.platform_cose.clone()), (9, int(0x02)), (10, text(RP_ID))],
    );
    let token = host.decrypt(&as_bytes(get(&cbor(&key, cid, &by_uv).ok(), 2)));
    let answer = assertion_with_token(&key, cid, &host, &token, RP_ID, &credential.credential_id).ok();
    assert_eq!(as_bytes(get(&answer, 2))[32], 0x05);
    let retries = cbor(&key, cid, &request(CLIENT_PIN, vec![(2, int(7))])).ok();
    assert_eq!(as_int(get(&retries, 5)), 8);
}

#[test]
fn u2f_credentials_of_a_seed_are_what_they_were_before_ctap2() {
    // Fixtures and enrolled test servers hold these values (seed "demo", the simulator's App ID).
    for protocols in [Protocols::U2fOnly, Protocols::Both, Protocols::Ctap2Only] {
        let enrollment = VirtualKey::with_protocols(b"demo", protocols).enrollment("https://aa-sim.local");
        assert_eq!(
            enrollment.key_handle,
            hex("cbe675e7cff62fb6d62209aca2d6ae73d194782c3449bdd45efb138f834f564836546ffe4d77005f78cc60ea7bbaf9793e3d209ca304b7255cae78d8d760414f")
        );
        assert_eq!(
            enrollment.public_key.to_vec(),
            hex("04a8af7837ef23355a0bfee0e3a1a47e0d9f0afc33e9b3c4d05204873f50d1a285e1f393250a229a4ac4ac0abe17a84263af24c974cda53e2d4f2b18f870b41521")
        );
    }
}

#[test]
fn cancel_also_ends_a_request_the_slow_key_has_not_started() {
    let key = VirtualKey::new(b"ctap2");
    let cid = allocate(&key);
    key.inject_fault(Fault::SlowKeepalive(Duration::from_secs(60)));
    send(&key, cid, CBOR, &[GET_INFO]);
    let (_, cmd, payload) = receive(&key);
    assert_eq!((cmd, payload.as_slice()), (KEEPALIVE, &[KEEPALIVE_PROCESSING][..]));
    key.write_report(&init_packet(cid, CANCEL, 0, &[])).unwrap();
    let answer = receive_cbor(&key, cid);
    assert_eq!(answer.status, status::KEEPALIVE_CANCEL);
    assert_eq!(cbor(&key, cid, &[GET_INFO]).status, status::OK);
}

#[test]
fn a_delayed_touch_answers_after_upneeded_keepalives() {
    let key = VirtualKey::new(b"ctap2");
    let credential = key.make_credential(RP_ID, b"u");
    key.set_presence(Presence::AfterDelay(Duration::from_millis(250)));
    let cid = allocate(&key);
    let cdh = client_data_hash("delayed");
    let answer = cbor(&key, cid, &get_assertion_request(RP_ID, &cdh, &[&credential.credential_id], vec![]));
    assert!(!answer.keepalives.is_empty() && answer.keepalives.iter().all(|&s| s == KEEPALIVE_UPNEEDED));
    assert_eq!(check_assertion(&answer.ok(), RP_ID, &cdh, &credential.public_key_sec1).0, 0x01);
}
