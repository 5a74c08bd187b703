//! Running the programs of the docs and examples as a user would: optional tools with a loud skip,
//! a simulator of their own with its CA in a file, and outputs described for assertion messages.

#![allow(dead_code)] // every test crate uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aa_sim::{SimConfig, Simulator};

/// The repository root (the directory above libaa_logon/).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent")
}

/// `dir` (a path under target/<profile>/), emptied and created.
pub fn fresh_dir(dir: PathBuf) -> PathBuf {
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Whether `tool --version` runs; otherwise prints the loud skip notice (or fails when
/// AA_REQUIRE_ALL=1) saying that `what` did not run and how to get the tool.
pub fn tool_present(tool: &[&str], what: &str, install: &str) -> bool {
    let runs = Command::new(tool[0])
        .args(&tool[1..])
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if runs {
        return true;
    }
    let notice = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: {what}: `{} --version` cannot run.\n\
         !!! {install}; AA_REQUIRE_ALL=1 makes this a failure.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        tool.join(" ")
    );
    assert!(std::env::var("AA_REQUIRE_ALL").as_deref() != Ok("1"), "AA_REQUIRE_ALL=1 and {notice}");
    // Straight to the stderr stream: libtest's capture would swallow eprintln! of a passing test.
    let _ = std::io::stderr().write_all(notice.as_bytes());
    false
}

/// A simulator of its own (demo fixture, HTTPS) and the file in `dir` its CA is written to.
/// One per run of a program with the virtual key: the key's counter starts at 0 in every process
/// and a simulator accepts it once.
pub fn simulator(dir: &Path) -> (Simulator, PathBuf) {
    let sim = Simulator::start(SimConfig::default()).expect("the simulator starts");
    let ca = dir.join("aa-sim-ca.pem");
    std::fs::write(&ca, sim.ca_pem().expect("the simulator generated a CA")).expect("write the CA file");
    (sim, ca)
}

/// What a run printed, for assertion messages.
pub fn describe(command: &Command, output: &Output) -> String {
    format!(
        "{command:?} exited with {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `command` with `stdin` as its standard input. The programs bound their own waits (HTTP
/// and touch timeouts), so no hang guard is needed here.
pub fn run(command: &mut Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    child.stdin.take().expect("stdin is piped").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait for the program")
}

/// Runs a build step (or any command) that must succeed.
pub fn run_ok(command: &mut Command) -> Output {
    let output = run(command, "");
    assert!(output.status.success(), "{}", describe(command, &output));
    output
}

/// The C compiler flags of the docs' checks: C11, every warning an error.
pub const STRICT_C: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];

/// Compiles the binding's C# sources (bindings/csharp/src) with mcs into `dll`.
pub fn compile_csharp_binding(dll: &Path) {
    run_ok(
        Command::new("mcs")
            .args(["-target:library", "-nologo", &format!("-out:{}", dll.display())])
            .arg(format!("-recurse:{}/*.cs", repo().join("bindings/csharp/src").display())),
    );
}
