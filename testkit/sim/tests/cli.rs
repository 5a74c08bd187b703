//! The `aa-sim` binary: first stdout line is the base URL; enroll-virtual-key; --help.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use aa_virtual_key::KeyMaterial;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const BIN: &str = env!("CARGO_BIN_EXE_aa-sim");

#[test]
fn serves_and_prints_the_base_url_first() {
    let ca_path = std::env::temp_dir().join(format!("aa-sim-ca-{}.pem", std::process::id()));
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--ca-out"])
        .arg(&ca_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().to_owned();
    let ca = std::fs::read_to_string(&ca_path);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(&ca_path);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert!(ca.unwrap().contains("BEGIN CERTIFICATE"));
}

#[test]
fn enroll_virtual_key_prints_the_fixture_credential() {
    let output = Command::new(BIN)
        .args(["enroll-virtual-key", "--seed", "demo", "--app-id", "https://aa-sim.local"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let expected = KeyMaterial::from_seed(b"demo").enrollment("https://aa-sim.local");
    assert_eq!(URL_SAFE_NO_PAD.decode(printed["key_handle"].as_str().unwrap()).unwrap(), expected.key_handle);
    assert_eq!(URL_SAFE_NO_PAD.decode(printed["public_key"].as_str().unwrap()).unwrap(), expected.public_key);
}

#[test]
fn help_explains_every_option() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for option in [
        "--listen",
        "--http",
        "--fixture",
        "--ca-out",
        "--cert",
        "--key",
        "--endpoint-session-lifetime",
        "enroll-virtual-key",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    let bad = Command::new(BIN).args(["--fixture", "/nonexistent.json"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read"));
}
