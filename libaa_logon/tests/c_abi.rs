//! Drives the C tests in libaa_logon/tests/c/: both headers (include/aa_logon.h and the
//! testkit's aa_logon_testkit.h) must compile as C11 and C++17 with warnings as errors (and
//! survive double inclusion); each test_*.c program is compiled against them, linked to this
//! run's libaa_logon.so and libaa_logon_testkit.so and run against the simulator (a two-instance
//! cluster; test_cluster.c also with instances taken down) — under valgrind (zero errors, nothing
//! definitely or indirectly lost) when valgrind is installed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aa_sim::{Outage, SimConfig, Simulator};

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

/// What a program is to do, named to it in AA_TEST_SCENARIO: the instances of the cluster taken
/// down before it starts, and what the simulator must have seen once it ended.
struct Scenario {
    name: &'static str,
    outages: &'static [(usize, Outage)],
    afterwards: fn(&Simulator),
}

fn nothing_more(_: &Simulator) {}

/// A fresh two-instance simulator cluster (AA_TEST_URL, AA_TEST_URL_2; programs that test no
/// failover use the first only) with the scenario's outages, and its CA file: every run starts
/// with a virtual key whose counter is 0, and the simulator rightly rejects a counter it has
/// seen before.
fn simulator(name: &str, scenario: Option<&Scenario>) -> (Simulator, PathBuf) {
    let sim = Simulator::start_cluster(SimConfig::default(), 2).expect("start simulator");
    for (instance, outage) in scenario.map_or(&[][..], |s| s.outages) {
        sim.instance(*instance).set_outage(*outage).expect("outage set");
    }
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

/// Compiles tests/c/`name`.c into the work directory as `label` (tests running one program in
/// several scenarios at once each build their own).
fn compile(name: &str, label: &str) -> PathBuf {
    let exe = work_dir().join(label);
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

/// The environment the C programs read: the simulator's URLs, its CA file, the scenario.
fn with_simulator<'c>(
    command: &'c mut Command,
    sim: &Simulator,
    ca: &Path,
    scenario: Option<&Scenario>,
) -> &'c mut Command {
    let urls = sim.base_urls();
    command.env("AA_TEST_URL", &urls[0]).env("AA_TEST_URL_2", &urls[1]).env("AA_TEST_CA_FILE", ca);
    match scenario {
        Some(scenario) => command.env("AA_TEST_SCENARIO", scenario.name),
        None => command.env_remove("AA_TEST_SCENARIO"),
    }
}

fn run_c_test(name: &str) {
    run_c_test_in(name, None);
}

fn run_c_test_in(name: &str, scenario: Option<&Scenario>) {
    let label = scenario.map_or_else(|| name.to_owned(), |s| format!("{name}-{}", s.name));
    let exe = compile(name, &label);
    let (sim, ca) = simulator(&label, scenario);
    let mut plain = Command::new(&exe);
    with_simulator(with_this_library(&mut plain), &sim, &ca, scenario);
    println!("{}", run(&mut plain));
    scenario.inspect(|s| (s.afterwards)(&sim));
    drop(sim);

    if !have("valgrind") {
        assert!(!require_all(), "valgrind is required (AA_REQUIRE_ALL=1) but not installed");
        eprintln!("\n*** SKIPPED: valgrind run of {name}: valgrind is not installed (apt-get install valgrind) ***\n");
        return;
    }
    let (sim, ca) = simulator(&label, scenario);
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
        .env("AA_TEST_SLOW", "1");
    with_simulator(&mut checked, &sim, &ca, scenario);
    println!("{}", run(&mut checked));
    scenario.inspect(|s| (s.afterwards)(&sim));
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
fn c_cluster_options_are_checked() {
    run_c_test("test_cluster");
}

/// The client's limit in test_cluster.c.
const C_MAX_CONNECTIONS: u64 = 4;

fn threads_kept_to_the_connection_limit(sim: &Simulator) {
    let (preferred, other) = (sim.instance(0).stats(), sim.instance(1).stats());
    println!("instance 0 after the threads: {preferred:?}");
    assert!(preferred.requests >= 160, "80 logons of 2 requests each: {preferred:?}");
    assert!((1..=C_MAX_CONNECTIONS).contains(&preferred.peak_open_connections), "{preferred:?}");
    assert_eq!(other.requests, 0, "nothing failed over: {other:?}");
}

#[test]
fn c_cluster_threads_share_one_client_within_its_connection_limit() {
    let threads =
        Scenario { name: "threads", outages: &[], afterwards: threads_kept_to_the_connection_limit };
    run_c_test_in("test_cluster", Some(&threads));
}

#[test]
fn c_cluster_fails_over_from_a_server_refusing_connections() {
    let refuse = Scenario { name: "refuse", outages: &[(0, Outage::Refuse)], afterwards: nothing_more };
    run_c_test_in("test_cluster", Some(&refuse));
}

#[test]
fn c_cluster_fails_over_from_a_server_answering_503() {
    let unavailable =
        Scenario { name: "unavailable", outages: &[(0, Outage::Unavailable)], afterwards: nothing_more };
    run_c_test_in("test_cluster", Some(&unavailable));
}

#[test]
fn c_cluster_with_every_server_down_names_each() {
    let outages = &[(0, Outage::Refuse), (1, Outage::Unavailable)];
    run_c_test_in("test_cluster", Some(&Scenario { name: "all_down", outages, afterwards: nothing_more }));
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
