//! Drives the C tests in libaa_logon/tests/c/: both headers (include/aa_logon.h and the
//! testkit's aa_logon_testkit.h) must compile as C11 and C++17 with warnings as errors (and
//! survive double inclusion); each test_*.c program is compiled against them, linked to this
//! run's libaa_logon.so and libaa_logon_testkit.so and run against the simulator — under valgrind
//! (zero errors, nothing definitely or indirectly lost) when valgrind is installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aa_sim::{SimConfig, Simulator};

#[path = "support/native.rs"]
mod native;

/// The repository root (the directory above libaa_logon/).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("libaa_logon/ has a parent")
}

/// libaa_logon/tests/c/.
fn c_tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

fn include_dirs() -> [PathBuf; 2] {
    [repo().join("include"), repo().join("testkit/capi/include")]
}

fn work_dir() -> PathBuf {
    let dir = native::profile_dir().join("c-tests");
    std::fs::create_dir_all(&dir).expect("create c-tests dir");
    dir
}

fn require_all() -> bool {
    std::env::var("AA_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Longest a compiler or test program may run before it counts as hung and is killed (a hang
/// would otherwise stall the whole `cargo test`); generous, as valgrind is slow.
const HANG_LIMIT: Duration = Duration::from_secs(900);

/// Runs `command` to completion (killing it after HANG_LIMIT); panics unless it succeeded.
/// Returns its stdout and stderr.
fn run(command: &mut Command) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    // Wait for the exit itself (on a waiter thread); the limit only guards against a hang.
    let pid = child.id().to_string();
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = exited.send(child.wait().expect("wait for the child"));
    });
    let status = match exit.recv_timeout(HANG_LIMIT) {
        Ok(status) => Some(status),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            let _ = exit.recv();
            None
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout.join().unwrap_or_default()),
        String::from_utf8_lossy(&stderr.join().unwrap_or_default())
    );
    match status {
        Some(status) => assert!(status.success(), "{command:?} failed ({status}):\n{text}"),
        None => panic!("{command:?} hung: killed after {HANG_LIMIT:?}:\n{text}"),
    }
    text
}

const STRICT: &[&str] = &["-Wall", "-Wextra", "-Wpedantic", "-Werror"];

/// Compiles `source` for syntax only, as C11 and as C++17, with warnings as errors.
fn check_syntax(source: &Path) {
    for (standard, language) in [("-std=c11", "c"), ("-std=c++17", "c++")] {
        let compiler = if language == "c" { "cc" } else { "c++" };
        let mut command = Command::new(compiler);
        command.args([standard, "-x", language, "-fsyntax-only"]).args(STRICT);
        for dir in include_dirs() {
            command.arg("-I").arg(dir);
        }
        run(command.arg(source));
    }
}

#[test]
fn headers_compile_as_c11_and_cpp17_and_survive_double_inclusion() {
    let dir = work_dir();
    let shipped = dir.join("header_twice.c");
    std::fs::write(
        &shipped,
        "#include \"aa_logon.h\"\n#include \"aa_logon.h\"\n\
         int main(void) { return sizeof(aa_hid_io) + sizeof(aa_hid_device_info) == 0 || !aa_status_str(AA_STATUS_OK); }\n",
    )
    .unwrap();
    check_syntax(&shipped);
    // The testkit header includes aa_logon.h itself: either order, each twice.
    for (name, first, second) in [
        ("testkit_header_twice.c", "aa_logon_testkit.h", "aa_logon.h"),
        ("testkit_header_after.c", "aa_logon.h", "aa_logon_testkit.h"),
    ] {
        let source = dir.join(name);
        std::fs::write(
            &source,
            format!(
                "#include \"{first}\"\n#include \"{second}\"\n#include \"{first}\"\n#include \"{second}\"\n\
                 int main(void) {{ aa_virtual_key *key = 0; aa_presence p = AA_PRESENCE_ON_DEMAND; (void)p;\n\
                 return aa_virtual_key_free(key) != AA_STATUS_OK; }}\n"
            ),
        )
        .unwrap();
        check_syntax(&source);
    }
}

/// A fresh simulator and its CA file: every run starts with a virtual key whose counter is 0,
/// and the simulator rightly rejects a counter it has seen before.
fn simulator(name: &str) -> (Simulator, PathBuf) {
    let sim = Simulator::start(SimConfig::default()).expect("start simulator");
    let ca = work_dir().join(format!("{name}-ca.pem"));
    std::fs::write(&ca, sim.ca_pem().expect("generated CA")).unwrap();
    (sim, ca)
}

/// `-L` and rpath for the directories of both libraries.
fn link_args(command: &mut Command) -> &mut Command {
    for dir in [native::library_dir(), native::testkit_library_dir()] {
        command.arg("-L").arg(dir).arg(format!("-Wl,-rpath,{}", dir.display()));
    }
    command
}

fn compile(name: &str) -> PathBuf {
    let exe = work_dir().join(name);
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-g"]).args(STRICT);
    for dir in include_dirs() {
        cc.arg("-I").arg(dir);
    }
    cc.arg(c_tests_dir().join(format!("{name}.c"))).arg("-o").arg(&exe);
    link_args(&mut cc).args(["-laa_logon", "-laa_logon_testkit", "-lpthread"]);
    run(&mut cc);
    exe
}

/// Makes the loader take this run's libraries: cargo's own LD_LIBRARY_PATH for tests lists
/// target/<profile>, where an older build's libaa_logon.so.0 may linger, and it wins over rpath.
fn with_this_library(command: &mut Command) -> &mut Command {
    let mut paths = vec![native::library_dir().to_path_buf(), native::testkit_library_dir().to_path_buf()];
    paths.extend(std::env::var_os("LD_LIBRARY_PATH").iter().flat_map(std::env::split_paths));
    command.env("LD_LIBRARY_PATH", std::env::join_paths(paths).expect("LD_LIBRARY_PATH"))
}

fn run_c_test(name: &str) {
    let exe = compile(name);
    let (sim, ca) = simulator(name);
    let mut plain = Command::new(&exe);
    with_this_library(&mut plain).env("AA_TEST_URL", sim.base_url()).env("AA_TEST_CA_FILE", &ca);
    println!("{}", run(&mut plain));
    drop(sim);

    if !have("valgrind") {
        assert!(!require_all(), "valgrind is required (AA_REQUIRE_ALL=1) but not installed");
        eprintln!("\n*** SKIPPED: valgrind run of {name}: valgrind is not installed (apt-get install valgrind) ***\n");
        return;
    }
    let (sim, ca) = simulator(name);
    let mut checked = Command::new("valgrind");
    with_this_library(&mut checked)
        .arg(format!("--suppressions={}", c_tests_dir().join("valgrind.supp").display()))
        .args([
            "--error-exitcode=97",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--track-origins=yes",
            "-q",
        ])
        .arg(&exe)
        .env("AA_TEST_URL", sim.base_url())
        .env("AA_TEST_CA_FILE", &ca)
        .env("AA_TEST_SLOW", "1");
    println!("{}", run(&mut checked));
}

#[test]
fn c_u2f_logon() {
    run_c_test("test_u2f_logon");
}

#[test]
fn c_chain_and_wrong_password() {
    run_c_test("test_chain");
}

#[test]
fn c_cancel_from_another_thread() {
    run_c_test("test_cancel");
}

#[test]
fn c_misuse_is_reported_not_crashing() {
    run_c_test("test_misuse");
}

#[test]
fn c_custom_transport_carries_a_logon() {
    run_c_test("test_custom_transport");
}

#[test]
fn c_every_method_a_login_agent_meets() {
    run_c_test("test_methods");
}

#[test]
fn c_fido2_and_ctap2_keys() {
    run_c_test("test_fido2");
}

#[test]
fn c_example_compiles() {
    let exe = work_dir().join("example_logon");
    let mut cc = Command::new("cc");
    cc.args(["-std=c11"])
        .args(STRICT)
        .arg("-I")
        .arg(repo().join("include"))
        .arg(repo().join("examples/c/logon.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(native::library_dir())
        .arg(format!("-Wl,-rpath,{}", native::library_dir().display()))
        .arg("-laa_logon");
    run(&mut cc);
    let usage = with_this_library(&mut Command::new(&exe)).env_remove("AA_ENDPOINT_SECRET").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage"));
}

#[test]
fn every_c_program_is_run_by_a_test() {
    let driver = include_str!("c_abi.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(c_tests_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(program) = name.strip_prefix("test_").and_then(|n| n.strip_suffix(".c")) {
            if !driver.contains(&format!("run_c_test(\"test_{program}\")")) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "C test programs no #[test] runs: {missing:?}");
}
