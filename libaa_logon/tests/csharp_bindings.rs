//! Drives the C# binding's tests: compiles bindings/csharp with mono's `mcs` into
//! target/<profile>/csharp-tests/ and runs them with `mono` against this build's libaa_logon.so,
//! the test-only libaa_logon_testkit.so (virtual keys) and the `aa-sim` simulator; then checks
//! that a missing libaa_logon is reported with the places the binding looked. Without mcs or mono
//! the test prints a loud skip and passes, unless AA_REQUIRE_ALL=1 makes a missing toolchain a
//! failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "support/native.rs"]
mod native;

/// The repository root: the directory above this crate (libaa_logon/).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent")
}

#[test]
fn csharp_binding_tests_pass_under_mono() {
    if !toolchain_present() {
        return;
    }
    let profile = native::profile_dir();
    let library = native::library();
    let testkit = native::testkit_library();
    let out = profile.join("csharp-tests");
    fs::create_dir_all(&out).expect("create target/<profile>/csharp-tests");

    let binding = repo().join("bindings/csharp");
    let dll = out.join("AaLogon.dll");
    let exe = out.join("AaLogonTests.exe");
    // The library must build warning-free, XML docs on every public member included.
    let mut compile_library = Command::new("mcs");
    compile_library
        .args(["-target:library", "-warn:4", "-warnaserror+", "-nologo"])
        .arg(format!("-out:{}", dll.display()))
        .arg(format!("-doc:{}", out.join("AaLogon.xml").display()))
        .args(sources(&binding.join("src")));
    run_checked(compile_library, "mcs (AaLogon.dll)");
    let mut compile_tests = Command::new("mcs");
    compile_tests
        .args(["-target:exe", "-warn:4", "-warnaserror+", "-nologo"])
        .arg(format!("-out:{}", exe.display()))
        .arg(format!("-r:{}", dll.display()))
        .args(sources(&binding.join("tests")));
    run_checked(compile_tests, "mcs (AaLogonTests.exe)");
    // Mono resolves DllImport("aa_logon") and DllImport("aa_logon_testkit") through this map
    // first, then LD_LIBRARY_PATH.
    fs::write(
        out.join("AaLogon.dll.config"),
        format!(
            "<configuration>\n  <dllmap dll=\"aa_logon\" target=\"{}\" />\n  \
             <dllmap dll=\"aa_logon_testkit\" target=\"{}\" />\n</configuration>\n",
            library.display(),
            testkit.display()
        ),
    )
    .expect("write AaLogon.dll.config");

    let library_path = prepend_path(native::library_dir(), std::env::var_os("LD_LIBRARY_PATH"));
    let mut run = Command::new("mono");
    run.arg("--debug")
        .arg(&exe)
        .current_dir(&out)
        .env("LD_LIBRARY_PATH", prepend_path(native::testkit_library_dir(), Some(library_path)))
        .stdin(Stdio::null());
    // The simulator: the aa-sim binary of this build when it exists (cargo test --workspace builds
    // it), otherwise one in-process, handed over by URL and CA file.
    let sim_bin = profile.join(format!("aa-sim{}", std::env::consts::EXE_SUFFIX));
    let _in_process = if sim_bin.is_file() {
        run.env("AA_SIM_BIN", &sim_bin).env_remove("AA_TEST_URL").env_remove("AA_TEST_CA_FILE");
        None
    } else {
        let sim = aa_sim::Simulator::start(aa_sim::SimConfig::default()).expect("simulator starts");
        let ca = out.join("simulator-ca.pem");
        fs::write(&ca, sim.ca_pem().expect("the simulator generated a CA")).expect("write the CA");
        run.env("AA_TEST_URL", sim.base_url()).env("AA_TEST_CA_FILE", &ca);
        Some(sim)
    };
    let output = run.output().expect("run mono");
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let summary = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(output.status.success(), "C# tests failed ({}): {summary}", output.status);
    assert!(
        summary.ends_with(" 0 failed") && !summary.starts_with("0 passed"),
        "unexpected summary: {summary}"
    );

    missing_library_is_reported_with_the_places_looked_at(&dll, &exe, &out.join("no-native"));
}

/// The same assemblies in a directory without the dllmap, run with no library on LD_LIBRARY_PATH:
/// the first call fails with the binding's message, which names every place looked at.
fn missing_library_is_reported_with_the_places_looked_at(dll: &Path, exe: &Path, dir: &Path) {
    fs::create_dir_all(dir).expect("create csharp-tests/no-native");
    for file in [dll, exe] {
        fs::copy(file, dir.join(file.file_name().expect("file name"))).expect("copy an assembly");
    }
    let nowhere = dir.join("no-such-dir");
    let output = Command::new("mono")
        .arg(dir.join(exe.file_name().expect("file name")))
        .current_dir(dir)
        .env("LD_LIBRARY_PATH", &nowhere)
        .stdin(Stdio::null())
        .output()
        .expect("run mono without the native library");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected the runner's load-failure exit code; stderr:\n{stderr}"
    );
    let config = format!("{}.config: no such file", dir.join("AaLogon.dll").display());
    let next_to_app = format!("{}: no such file", dir.join("libaa_logon.so").display());
    let on_path = format!("$LD_LIBRARY_PATH: {}: no such file", nowhere.join("libaa_logon.so").display());
    for expected in [
        "Cannot load the native library libaa_logon.so",
        &config,
        &next_to_app,
        &on_path,
        "system library path",
    ] {
        assert!(stderr.contains(expected), "the load failure does not say {expected:?}:\n{stderr}");
    }
}

fn toolchain_present() -> bool {
    let missing: Vec<&str> = ["mcs", "mono"]
        .into_iter()
        .filter(|tool| {
            Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| !s.success())
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "C# BINDING TESTS SKIPPED: {} not found (install the mono-mcs and mono-runtime packages)",
        missing.join(" and ")
    );
    if std::env::var("AA_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{message}; AA_REQUIRE_ALL=1 makes this a failure");
    }
    let bar = "!".repeat(message.len());
    eprintln!("\n{bar}\n{message}\n{bar}\n");
    false
}

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap_or_else(|e| panic!("read {}: {e}", current.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "cs") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no C# sources in {}", dir.display());
    files
}

fn run_checked(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn prepend_path(dir: &Path, existing: Option<std::ffi::OsString>) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(existing) = existing {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).expect("join LD_LIBRARY_PATH")
}
