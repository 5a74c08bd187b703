//! Runs the examples of examples/ against the simulator as a user types them: the C program
//! compiled with `cc` (with the test-only virtual key, -DAA_LOGON_EXAMPLE_VIRTUAL_KEY), the Python
//! program with the binding and libraries of this build (AA_LOGON_LIBRARY,
//! AA_LOGON_TESTKIT_LIBRARY), the C# program compiled with `mcs` against bindings/csharp/src and
//! run with `mono`. Each run gets a simulator of its own (started in-process, its CA written to a
//! file), because the virtual key's signature counter starts at 0 in every process and a
//! simulator accepts it once. Failure runs check that the messages say what to do next; failover
//! runs give a closed loopback port as the preferred server and the simulator as --failover-url.
//!
//! A missing cc, python3, mypy, mcs or mono makes the test concerned print a loud skip notice and
//! pass, unless AA_REQUIRE_ALL=1 (CI), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aa_sim::{demo, Simulator};

#[path = "support/native.rs"]
mod native;
#[path = "support/programs.rs"]
mod programs;

use programs::{describe, repo, run, run_ok, simulator, tool_present};

/// target/<profile>/examples-test/<name>/, fresh for each test.
fn work_dir(name: &str) -> PathBuf {
    programs::fresh_dir(native::profile_dir().join("examples-test").join(name))
}

/// The example's options and arguments for a U2F logon of the demo user with the virtual key.
fn virtual_key_logon(sim: &Simulator, ca: &Path) -> Vec<String> {
    vec![
        "--ca-file".into(),
        ca.display().to_string(),
        "--allow-app-id-host".into(),
        demo::APP_ID_HOST.into(),
        "--virtual-key".into(),
        demo::VIRTUAL_KEY_SEED.into(),
        sim.base_url().to_owned(),
        demo::ENDPOINT_ID.into(),
        demo::USER.into(),
    ]
}

/// The options and arguments of [`virtual_key_logon`] for a cluster whose preferred server is a
/// closed loopback port and whose next one (`--failover-url`) is the simulator.
fn failover_logon(sim: &Simulator, ca: &Path) -> Vec<String> {
    let mut args = virtual_key_logon(sim, ca);
    let url = args.iter().position(|arg| arg == sim.base_url()).expect("the URL argument");
    args[url] = closed_loopback_url();
    args.splice(0..0, ["--failover-url".to_owned(), sim.base_url().to_owned()]);
    args
}

/// An https URL of a loopback port nothing listens on (bound, then released).
fn closed_loopback_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    format!("https://{}", listener.local_addr().expect("its address"))
}

/// Asserts the run succeeded, its standard output starts with `greeting` and names the simulator
/// as the server that answered.
fn assert_logged_on_through(command: &Command, output: &Output, greeting: &str, sim: &Simulator) {
    assert!(output.status.success(), "{}", describe(command, output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(greeting), "{}", describe(command, output));
    let server = format!("server: {}", sim.base_url());
    assert!(stdout.lines().any(|line| line == server), "no line {server:?}:\n{}", describe(command, output));
}

/// Asserts the run failed with `code` and that its standard error contains each of `expected`.
fn assert_fails_saying(command: &Command, output: &Output, code: i32, expected: &[&str]) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(command, output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for text in expected {
        assert!(stderr.contains(text), "the error does not say {text:?}:\n{}", describe(command, output));
    }
}

// --- C --------------------------------------------------------------------------------------

/// Compiles examples/c/logon.c as the docs do, with the virtual key or without.
fn compile_c_example(dir: &Path, virtual_key: bool) -> PathBuf {
    let exe = dir.join(if virtual_key { "logon-virtual-key" } else { "logon" });
    let mut cc = Command::new("cc");
    cc.args(programs::STRICT_C).arg("-I").arg(repo().join("include"));
    if virtual_key {
        cc.arg("-DAA_LOGON_EXAMPLE_VIRTUAL_KEY").arg("-I").arg(repo().join("testkit/capi/include"));
    }
    cc.arg(repo().join("examples/c/logon.c")).arg("-o").arg(&exe);
    let library = native::library_dir();
    cc.arg("-L").arg(library).arg(format!("-Wl,-rpath,{}", library.display())).arg("-laa_logon");
    if virtual_key {
        let testkit = native::testkit_library_dir();
        cc.arg("-L").arg(testkit).arg(format!("-Wl,-rpath,{}", testkit.display())).arg("-laa_logon_testkit");
    }
    run_ok(&mut cc);
    exe
}

fn c_example(exe: &Path, args: &[String]) -> Command {
    let mut command = Command::new(exe);
    command.args(args).env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    command
}

#[test]
fn the_c_example_logs_on_with_the_virtual_key() {
    if !tool_present(&["cc"], "the C example (examples/c/logon.c)", "Install a C compiler (gcc)") {
        return;
    }
    let dir = work_dir("c");
    let exe = compile_c_example(&dir, true);
    let (sim, ca) = simulator(&dir);
    let mut command = c_example(&exe, &virtual_key_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert!(output.status.success(), "{}", describe(&command, &output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(&format!("Logged on as {} (login session ", demo::USER)), "{stdout}");
}

#[test]
fn the_c_example_fails_over_to_the_next_server() {
    if !tool_present(&["cc"], "the C example (examples/c/logon.c)", "Install a C compiler (gcc)") {
        return;
    }
    let dir = work_dir("c-failover");
    let exe = compile_c_example(&dir, true);
    let (sim, ca) = simulator(&dir);
    let mut command = c_example(&exe, &failover_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert_logged_on_through(
        &command,
        &output,
        &format!("Logged on as {} (login session ", demo::USER),
        &sim,
    );
}

#[test]
fn the_c_example_says_what_to_do_next_when_it_fails() {
    if !tool_present(&["cc"], "the C example (examples/c/logon.c)", "Install a C compiler (gcc)") {
        return;
    }
    let dir = work_dir("c-failures");
    let exe = compile_c_example(&dir, true);
    let (sim, ca) = simulator(&dir);
    let logon = virtual_key_logon(&sim, &ca);
    let without = |option: &str| -> Vec<String> {
        let at = logon.iter().position(|arg| arg == option).expect("option present");
        [&logon[..at], &logon[at + 2..]].concat()
    };

    // The simulator's CA not trusted: the message names the CA option.
    let mut command = c_example(&exe, &without("--ca-file"));
    let output = run(&mut command, "");
    assert_fails_saying(
        &command,
        &output,
        1,
        &["aa_logon_new: TLS error: ", sim.base_url(), "UnknownIssuer", "aa_client_options_set_ca_file"],
    );

    // The simulator's appId host not allowed: the message names the option that allows it.
    let mut command = c_example(&exe, &without("--allow-app-id-host"));
    let output = run(&mut command, "");
    assert_fails_saying(&command, &output, 1, &["aa-sim.local", "aa_client_options_allow_app_id_host"]);

    // Nothing listening: the message names the URL.
    let closed = closed_loopback_url();
    let mut args = logon.clone();
    let url = args.iter().position(|arg| arg == sim.base_url()).expect("the URL argument");
    args[url] = closed.clone();
    let mut command = c_example(&exe, &args);
    let output = run(&mut command, "");
    assert_fails_saying(
        &command,
        &output,
        1,
        &[&format!("{closed} refused the connection"), "is the server running"],
    );

    // http:// to the HTTPS port: the message asks whether the server speaks HTTPS.
    args[url] = sim.base_url().replacen("https://", "http://", 1);
    let mut command = c_example(&exe, &args);
    let output = run(&mut command, "");
    assert_fails_saying(&command, &output, 1, &[&args[url], "does the server speak HTTPS?"]);

    // No secret: usage, exit 2 (never a logon attempt without one).
    let mut command = c_example(&exe, &logon);
    command.env_remove("AA_ENDPOINT_SECRET");
    let output = run(&mut command, "");
    assert_fails_saying(&command, &output, 2, &["set AA_ENDPOINT_SECRET", "usage:"]);

    // --virtual-key in a build without the testkit says how to build it.
    let plain = compile_c_example(&dir, false);
    let mut command = c_example(&plain, &logon);
    let output = run(&mut command, "");
    assert_fails_saying(&command, &output, 2, &["-DAA_LOGON_EXAMPLE_VIRTUAL_KEY", "-laa_logon_testkit"]);
}

// --- Python -----------------------------------------------------------------------------------

fn python_example(args: &[String]) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(repo().join("examples/python/logon.py"))
        .args(args)
        .env("PYTHONPATH", repo().join("bindings/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("AA_LOGON_LIBRARY", native::library())
        .env("AA_LOGON_TESTKIT_LIBRARY", native::testkit_library())
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    command
}

#[test]
fn the_python_example_logs_on_with_the_virtual_key() {
    if !tool_present(&["python3"], "the Python example (examples/python/logon.py)", "Install python3") {
        return;
    }
    let dir = work_dir("python");
    let (sim, ca) = simulator(&dir);
    let mut command = python_example(&virtual_key_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert!(output.status.success(), "{}", describe(&command, &output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(&format!("Welcome, {} (id ", demo::USER)), "{stdout}");
    assert!(stdout.contains("login session: "), "{stdout}");
}

#[test]
fn the_python_example_fails_over_to_the_next_server() {
    if !tool_present(&["python3"], "the Python example (examples/python/logon.py)", "Install python3") {
        return;
    }
    let dir = work_dir("python-failover");
    let (sim, ca) = simulator(&dir);
    let mut command = python_example(&failover_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert_logged_on_through(&command, &output, &format!("Welcome, {} (id ", demo::USER), &sim);
}

#[test]
fn the_python_example_prints_each_detail_of_a_rejection_once() {
    if !tool_present(&["python3"], "the Python example (examples/python/logon.py)", "Install python3") {
        return;
    }
    let dir = work_dir("python-rejected");
    let (sim, ca) = simulator(&dir);
    let args: Vec<String> = vec![
        "--ca-file".into(),
        ca.display().to_string(),
        "--method".into(),
        "PASSWORD:1".into(),
        sim.base_url().into(),
        demo::ENDPOINT_ID.into(),
        demo::USER.into(),
    ];
    let mut command = python_example(&args);
    let output = run(&mut command, "not the password\n");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&command, &output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().find(|line| line.starts_with("error: ")).unwrap_or_else(|| {
        panic!("no error line:\n{}", describe(&command, &output));
    });
    assert_eq!(error, "error: logon failed: Incorrect password (AUCORE-2007, PASSWORD_WRONG)");
}

#[test]
fn the_python_example_is_clean_under_mypy_strict() {
    if !tool_present(
        &["python3", "-m", "mypy"],
        "mypy --strict of examples/python/logon.py",
        "pip install mypy",
    ) {
        return;
    }
    let mut command = Command::new("python3");
    command
        .args(["-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null"])
        .arg(repo().join("examples/python/logon.py"))
        .env("MYPYPATH", repo().join("bindings/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run(&mut command, "");
    assert!(output.status.success(), "{}", describe(&command, &output));
}

// --- C# ---------------------------------------------------------------------------------------

/// Whether mcs and mono run (otherwise the loud skip notice).
fn csharp_tools_present() -> bool {
    let what = "the C# example (examples/csharp/Logon.cs)";
    let install = "Install the mono-mcs and mono-runtime packages";
    tool_present(&["mcs"], what, install) && tool_present(&["mono"], what, install)
}

/// Compiles the binding and examples/csharp/Logon.cs with mcs into `dir`; returns Logon.exe.
fn compile_csharp_example(dir: &Path) -> PathBuf {
    let dll = dir.join("AaLogon.dll");
    let exe = dir.join("Logon.exe");
    programs::compile_csharp_binding(&dll);
    run_ok(
        Command::new("mcs")
            .args(["-nologo", "-warn:4", "-warnaserror+", &format!("-out:{}", exe.display())])
            .arg(format!("-r:{}", dll.display()))
            .arg(repo().join("examples/csharp/Logon.cs")),
    );
    exe
}

/// `mono Logon.exe ARGS` with this build's libraries and the demo endpoint secret.
fn csharp_example(exe: &Path, args: &[String]) -> Command {
    let library_path = std::env::join_paths([native::library_dir(), native::testkit_library_dir()])
        .expect("LD_LIBRARY_PATH");
    let mut command = Command::new("mono");
    command
        .arg(exe)
        .args(args)
        .env("LD_LIBRARY_PATH", &library_path)
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    command
}

#[test]
fn the_csharp_example_fails_over_to_the_next_server() {
    if !csharp_tools_present() {
        return;
    }
    let dir = work_dir("csharp-failover");
    let exe = compile_csharp_example(&dir);
    let (sim, ca) = simulator(&dir);
    let mut command = csharp_example(&exe, &failover_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert_logged_on_through(&command, &output, &format!("Welcome, {} (id ", demo::USER), &sim);
}

#[test]
fn the_csharp_example_logs_on_and_prints_each_detail_of_a_rejection_once() {
    if !csharp_tools_present() {
        return;
    }
    let dir = work_dir("csharp");
    let exe = compile_csharp_example(&dir);
    let (sim, ca) = simulator(&dir);
    let mut command = csharp_example(&exe, &virtual_key_logon(&sim, &ca));
    let output = run(&mut command, "");
    assert!(output.status.success(), "{}", describe(&command, &output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(&format!("Welcome, {} (id ", demo::USER)), "{stdout}");

    // A rejection: the exception's message names each detail once.
    let rejected: Vec<String> = vec![
        "--ca-file".into(),
        ca.display().to_string(),
        "--method".into(),
        "PASSWORD:1".into(),
        sim.base_url().into(),
        demo::ENDPOINT_ID.into(),
        demo::USER.into(),
    ];
    let mut command = csharp_example(&exe, &rejected);
    let output = run(&mut command, "not the password\n");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&command, &output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr.lines().find(|line| line.starts_with("error: "));
    assert_eq!(
        error,
        Some("error: logon failed: Incorrect password (AUCORE-2007, PASSWORD_WRONG)"),
        "{}",
        describe(&command, &output)
    );
}

/// docs/testing-without-a-key.md's C steps as written: `scripts/install.sh --with-testkit PREFIX`,
/// the example built with `pkg-config` and `-laa_logon_testkit` only (both libraries found in the
/// prefix through their SONAMEs and the rpath), then a logon.
#[test]
fn the_c_example_builds_and_logs_on_from_an_install_with_the_testkit() {
    if !tool_present(&["cc", "pkg-config"], "the install script's C flow", "Install gcc and pkg-config") {
        return;
    }
    let dir = work_dir("c-installed");
    let prefix = dir.join("prefix");
    run_ok(Command::new("bash").arg(repo().join("scripts/install.sh")).arg("--with-testkit").arg(&prefix));
    for name in ["libaa_logon.so.0", "libaa_logon_testkit.so.0", "libaa_logon_testkit.so"] {
        assert!(prefix.join("lib").join(name).exists(), "{name} is installed");
    }
    assert!(prefix.join("include/aa_logon_testkit.h").exists());
    let pkg_config = run_ok(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "aa_logon"])
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")),
    );
    let exe = dir.join("logon");
    let mut cc = Command::new("cc");
    cc.arg("-DAA_LOGON_EXAMPLE_VIRTUAL_KEY")
        .arg(repo().join("examples/c/logon.c"))
        .arg("-o")
        .arg(&exe)
        .args(String::from_utf8_lossy(&pkg_config.stdout).split_whitespace())
        .arg("-laa_logon_testkit")
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
    run_ok(&mut cc);
    let (sim, ca) = simulator(&dir);
    let mut command = c_example(&exe, &virtual_key_logon(&sim, &ca));
    command.env_remove("LD_LIBRARY_PATH");
    let output = run(&mut command, "");
    assert!(output.status.success(), "{}", describe(&command, &output));
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("Logged on as "),
        "{}",
        describe(&command, &output)
    );
}
