//! The `aa-sim` binary: first stdout line is the base URL (then the other instances' with
//! --instances); enroll-virtual-key; --help.

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
        "--instances",
        "enroll-virtual-key",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    let bad = Command::new(BIN).args(["--fixture", "/nonexistent.json"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read"));
    let none = Command::new(BIN).args(["--instances", "0"]).output().unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("--instances"));
}

/// Kills the child when the test ends, also when it fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn instances_start_a_cluster_whose_urls_follow_the_first_line() {
    let mut child = Child(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--http", "--instances", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_owned());
    }
    let first = lines[0].clone();
    assert!(first.starts_with("http://127.0.0.1:"), "{lines:?}");
    let others: Vec<String> = lines[1..]
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let prefix = format!("aa-sim instance {} listening on ", index + 1);
            line.strip_prefix(&prefix).unwrap_or_else(|| panic!("{line:?} lacks {prefix:?}")).to_owned()
        })
        .collect();

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(format!("{}/sim/v1/instances", others[1])).call().unwrap();
    let listed: serde_json::Value = response.body_mut().read_json().unwrap();
    let urls: Vec<&str> =
        listed.as_array().unwrap().iter().map(|entry| entry["base_url"].as_str().unwrap()).collect();
    assert_eq!(urls, [first.as_str(), others[0].as_str(), others[1].as_str()]);

    // The other languages' tests take instances down through the routes.
    let response = agent
        .post(format!("{first}/sim/v1/instances/1/outage"))
        .send_json(serde_json::json!({ "kind": "refuse" }))
        .unwrap();
    assert_eq!(response.status(), 200);
    let address = others[0].trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(address).is_err());
    let response = agent.delete(format!("{first}/sim/v1/instances/1/outage")).call().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(agent.get(format!("{}/sim/v1/stats", others[0])).call().unwrap().status(), 200);
}
