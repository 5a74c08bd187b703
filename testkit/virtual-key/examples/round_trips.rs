//! Prints how fast the virtual key answers over 64-byte reports, so tests and benchmarks of the
//! library know the key is never their bottleneck. Run: `cargo run --release -p aa-virtual-key
//! --example round_trips`.

use std::time::{Duration, Instant};

use aa_virtual_key::{application_parameter, ctaphid, Report, VirtualKey};

const APP_ID: &str = "https://aa.example.com";

fn exchange(key: &VirtualKey, cid: u32, command: u8, payload: &[u8]) -> usize {
    for report in ctaphid::frames(cid, command, payload) {
        key.write_report(&report).expect("connected");
    }
    let first = read(key);
    let len = usize::from(u16::from_be_bytes([first[5], first[6]]));
    let mut received = len.min(ctaphid::INIT_PAYLOAD_LEN);
    while received < len {
        read(key);
        received += ctaphid::CONT_PAYLOAD_LEN;
    }
    len
}

fn read(key: &VirtualKey) -> Report {
    key.read_report(Duration::from_secs(5)).expect("connected").expect("an answer")
}

fn measure(label: &str, rounds: u32, mut round: impl FnMut()) {
    let started = Instant::now();
    for _ in 0..rounds {
        round();
    }
    let elapsed = started.elapsed();
    let per_round = elapsed / rounds;
    let per_second = f64::from(rounds) / elapsed.as_secs_f64();
    println!("{label:<44} {per_round:>10.1?} per round trip  {per_second:>10.0} per second");
}

fn main() {
    let key = VirtualKey::new(b"demo");
    let mut nonce = [0u8; 64];
    nonce[..7].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x08]);
    key.write_report(&nonce).expect("connected");
    let init = read(&key);
    let cid = u32::from_be_bytes(init[15..19].try_into().expect("4 bytes"));

    let enrollment = key.enrollment(APP_ID);
    let mut authenticate = vec![0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x81];
    authenticate.extend_from_slice(&[0x11; 32]);
    authenticate.extend_from_slice(&application_parameter(APP_ID));
    authenticate.push(64);
    authenticate.extend_from_slice(&enrollment.key_handle);
    authenticate.extend_from_slice(&[0, 0]);
    let mut check_only = authenticate.clone();
    check_only[2] = 0x07;

    measure("PING, 8 bytes (1 report each way)", 20_000, || {
        exchange(&key, cid, 0x01, &[0; 8]);
    });
    measure("PING, 7609 bytes (129 reports each way)", 500, || {
        exchange(&key, cid, 0x01, &[0; ctaphid::MAX_MESSAGE_LEN]);
    });
    measure("MSG AUTHENTICATE 0x07 check-only", 5_000, || {
        exchange(&key, cid, 0x03, &check_only);
    });
    measure("MSG AUTHENTICATE 0x03 (ECDSA P-256 sign)", 1_000, || {
        exchange(&key, cid, 0x03, &authenticate);
    });
    println!("signatures made: {}", key.counter());
}
