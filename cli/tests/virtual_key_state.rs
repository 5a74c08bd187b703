//! `--virtual-key-state`: the virtual key's counter survives the process, so successive
//! `aa-logon logon --virtual-key SEED` runs against one server that checks counters all succeed.
#![cfg(feature = "virtual-device")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aa_sim::{demo, SimConfig, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_aa-logon");

/// A scratch directory of this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("aa-logon-cli-state-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn logon(sim: &Simulator, ca_file: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["logon", "--url", sim.base_url(), "--endpoint-id", demo::ENDPOINT_ID, "--ca-file"])
        .arg(ca_file)
        .args(["--allow-app-id-host", demo::APP_ID_HOST, "--user", demo::USER, "--event", demo::EVENT])
        .args(["--virtual-key", "demo"])
        .args(extra)
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET)
        .stdin(Stdio::null())
        .output()
        .expect("aa-logon runs")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn three_runs_with_one_state_file_against_one_server_all_log_on() {
    let scratch = Scratch::new("three-runs");
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let ca_file = scratch.0.join("ca.pem");
    std::fs::write(&ca_file, sim.ca_pem().expect("generated CA")).expect("CA written");
    let state = scratch.0.join("demo.state");
    let state_arg = state.to_str().expect("UTF-8 path");

    for run in 1..=3 {
        let output = logon(&sim, &ca_file, &["--virtual-key-state", state_arg]);
        assert_eq!(output.status.code(), Some(0), "run {run}: {}", describe(&output));
        let saved = std::fs::read_to_string(&state).expect("the state file exists");
        assert!(saved.ends_with(&format!("counter {run}\n")), "run {run} saved: {saved}");
    }

    // Without the file, a new process's key starts again at 0: the server takes it for a replay.
    let output = logon(&sim, &ca_file, &[]);
    assert_ne!(output.status.code(), Some(0), "a fresh counter must be refused: {}", describe(&output));
}

#[test]
fn a_state_file_of_another_seed_is_a_usage_error_naming_the_file() {
    let scratch = Scratch::new("other-seed");
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let ca_file = scratch.0.join("ca.pem");
    std::fs::write(&ca_file, sim.ca_pem().expect("generated CA")).expect("CA written");
    let state = scratch.0.join("other.state");
    aa_virtual_key::VirtualKey::with_state_file(b"someone-else", &state).expect("state file made");

    let output = logon(&sim, &ca_file, &["--virtual-key-state", state.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(stderr.contains("another seed") && stderr.contains("other.state"), "{}", describe(&output));
}
