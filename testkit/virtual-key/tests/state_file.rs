//! The counter kept in a state file: successive keys of one seed and one file (as successive
//! processes would make them) keep counting up; a failed save refuses the signature.

mod common;

use std::fs;
use std::path::PathBuf;

use aa_virtual_key::{application_parameter, VirtualKey};
use common::*;

const APP_ID: &str = "https://aa.example.com";
const CHALLENGE: [u8; 32] = [0x5C; 32];

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aa-virtual-key-tests-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Signs once with presence not enforced (control byte 08) and returns the signature's counter.
fn sign(key: &VirtualKey) -> Result<u32, Vec<u8>> {
    let handle = key.enrollment(APP_ID).key_handle;
    let response = key.apdu(&authenticate_apdu(0x08, &CHALLENGE, &application_parameter(APP_ID), &handle));
    if response.ends_with(&[0x90, 0x00]) {
        Ok(u32::from_be_bytes(response[1..5].try_into().unwrap()))
    } else {
        Err(response)
    }
}

#[test]
fn keys_made_one_after_another_continue_the_counter() {
    let path = scratch_dir("continue").join("demo.state");
    for process in 0..3u32 {
        let key = VirtualKey::with_state_file(b"demo", &path).unwrap();
        assert_eq!(key.counter(), process * 2, "process {process} starts where the last stopped");
        assert_eq!(sign(&key), Ok(process * 2 + 1));
        assert_eq!(sign(&key), Ok(process * 2 + 2));
    }
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("aa-virtual-key state 1\n") && text.ends_with("counter 6\n"), "{text}");
    assert!(!text.contains("demo"), "the file never holds the seed: {text}");
}

#[test]
fn two_keys_taking_turns_with_one_file_never_repeat_a_counter() {
    let path = scratch_dir("turns").join("demo.state");
    let first = VirtualKey::with_state_file(b"demo", &path).unwrap();
    let second = VirtualKey::with_state_file(b"demo", &path).unwrap();
    assert_eq!(sign(&first), Ok(1));
    assert_eq!(sign(&second), Ok(2), "the second key reads the first one's save");
    assert_eq!(sign(&first), Ok(3));
}

#[test]
fn a_file_of_another_seed_is_refused() {
    let path = scratch_dir("other-seed").join("key.state");
    sign(&VirtualKey::with_state_file(b"demo", &path).unwrap()).unwrap();
    let error = VirtualKey::with_state_file(b"other", &path).unwrap_err().to_string();
    assert!(error.contains("another seed"), "{error}");
}

#[test]
fn a_signature_whose_counter_cannot_be_saved_is_refused() {
    let dir = scratch_dir("unsaveable");
    let path = dir.join("key.state");
    let key = VirtualKey::with_state_file(b"demo", &path).unwrap();
    assert_eq!(sign(&key), Ok(1));
    // A directory where the file was: neither readable as a state nor replaceable by rename.
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    fs::write(path.join("occupied"), b"").unwrap();
    assert_eq!(sign(&key), Err(vec![0x6F, 0x00]));
    fs::remove_dir_all(&path).unwrap();
    assert_eq!(sign(&key), Ok(2), "signing resumes once the file can be saved again");
}
