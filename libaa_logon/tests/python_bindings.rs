//! Runs the Python binding's pytest suite (bindings/python/tests) against the libaa_logon.so and
//! aa-sim binary of this cargo run. Without python3 or pytest the test prints a loud skip notice
//! and passes, unless AA_REQUIRE_ALL=1 (CI), where a missing toolchain is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/native.rs"]
mod native;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn require_all() -> bool {
    std::env::var("AA_REQUIRE_ALL").is_ok_and(|value| value == "1")
}

/// Whether `python3 -m pytest` can run; the reason when it cannot.
fn pytest_available() -> Result<(), String> {
    match Command::new("python3").args(["-m", "pytest", "--version"]).output() {
        Err(error) => Err(format!("python3 cannot be run: {error}")),
        Ok(output) if !output.status.success() => Err(format!(
            "pytest is not installed for python3 ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => Ok(()),
    }
}

fn built(path: PathBuf, how: &str) -> PathBuf {
    assert!(path.is_file(), "{} is missing: {how}", path.display());
    path
}

#[test]
fn pytest_suite_passes_against_the_simulator() {
    if let Err(reason) = pytest_available() {
        let notice = format!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: the Python binding tests (bindings/python/tests) did not run:\n\
             !!! {reason}.\n\
             !!! Install pytest with `python3 -m pip install pytest`; AA_REQUIRE_ALL=1 makes this a failure.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        assert!(!require_all(), "AA_REQUIRE_ALL=1 and {notice}");
        // Straight to the stderr stream: libtest's capture would swallow eprintln! of a passing test.
        let _ = std::io::stderr().write_all(notice.as_bytes());
        return;
    }
    let profile = native::profile_dir();
    let library = native::library();
    let simulator = built(
        profile.join(format!("aa-sim{}", std::env::consts::EXE_SUFFIX)),
        "run `cargo test --workspace --all-features` (which builds the aa-sim binary) \
         or `cargo build -p aa-sim` first",
    );
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "bindings/python/tests"])
        .current_dir(repo())
        .env("AA_LOGON_LIBRARY", &library)
        .env("AA_SIM_BIN", &simulator)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .expect("run python3 -m pytest");
    assert!(status.success(), "the Python binding tests failed ({status}); see the pytest output above");
}
