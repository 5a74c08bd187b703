//! Each injectable fault, seen from a host at the byte level.

mod common;

use std::time::{Duration, Instant};

use aa_virtual_key::{Fault, VirtualKey};
use common::*;

const VERSION_APDU: [u8; 7] = [0, 3, 0, 0, 0, 0, 0];

#[test]
fn channel_busy_refuses_the_next_request_once() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::ChannelBusy);
    let other = allocate(&key); // INIT is not refused
    send(&key, cid, PING, &[1; 100]); // the continuation that follows is ignored
    expect_error(&key, cid, ERR_CHANNEL_BUSY);
    assert_quiet(&key);
    assert_eq!(transact(&key, cid, PING, b"retry").1, b"retry");
    assert_eq!(transact(&key, other, PING, b"other").1, b"other");
}

#[test]
fn garbage_frame_precedes_the_next_response() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::GarbageFrame);
    send(&key, cid, PING, b"hello");
    let garbage = read(&key);
    assert_eq!(cid_of(&garbage), cid);
    assert_eq!(garbage[4] & 0x80, 0, "reads as a stray continuation packet");
    assert!(garbage[5..].iter().any(|&b| b != 0), "nonsense content");
    assert_eq!(receive(&key), (cid, PING, b"hello".to_vec()));
    // Used once.
    assert_eq!(transact(&key, cid, PING, b"again").1, b"again");
}

#[test]
fn drop_continuation_loses_seq_0_of_the_next_multi_packet_response() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::DropContinuation);
    // A single-packet answer is not affected and leaves the fault pending.
    assert_eq!(transact(&key, cid, PING, b"short").1, b"short");
    send(&key, cid, PING, &[7; 200]); // 4 packets: init, 0, 1, 2
    let init = read(&key);
    assert_eq!(&init[4..7], &[PING, 0, 200]);
    assert_eq!(read(&key)[4], 1, "continuation 0 is missing");
    assert_eq!(read(&key)[4], 2);
    assert_quiet(&key);
    // The host recovers by resynchronising its channel.
    key.write_report(&init_packet(cid, INIT, 8, &[3; 8])).unwrap();
    assert_eq!(&read(&key)[4..7], &[INIT, 0, 17]);
    assert_eq!(transact(&key, cid, PING, &[8; 200]).1, vec![8; 200]);
}

#[test]
fn wrong_cid_sends_the_next_response_to_another_channel() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::WrongCid);
    send(&key, cid, MSG, &VERSION_APDU);
    let (answer_cid, cmd, payload) = receive(&key);
    assert_ne!(answer_cid, cid);
    assert!(answer_cid != 0 && answer_cid != BROADCAST);
    assert_eq!((cmd, payload), (MSG, b"U2F_V2\x90\x00".to_vec()));
    assert_quiet(&key);
    assert_eq!(transact(&key, cid, MSG, &VERSION_APDU).1, b"U2F_V2\x90\x00");
}

#[test]
fn slow_keepalive_holds_the_answer_and_sends_processing_every_100_ms() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    let other = allocate(&key);
    let delay = Duration::from_millis(450);
    key.inject_fault(Fault::SlowKeepalive(delay));
    let started = Instant::now();
    send(&key, cid, MSG, &VERSION_APDU);

    // While the answer is held, other channels are refused.
    key.write_report(&init_packet(other, PING, 1, &[1])).unwrap();
    let mut keepalives = 0;
    let mut busy_seen = false;
    let answer = loop {
        let report = read(&key);
        match (cid_of(&report), report[4]) {
            (c, KEEPALIVE) if c == cid => {
                assert_eq!(&report[5..8], &[0, 1, 0x01], "STATUS_PROCESSING");
                keepalives += 1;
            }
            (c, ERROR) if c == other => {
                assert_eq!(report[7], ERR_CHANNEL_BUSY);
                busy_seen = true;
            }
            (c, MSG) if c == cid => break report,
            unexpected => panic!("unexpected report {unexpected:02x?}"),
        }
    };
    assert!(started.elapsed() >= delay, "held for the delay");
    assert!(busy_seen);
    // Due at 0, 100, 200, 300 and 400 ms; a reader delayed by a loaded machine gets fewer, never more.
    assert!((1..=5).contains(&keepalives), "{keepalives} keepalives");
    assert_eq!(&answer[4..15], b"\x83\x00\x08U2F_V2\x90\x00");
    // The next MSG is prompt again.
    assert_eq!(transact(&key, cid, MSG, &VERSION_APDU).1, b"U2F_V2\x90\x00");
}

#[test]
fn init_abandons_a_held_answer() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::SlowKeepalive(Duration::from_secs(30)));
    send(&key, cid, MSG, &VERSION_APDU);
    assert_eq!(read(&key)[4], KEEPALIVE);
    key.write_report(&init_packet(cid, INIT, 8, &[4; 8])).unwrap();
    let init = read(&key);
    assert_eq!(&init[4..7], &[INIT, 0, 17]);
    assert_quiet(&key);
    assert_eq!(transact(&key, cid, PING, b"free").1, b"free");
}

#[test]
fn faults_combine_on_one_response_and_clear_faults_drops_the_rest() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::GarbageFrame);
    key.inject_fault(Fault::WrongCid);
    send(&key, cid, PING, b"x");
    assert_eq!(cid_of(&read(&key)), cid, "garbage on our channel");
    assert_ne!(cid_of(&read(&key)), cid, "answer elsewhere");

    key.inject_fault(Fault::ChannelBusy);
    key.inject_fault(Fault::GarbageFrame);
    key.inject_fault(Fault::SlowKeepalive(Duration::from_secs(30)));
    key.clear_faults();
    assert_eq!(transact(&key, cid, MSG, &VERSION_APDU).1, b"U2F_V2\x90\x00");
}

#[test]
fn disconnect_during_a_held_answer_fails_the_waiting_reader() {
    let key = VirtualKey::new(b"faults");
    let cid = allocate(&key);
    key.inject_fault(Fault::SlowKeepalive(Duration::from_secs(30)));
    send(&key, cid, MSG, &VERSION_APDU);
    // Unplugged once the reader sleeps between KEEPALIVEs; were the unplug missed, the held
    // answer would come after 30 s and fail the KEEPALIVE check below.
    let unplugger = {
        let key = key.clone();
        std::thread::spawn(move || {
            assert!(key.wait_for_blocked_reader(Duration::from_secs(30)), "the reader never blocked");
            key.disconnect();
        })
    };
    let outcome = loop {
        match key.read_report(Duration::from_secs(20)) {
            Ok(Some(report)) => assert_eq!(report[4], KEEPALIVE),
            other => break other,
        }
    };
    unplugger.join().unwrap();
    assert!(outcome.is_err());
}
