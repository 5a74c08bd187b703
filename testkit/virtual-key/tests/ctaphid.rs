//! Byte-level CTAPHID tests: every command and every error the key can answer.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use aa_virtual_key::{Protocols, VirtualKey};
use common::*;

#[test]
fn init_on_broadcast_echoes_the_nonce_and_allocates_distinct_channels() {
    let key = VirtualKey::with_protocols(b"ctaphid", Protocols::U2fOnly);
    let nonce = [1, 2, 3, 4, 5, 6, 7, 8];
    key.write_report(&init_packet(BROADCAST, INIT, 8, &nonce)).unwrap();
    let report = read(&key);
    // CID ffffffff, CMD 86, BCNT 0011, nonce, new CID, protocol 2, version 1.0.0, capabilities WINK.
    assert_eq!(&report[..15], &[0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x11, 1, 2, 3, 4, 5, 6, 7, 8]);
    let cid = u32::from_be_bytes(report[15..19].try_into().unwrap());
    assert!(cid != 0 && cid != BROADCAST);
    assert_eq!(&report[19..24], &[0x02, 0x01, 0x00, 0x00, 0x01]);
    assert!(report[24..].iter().all(|&b| b == 0));

    let second = allocate(&key);
    assert_ne!(second, cid);
    assert_eq!(transact(&key, cid, PING, b"a").1, b"a");
    assert_eq!(transact(&key, second, PING, b"b").1, b"b");
}

#[test]
fn init_on_an_allocated_channel_resynchronises_it() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    // Half a message, then INIT on the same channel: the half message is abandoned.
    key.write_report(&init_packet(cid, PING, 100, &[0xAA; 57])).unwrap();
    let nonce = [9, 9, 9, 9, 8, 8, 8, 8];
    key.write_report(&init_packet(cid, INIT, 8, &nonce)).unwrap();
    let report = read(&key);
    assert_eq!(&report[..4], &cid.to_be_bytes());
    assert_eq!(&report[4..7], &[INIT, 0, 17]);
    assert_eq!(&report[7..15], &nonce);
    assert_eq!(&report[15..19], &cid.to_be_bytes(), "the same channel id is kept");
    // The rest of the abandoned message is a stray continuation now: ignored.
    key.write_report(&continuation(cid, 0, &[0xAA; 43])).unwrap();
    assert_quiet(&key);
    assert_eq!(transact(&key, cid, PING, b"after resync").1, b"after resync");
}

#[test]
fn ping_echoes_multi_packet_payloads_with_sequence_numbers() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    let payload: Vec<u8> = (0..200u16).map(|i| i as u8).collect();
    send(&key, cid, PING, &payload);
    let init = read(&key);
    assert_eq!(&init[..7], &[&cid.to_be_bytes()[..], &[PING, 0x00, 0xC8]].concat()[..]);
    assert_eq!(&init[7..], &payload[..57]);
    for (seq, chunk) in payload[57..].chunks(59).enumerate() {
        let cont = read(&key);
        assert_eq!(&cont[..5], &[&cid.to_be_bytes()[..], &[seq as u8]].concat()[..]);
        assert_eq!(&cont[5..5 + chunk.len()], chunk);
        assert!(cont[5 + chunk.len()..].iter().all(|&b| b == 0), "zero padding");
    }
    assert_quiet(&key);
}

#[test]
fn the_largest_message_is_7609_bytes() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    let payload: Vec<u8> = (0..7609u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(transact(&key, cid, PING, &payload), (PING, payload));
    key.write_report(&init_packet(cid, PING, 7610, &[0; 57])).unwrap();
    expect_error(&key, cid, ERR_INVALID_LEN);
}

#[test]
fn msg_carries_u2f_apdus() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    send(&key, cid, MSG, &[0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00]);
    let report = read(&key);
    assert_eq!(&report[..4], &cid.to_be_bytes());
    assert_eq!(&report[4..15], b"\x83\x00\x08U2F_V2\x90\x00");
    assert!(report[15..].iter().all(|&b| b == 0));
}

#[test]
fn wink_answers_empty_and_is_counted() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    assert_eq!(key.wink_count(), 0);
    key.write_report(&init_packet(cid, WINK, 0, &[])).unwrap();
    let report = read(&key);
    assert_eq!(&report[..7], &[&cid.to_be_bytes()[..], &[WINK, 0, 0]].concat()[..]);
    assert_eq!(key.wink_count(), 1);
    key.write_report(&init_packet(cid, WINK, 1, &[1])).unwrap();
    expect_error(&key, cid, ERR_INVALID_LEN);
    assert_eq!(key.wink_count(), 1);
}

#[test]
fn cancel_gets_no_answer() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    key.write_report(&init_packet(cid, CANCEL, 0, &[])).unwrap();
    assert_quiet(&key);
    assert_eq!(transact(&key, cid, PING, b"still fine").1, b"still fine");
}

#[test]
fn commands_this_u2f_only_key_lacks_are_invalid_cmd() {
    let key = VirtualKey::with_protocols(b"ctaphid", Protocols::U2fOnly);
    let cid = allocate(&key);
    for (cmd, payload) in
        [(CBOR, &[0x04][..]), (LOCK, &[5][..]), (KEEPALIVE, &[1][..]), (ERROR, &[1][..]), (0xC1, &[][..])]
    {
        send(&key, cid, cmd, payload);
        expect_error(&key, cid, ERR_INVALID_CMD);
    }
}

#[test]
fn msg_too_short_for_an_apdu_header_is_invalid_par() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    send(&key, cid, MSG, &[0x00, 0x03]);
    expect_error(&key, cid, ERR_INVALID_PAR);
    send(&key, cid, MSG, &[]);
    expect_error(&key, cid, ERR_INVALID_PAR);
}

#[test]
fn init_with_a_nonce_of_the_wrong_size_is_invalid_len() {
    let key = VirtualKey::new(b"ctaphid");
    key.write_report(&init_packet(BROADCAST, INIT, 7, &[1; 7])).unwrap();
    expect_error(&key, BROADCAST, ERR_INVALID_LEN);
    let cid = allocate(&key);
    key.write_report(&init_packet(cid, INIT, 9, &[1; 9])).unwrap();
    expect_error(&key, cid, ERR_INVALID_LEN);
}

#[test]
fn out_of_order_continuation_is_invalid_seq() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    key.write_report(&init_packet(cid, PING, 100, &[1; 57])).unwrap();
    key.write_report(&continuation(cid, 1, &[1; 43])).unwrap();
    expect_error(&key, cid, ERR_INVALID_SEQ);
    // The message was abandoned: its proper continuation is now stray and ignored.
    key.write_report(&continuation(cid, 0, &[1; 43])).unwrap();
    assert_quiet(&key);
}

#[test]
fn a_new_request_in_the_middle_of_a_message_is_invalid_seq() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    key.write_report(&init_packet(cid, PING, 100, &[1; 57])).unwrap();
    key.write_report(&init_packet(cid, PING, 1, &[1])).unwrap();
    expect_error(&key, cid, ERR_INVALID_SEQ);
    assert_eq!(transact(&key, cid, PING, b"x").1, b"x");
}

#[test]
fn a_gap_over_500_ms_between_packets_is_msg_timeout() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    let sent = Instant::now();
    key.write_report(&init_packet(cid, PING, 100, &[1; 57])).unwrap();
    // Nobody writes: the timeout is noticed while reading, from timestamps.
    expect_error(&key, cid, ERR_MSG_TIMEOUT);
    assert!(sent.elapsed() >= Duration::from_millis(500), "not before the 500 ms gap");
    // A continuation arriving late belongs to nothing any more.
    key.write_report(&continuation(cid, 0, &[1; 43])).unwrap();
    assert_quiet(&key);

    // Same when the host only writes the late packet: the timeout is reported, the packet dropped.
    key.write_report(&init_packet(cid, PING, 100, &[2; 57])).unwrap();
    thread::sleep(Duration::from_millis(550));
    key.write_report(&continuation(cid, 0, &[2; 43])).unwrap();
    expect_error(&key, cid, ERR_MSG_TIMEOUT);
    assert_quiet(&key);
}

#[test]
fn packets_within_500_ms_of_each_other_complete_a_message() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    let payload = [3u8; 120];
    let packets = packets(cid, PING, &payload);
    for packet in &packets {
        key.write_report(packet).unwrap();
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(receive(&key).2, payload);
}

#[test]
fn another_channel_mid_transaction_is_channel_busy() {
    let key = VirtualKey::new(b"ctaphid");
    let first = allocate(&key);
    let second = allocate(&key);
    let payload = [5u8; 100];
    let packets = packets(first, PING, &payload);
    key.write_report(&packets[0]).unwrap();
    key.write_report(&init_packet(second, PING, 1, &[1])).unwrap();
    expect_error(&key, second, ERR_CHANNEL_BUSY);
    // INIT on broadcast is still served while busy, and the first message is unharmed.
    let third = allocate(&key);
    key.write_report(&packets[1]).unwrap();
    assert_eq!(receive(&key), (first, PING, payload.to_vec()));
    assert_eq!(transact(&key, second, PING, b"now").1, b"now");
    assert_eq!(transact(&key, third, PING, b"too").1, b"too");
}

#[test]
fn reserved_broadcast_and_unallocated_channels_are_invalid_channel() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    // CID 0 is reserved, even for INIT.
    key.write_report(&init_packet(0, INIT, 8, &[1; 8])).unwrap();
    expect_error(&key, 0, ERR_INVALID_CHANNEL);
    // Only INIT may use the broadcast channel.
    key.write_report(&init_packet(BROADCAST, PING, 1, &[1])).unwrap();
    expect_error(&key, BROADCAST, ERR_INVALID_CHANNEL);
    key.write_report(&continuation(BROADCAST, 0, &[1])).unwrap();
    expect_error(&key, BROADCAST, ERR_INVALID_CHANNEL);
    // A channel nobody allocated.
    let stranger = cid.wrapping_add(1000);
    key.write_report(&init_packet(stranger, PING, 1, &[1])).unwrap();
    expect_error(&key, stranger, ERR_INVALID_CHANNEL);
    key.write_report(&init_packet(stranger, INIT, 8, &[1; 8])).unwrap();
    expect_error(&key, stranger, ERR_INVALID_CHANNEL);
    key.write_report(&continuation(stranger, 0, &[1])).unwrap();
    expect_error(&key, stranger, ERR_INVALID_CHANNEL);
}

#[test]
fn stray_continuations_on_an_allocated_channel_are_ignored() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    key.write_report(&continuation(cid, 0, &[1; 59])).unwrap();
    key.write_report(&continuation(cid, 5, &[1; 59])).unwrap();
    assert_quiet(&key);
}

#[test]
fn read_times_out_with_none_when_the_key_has_nothing_to_say() {
    let key = VirtualKey::new(b"ctaphid");
    let started = Instant::now();
    assert_eq!(key.read_report(Duration::from_millis(120)).unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(120));
    assert_eq!(key.read_report(Duration::ZERO).unwrap(), None);
}

#[test]
fn disconnect_wakes_a_blocked_reader_and_fails_later_io() {
    let key = VirtualKey::new(b"ctaphid");
    let cid = allocate(&key);
    // A read that would time out long after the unplug, so how it ends tells the two apart.
    let read_timeout = Duration::from_secs(30);
    let reader = {
        let key = key.clone();
        thread::spawn(move || {
            let started = Instant::now();
            (key.read_report(read_timeout), started.elapsed())
        })
    };
    assert!(key.wait_for_blocked_reader(Duration::from_secs(30)), "the reader never blocked");
    assert!(key.is_connected());
    key.disconnect();
    let (result, waited) = reader.join().unwrap();
    assert!(result.is_err(), "a blocked read fails on unplug");
    assert!(waited < read_timeout, "woken by the unplug, not at its timeout: {waited:?}");
    assert!(!key.is_connected());
    let error = key.write_report(&init_packet(cid, PING, 0, &[])).unwrap_err();
    assert_eq!(error.to_string(), "the virtual security key was disconnected");
    assert!(key.read_report(Duration::from_secs(1)).is_err());
}

#[test]
fn clones_share_one_device_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<VirtualKey>();
    let key = VirtualKey::new(b"ctaphid");
    let host_side = key.clone();
    let cid = allocate(&host_side);
    let host = thread::spawn(move || transact(&host_side, cid, PING, b"shared").1);
    assert_eq!(host.join().unwrap(), b"shared");
    key.write_report(&init_packet(cid, WINK, 0, &[])).unwrap();
    read(&key);
    assert_eq!(key.clone().wink_count(), 1);
}
