//! The `aa-logon` binary's FIDO2 paths against the `aa-sim` binary run as its own process over
//! HTTPS (its generated CA written to a file), with the virtual key speaking CTAP2: FIDO2:1 with
//! and without a PIN (typed on standard input), a wrong PIN, U2F:1 answered over CTAP2, and the
//! CTAP2 details of `aa-logon devices`.
//!
//! The simulator binary is found next to this test's target directory (build it with
//! `cargo build -p aa-sim --bin aa-sim`) or at `$AA_SIM_BIN`; without it the simulator tests
//! skip loudly, unless AA_REQUIRE_ALL=1 makes that a failure.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use aa_sim::demo;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_aa-logon");
const PIN: &str = "4711";

/// `$AA_SIM_BIN`, else `aa-sim` in the target directory this test runs from.
fn sim_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AA_SIM_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/<test> → target/<profile>/aa-sim
    let candidate = exe.parent()?.parent()?.join(format!("aa-sim{}", std::env::consts::EXE_SUFFIX));
    candidate.is_file().then_some(candidate)
}

/// The simulator process, or `None` after a loud skip notice.
fn start_sim(test: &str) -> Option<SimProcess> {
    match sim_binary() {
        Some(binary) => Some(SimProcess::start(&binary)),
        None if std::env::var("AA_REQUIRE_ALL").as_deref() == Ok("1") => {
            panic!("{test}: the aa-sim binary is missing (cargo build -p aa-sim --bin aa-sim) and AA_REQUIRE_ALL=1")
        }
        None => {
            eprintln!("SKIPPED {test}: no aa-sim binary; build it with `cargo build -p aa-sim --bin aa-sim` or set AA_SIM_BIN");
            None
        }
    }
}

/// `aa-sim --listen 127.0.0.1:0 --ca-out …`: its first standard output line is the base URL.
struct SimProcess {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl SimProcess {
    fn start(binary: &PathBuf) -> SimProcess {
        let dir = std::env::temp_dir().join(format!(
            "aa-logon-cli-fido2-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--ca-out"])
            .arg(dir.join("ca.pem"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("aa-sim starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut url = String::new();
        stdout.read_line(&mut url).expect("aa-sim prints its URL");
        // Keep reading whatever else it prints, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout.into_inner().take(u64::MAX), &mut std::io::sink());
        });
        let url = url.trim().to_owned();
        assert!(url.starts_with("https://127.0.0.1:"), "aa-sim printed {url:?}");
        SimProcess { child, url, dir }
    }

    /// `aa-logon logon` against the simulator for `user` at `event` with `method`, the virtual
    /// key of `seed` speaking `protocols`, and `extra` options.
    fn logon(
        &self,
        user: &str,
        event: &str,
        method: &str,
        seed: &str,
        protocols: &str,
        extra: &[&str],
    ) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("logon")
            .args(["--url", &self.url, "--endpoint-id", demo::ENDPOINT_ID])
            .arg("--ca-file")
            .arg(self.dir.join("ca.pem"))
            .args(["--allow-app-id-host", demo::APP_ID_HOST])
            .args(["--user", user, "--event", event, "--method", method])
            .args(["--virtual-key", seed, "--virtual-key-protocols", protocols, "--key-timeout", "20"])
            .args(extra)
            .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
        command
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(mut command: Command, stdin: &str) -> Output {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("aa-logon starts");
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("piped");
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("aa-logon ends")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(output)))
}

#[test]
fn fido2_logon_with_a_ctap2_key() {
    let Some(sim) = start_sim("fido2_logon_with_a_ctap2_key") else { return };
    let output =
        run(sim.logon(demo::USER, demo::EVENT_FIDO2, "FIDO2:1", demo::VIRTUAL_KEY_SEED, "ctap2", &[]), "");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Logon OK") && stdout.contains("FIDO2 only"), "{}", describe(&output));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("PIN"), "no PIN asked: {}", describe(&output));
}

#[test]
fn fido2_logon_asks_for_the_pin_and_a_wrong_one_exits_5() {
    let Some(sim) = start_sim("fido2_logon_asks_for_the_pin_and_a_wrong_one_exits_5") else { return };
    let pin_option = ["--virtual-key-pin", PIN, "--json"];
    let logon = || {
        sim.logon(
            demo::USER_FIDO2_UV,
            demo::EVENT_FIDO2,
            "FIDO2:1",
            demo::FIDO2_UV_KEY_SEED,
            "both",
            &pin_option,
        )
    };

    let output = run(logon(), &format!("{PIN}\n"));
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(json_of(&output)["status"], "OK");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PIN of the security key (8 retries left)"), "{}", describe(&output));
    assert!(
        !stderr.contains(PIN) && !String::from_utf8_lossy(&output.stdout).contains(PIN),
        "the PIN is never shown"
    );

    let output = run(logon(), "0000\n");
    assert_eq!(output.status.code(), Some(5), "{}", describe(&output));
    let error = json_of(&output);
    assert_eq!(error["error"]["kind"], "pin_invalid", "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("7 retries left"), "{error}");
}

#[test]
fn u2f_logon_answered_over_ctap2() {
    let Some(sim) = start_sim("u2f_logon_answered_over_ctap2") else { return };
    let output = run(sim.logon(demo::USER, demo::EVENT, "U2F:1", demo::VIRTUAL_KEY_SEED, "ctap2", &[]), "");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("U2F only"), "{}", describe(&output));
}

#[test]
fn devices_show_the_ctap2_details() {
    let output = Command::new(BIN)
        .args([
            "devices",
            "--virtual-key",
            "demo",
            "--virtual-key-protocols",
            "ctap2",
            "--virtual-key-pin",
            PIN,
        ])
        .output()
        .expect("aa-logon runs");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for line in [
        "U2F:          not supported (NMSG)",
        "CTAP2:        FIDO_2_0, FIDO_2_1",
        "PIN:          set, 8 retries left",
    ] {
        assert!(text.contains(line), "{line:?} missing: {}", describe(&output));
    }
    assert!(text.contains("clientPin=yes"), "{}", describe(&output));

    let output = Command::new(BIN)
        .args(["devices", "--json", "--virtual-key", "demo", "--virtual-key-protocols", "u2f"])
        .output()
        .expect("aa-logon runs");
    let devices = json_of(&output)["devices"].clone();
    assert_eq!(devices[0]["ctap2"], Value::Null, "a U2F-only key has no CTAP2 details");
    assert_eq!(devices[0]["u2f_version"], "U2F_V2");
}
