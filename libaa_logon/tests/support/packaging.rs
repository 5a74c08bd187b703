//! Shared by the packaging tests (tests/packaging_*.rs): the repository, scratch directories in
//! the target directory, tool detection with the loud skip of optional tools, and running
//! commands with their output shown on failure.

#![allow(dead_code)] // every packaging test uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root: the directory above this crate (libaa_logon/).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent").to_path_buf()
}

/// The workspace version (every crate takes `version.workspace = true`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `CARGO_TARGET_DIR` of this run: the directory above target/<profile>/.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let mut dir = profile.parent().expect("target/<profile>").to_path_buf();
    if std::env::var_os("CARGO_BUILD_TARGET").is_some() {
        dir = dir.parent().expect("target/<triple>/<profile>").to_path_buf();
    }
    dir
}

/// A fresh, empty target/packaging-tests/<name>/ (kept after the test, for inspection).
pub fn scratch(name: &str) -> PathBuf {
    let dir = target_dir().join("packaging-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn require_all() -> bool {
    std::env::var("AA_REQUIRE_ALL").is_ok_and(|value| value == "1")
}

/// Whether `program args…` runs and exits 0.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The tools of `needed` (a program, arguments that make it succeed, and what to say when it is
/// missing: the tool and how to install it) that are missing. When some are, prints the
/// loud skip notice naming what did not run and how to install them, and returns false — or fails
/// under AA_REQUIRE_ALL=1 (CI).
pub fn tools_present(what: &str, needed: &[(&str, &[&str], &str)]) -> bool {
    let missing: Vec<String> = needed
        .iter()
        .filter(|(program, args, _)| !runs(program, args))
        .map(|(_, _, missing)| (*missing).to_owned())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let notice = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: {what} did not run: missing {}.\n\
         !!! AA_REQUIRE_ALL=1 makes this a failure.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        missing.join(", ")
    );
    assert!(!require_all(), "AA_REQUIRE_ALL=1 and {notice}");
    eprintln!("{notice}");
    false
}

/// What a command printed, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command` (stdin closed) and returns its output; panics with everything it printed when
/// it fails.
pub fn run(mut command: Command, what: &str) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", command.get_program()));
    assert!(output.status.success(), "{what} failed: {}", describe(&output));
    output
}

/// `cargo build --release` of the workspace's default members into this run's target directory,
/// exactly as .ci/run's release step does (the same packages, so the same features: one build
/// serves both, a no-op when up to date). Returns target/release/.
pub fn release_build() -> PathBuf {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--quiet", "--release", "--locked", "--manifest-path"])
        .arg(repo().join("Cargo.toml"));
    command.env("CARGO_TARGET_DIR", target_dir());
    run(command, "cargo build --release");
    target_dir().join("release")
}

/// A running `aa-sim` (HTTPS on a free loopback port, generated CA written to a file), stopped on
/// drop.
pub struct SimProcess {
    child: std::process::Child,
    /// Kept open: aa-sim's standard output must stay writable while it runs.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    pub url: String,
    pub ca_file: PathBuf,
}

impl SimProcess {
    pub fn start(binary: &Path, dir: &Path) -> SimProcess {
        use std::io::BufRead;
        let ca_file = dir.join("aa-sim-ca.pem");
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--ca-out"])
            .arg(&ca_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let mut line = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        stdout.read_line(&mut line).expect("read aa-sim's first line");
        let url = line.trim().to_owned();
        assert!(url.starts_with("https://"), "aa-sim printed {line:?} instead of its URL");
        SimProcess { child, _stdout: stdout, url, ca_file }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
