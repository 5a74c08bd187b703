//! Runs the Python binding's pytest suite (bindings/python/tests) against the libaa_logon.so,
//! libaa_logon_testkit.so (virtual keys) and aa-sim binary of this cargo run, and checks the
//! package with `mypy --strict`. Without python3, pytest or mypy the test concerned prints a loud
//! skip notice and passes, unless AA_REQUIRE_ALL=1 (CI), where a missing toolchain is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/native.rs"]
mod native;

/// The repository root (the directory above libaa_logon/).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent")
}

fn require_all() -> bool {
    std::env::var("AA_REQUIRE_ALL").is_ok_and(|value| value == "1")
}

/// Whether `python3 -m <module>` can run; the reason when it cannot.
fn python_module_available(module: &str) -> Result<(), String> {
    match Command::new("python3").args(["-m", module, "--version"]).output() {
        Err(error) => Err(format!("python3 cannot be run: {error}")),
        Ok(output) if !output.status.success() => Err(format!(
            "{module} is not installed for python3 ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => Ok(()),
    }
}

/// Prints the loud skip notice (or fails under AA_REQUIRE_ALL=1); `what` names what did not run.
fn skip(what: &str, module: &str, reason: &str) {
    let notice = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: {what} did not run:\n\
         !!! {reason}.\n\
         !!! Install it with `python3 -m pip install {module}`; AA_REQUIRE_ALL=1 makes this a failure.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    assert!(!require_all(), "AA_REQUIRE_ALL=1 and {notice}");
    // Straight to the stderr stream: libtest's capture would swallow eprintln! of a passing test.
    let _ = std::io::stderr().write_all(notice.as_bytes());
}

fn built(path: PathBuf, how: &str) -> PathBuf {
    assert!(path.is_file(), "{} is missing: {how}", path.display());
    path
}

#[test]
fn pytest_suite_passes_against_the_simulator() {
    if let Err(reason) = python_module_available("pytest") {
        skip("the Python binding tests (bindings/python/tests)", "pytest", &reason);
        return;
    }
    let profile = native::profile_dir();
    let library = native::library();
    let testkit = native::testkit_library();
    let simulator = built(
        profile.join(format!("aa-sim{}", std::env::consts::EXE_SUFFIX)),
        "run `cargo test --workspace --all-features` (which builds the aa-sim binary) \
         or `cargo build -p aa-sim` first",
    );
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "bindings/python/tests"])
        .current_dir(repo())
        .env("AA_LOGON_LIBRARY", &library)
        .env("AA_LOGON_TESTKIT_LIBRARY", &testkit)
        .env("AA_SIM_BIN", &simulator)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .expect("run python3 -m pytest");
    assert!(status.success(), "the Python binding tests failed ({status}); see the pytest output above");
}

#[test]
fn package_is_clean_under_mypy_strict() {
    if let Err(reason) = python_module_available("mypy") {
        skip("mypy --strict of the Python binding (bindings/python/aa_logon)", "mypy", &reason);
        return;
    }
    let output = Command::new("python3")
        .args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null", "aa_logon", "tests"])
        .current_dir(repo().join("bindings/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3 -m mypy");
    assert!(
        output.status.success(),
        "mypy --strict reports problems in bindings/python:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
