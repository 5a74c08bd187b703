//! A deliberately small test host: builds reports byte by byte and reassembles answers itself, so
//! the tests do not lean on the device's own framing code.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use aa_virtual_key::{Report, VirtualKey};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};

pub const BROADCAST: u32 = 0xFFFF_FFFF;
pub const PING: u8 = 0x81;
pub const MSG: u8 = 0x83;
pub const LOCK: u8 = 0x84;
pub const INIT: u8 = 0x86;
pub const WINK: u8 = 0x88;
pub const CBOR: u8 = 0x90;
pub const CANCEL: u8 = 0x91;
pub const KEEPALIVE: u8 = 0xBB;
pub const ERROR: u8 = 0xBF;

pub const ERR_INVALID_CMD: u8 = 0x01;
pub const ERR_INVALID_PAR: u8 = 0x02;
pub const ERR_INVALID_LEN: u8 = 0x03;
pub const ERR_INVALID_SEQ: u8 = 0x04;
pub const ERR_MSG_TIMEOUT: u8 = 0x05;
pub const ERR_CHANNEL_BUSY: u8 = 0x06;
pub const ERR_INVALID_CHANNEL: u8 = 0x0B;

/// Generous: answers normally arrive in well under a millisecond.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to listen before concluding the key sent nothing.
pub const QUIET: Duration = Duration::from_millis(150);

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// An initialization packet: CID ‖ CMD ‖ BCNT ‖ the first payload bytes, zero padded.
pub fn init_packet(cid: u32, cmd: u8, bcnt: u16, payload: &[u8]) -> Report {
    let mut report = [0u8; 64];
    report[..4].copy_from_slice(&cid.to_be_bytes());
    report[4] = cmd;
    report[5..7].copy_from_slice(&bcnt.to_be_bytes());
    report[7..7 + payload.len()].copy_from_slice(payload);
    report
}

/// A continuation packet: CID ‖ SEQ ‖ payload bytes, zero padded.
pub fn continuation(cid: u32, seq: u8, payload: &[u8]) -> Report {
    let mut report = [0u8; 64];
    report[..4].copy_from_slice(&cid.to_be_bytes());
    report[4] = seq;
    report[5..5 + payload.len()].copy_from_slice(payload);
    report
}

pub fn cid_of(report: &Report) -> u32 {
    u32::from_be_bytes(report[..4].try_into().unwrap())
}

/// Splits a message into packets the way the CTAPHID spec describes.
pub fn packets(cid: u32, cmd: u8, payload: &[u8]) -> Vec<Report> {
    let first = payload.len().min(57);
    let mut out = vec![init_packet(cid, cmd, payload.len() as u16, &payload[..first])];
    for (seq, chunk) in payload[first..].chunks(59).enumerate() {
        out.push(continuation(cid, seq as u8, chunk));
    }
    out
}

pub fn send(key: &VirtualKey, cid: u32, cmd: u8, payload: &[u8]) {
    for packet in packets(cid, cmd, payload) {
        key.write_report(&packet).unwrap();
    }
}

pub fn read(key: &VirtualKey) -> Report {
    key.read_report(READ_TIMEOUT).unwrap().expect("the key answered")
}

pub fn assert_quiet(key: &VirtualKey) {
    if let Some(report) = key.read_report(QUIET).unwrap() {
        panic!("unexpected report {:02x?}", &report[..12]);
    }
}

/// Reads one whole message (the next initialization packet and its continuations).
pub fn receive(key: &VirtualKey) -> (u32, u8, Vec<u8>) {
    let first = read(key);
    let cid = cid_of(&first);
    assert!(first[4] & 0x80 != 0, "expected an initialization packet, got {:02x?}", &first[..8]);
    let len = usize::from(u16::from_be_bytes([first[5], first[6]]));
    let mut payload = first[7..7 + len.min(57)].to_vec();
    let mut seq = 0u8;
    while payload.len() < len {
        let next = read(key);
        assert_eq!(cid_of(&next), cid);
        assert_eq!(next[4], seq, "continuation sequence");
        let take = (len - payload.len()).min(59);
        payload.extend_from_slice(&next[5..5 + take]);
        seq += 1;
    }
    (cid, first[4], payload)
}

/// Sends a request on `cid` and returns the answer's command byte and payload.
pub fn transact(key: &VirtualKey, cid: u32, cmd: u8, payload: &[u8]) -> (u8, Vec<u8>) {
    send(key, cid, cmd, payload);
    let (answer_cid, answer_cmd, answer) = receive(key);
    assert_eq!(answer_cid, cid, "answer on the requesting channel");
    (answer_cmd, answer)
}

pub fn expect_error(key: &VirtualKey, cid: u32, code: u8) {
    let report = read(key);
    assert_eq!(&report[..8], &[&cid.to_be_bytes()[..], &[ERROR, 0, 1, code]].concat()[..]);
    assert!(report[8..].iter().all(|&b| b == 0), "error packets are zero padded");
}

/// Allocates a channel with INIT on the broadcast CID.
pub fn allocate(key: &VirtualKey) -> u32 {
    let nonce = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
    key.write_report(&init_packet(BROADCAST, INIT, 8, &nonce)).unwrap();
    let report = read(key);
    assert_eq!(&report[..7], &[0xFF, 0xFF, 0xFF, 0xFF, INIT, 0, 17]);
    assert_eq!(&report[7..15], &nonce);
    u32::from_be_bytes(report[15..19].try_into().unwrap())
}

/// `00 INS P1 00 00 Lc Lc data 00 00`: the extended form hosts send over HID.
pub fn extended_apdu(ins: u8, p1: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, ins, p1, 0x00, 0x00];
    apdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
    apdu.extend_from_slice(data);
    apdu.extend_from_slice(&[0x00, 0x00]);
    apdu
}

pub fn authenticate_apdu(control: u8, challenge: &[u8; 32], app: &[u8; 32], handle: &[u8]) -> Vec<u8> {
    let mut data = challenge.to_vec();
    data.extend_from_slice(app);
    data.push(handle.len() as u8);
    data.extend_from_slice(handle);
    extended_apdu(0x02, control, &data)
}

pub fn register_apdu(challenge: &[u8; 32], app: &[u8; 32]) -> Vec<u8> {
    extended_apdu(0x01, 0x00, &[&challenge[..], &app[..]].concat())
}

/// Splits a response APDU into data and status word.
pub fn split_status(response: &[u8]) -> (&[u8], u16) {
    assert!(response.len() >= 2, "response too short: {response:02x?}");
    let (data, sw) = response.split_at(response.len() - 2);
    (data, u16::from_be_bytes([sw[0], sw[1]]))
}

/// Verifies a DER ECDSA-SHA256 signature with an uncompressed SEC1 public key.
pub fn verify(public_key: &[u8], message: &[u8], der_signature: &[u8]) {
    let key = VerifyingKey::from_sec1_bytes(public_key).expect("valid public key");
    let signature = DerSignature::try_from(der_signature).expect("DER signature");
    key.verify(message, &signature).expect("signature verifies");
}

/// The 69 bytes an AUTHENTICATE signature covers.
pub fn signed_assertion(app: &[u8; 32], presence: u8, counter: u32, challenge: &[u8; 32]) -> Vec<u8> {
    [&app[..], &[presence], &counter.to_be_bytes(), &challenge[..]].concat()
}

/// Length of a DER element from its header (`30 81 xx` / `30 82 xx xx` / `30 xx`).
pub fn der_len(bytes: &[u8]) -> usize {
    match bytes[1] {
        n if n < 0x80 => 2 + usize::from(n),
        0x81 => 3 + usize::from(bytes[2]),
        0x82 => 4 + usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
        other => panic!("unsupported DER length byte {other:#x}"),
    }
}

/// The fields of a REGISTER response.
pub struct Registration<'a> {
    pub public_key: &'a [u8],
    pub key_handle: &'a [u8],
    pub certificate: &'a [u8],
    pub signature: &'a [u8],
}

pub fn parse_registration(data: &[u8]) -> Registration<'_> {
    assert_eq!(data[0], 0x05, "reserved byte");
    let public_key = &data[1..66];
    let handle_len = usize::from(data[66]);
    let key_handle = &data[67..67 + handle_len];
    let rest = &data[67 + handle_len..];
    let (certificate, signature) = rest.split_at(der_len(rest));
    Registration { public_key, key_handle, certificate, signature }
}

/// The public key (uncompressed point) in a DER certificate.
pub fn certificate_public_key(certificate: &[u8]) -> Vec<u8> {
    use x509_cert::der::Decode;
    let certificate = x509_cert::Certificate::from_der(certificate).expect("certificate parses");
    certificate.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes().to_vec()
}
