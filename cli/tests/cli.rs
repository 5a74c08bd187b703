//! End-to-end tests of the `aa-logon` binary against the AA simulator running in this test process
//! (HTTPS on loopback, its generated CA written to a file) and the virtual security key.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aa_sim::{demo, ChainFixture, Fixture, Outage, SimConfig, Simulator};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_aa-logon");

/// A running simulator with its CA in a file, removed on drop.
struct Server {
    sim: Simulator,
    ca_file: PathBuf,
}

impl Server {
    fn start() -> Server {
        Server::with_fixture(Fixture::demo())
    }

    fn with_fixture(fixture: Fixture) -> Server {
        Server::serving(
            Simulator::start(SimConfig { fixture, ..SimConfig::default() }).expect("simulator starts"),
        )
    }

    /// A two-instance cluster: `command` names instance 0 in `--url`.
    fn cluster() -> Server {
        Server::serving(Simulator::start_cluster(SimConfig::default(), 2).expect("cluster starts"))
    }

    fn serving(sim: Simulator) -> Server {
        let dir = std::env::temp_dir().join(format!(
            "aa-logon-cli-test-{}-{}",
            std::process::id(),
            sim.base_url().rsplit(':').next().unwrap_or("0")
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, sim.ca_pem().expect("generated CA")).expect("CA written");
        Server { sim, ca_file }
    }

    /// `aa-logon <command> --url … --endpoint-id … --ca-file … --allow-app-id-host aa-sim.local`,
    /// secret in AA_ENDPOINT_SECRET (the simulator's appId host is not the 127.0.0.1 it is reached at).
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg(subcommand)
            .args(["--url", self.sim.base_url(), "--endpoint-id", demo::ENDPOINT_ID])
            .arg("--ca-file")
            .arg(&self.ca_file)
            .args(["--allow-app-id-host", demo::APP_ID_HOST])
            .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET)
            .stdin(Stdio::null());
        command
    }

    fn logon(&self, extra: &[&str]) -> Command {
        let mut command = self.command("logon");
        command.args(["--user", demo::USER, "--event", demo::EVENT]).args(extra);
        command
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(dir) = self.ca_file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn run_with_stdin(mut command: Command, stdin: &str) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin written");
    child.wait_with_output().expect("wait")
}

fn run(mut command: Command) -> Output {
    command.output().expect("aa-logon runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn json_of(output: &Output) -> Value {
    let stdout = text(&output.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line expected: {}", describe(output));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(output)))
}

#[test]
fn demo_runs_the_u2f_logon_through_the_c_abi() {
    let output = run({
        let mut c = Command::new(BIN);
        c.arg("demo");
        c
    });
    let stdout = text(&output.stdout);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    for expected in [
        "aa_logon_gather_sign_request",
        "keyHandle",
        "challenge",
        "Touch your security key",
        "host -> key: INIT 1, MSG",
        "AA_SERVER_STATUS_OK",
        "login session id",
        "Demo OK: JAGUAR\\denis logged on",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?}: {}", describe(&output));
    }
    assert!(!text(&output.stderr).contains(demo::ENDPOINT_SECRET));
}

#[test]
fn demo_json_has_the_verdict() {
    let output = run({
        let mut c = Command::new(BIN);
        c.args(["demo", "--json"]);
        c
    });
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let verdict = json_of(&output);
    assert_eq!(verdict["status"], "OK");
    assert_eq!(verdict["user"], demo::USER);
    assert!(verdict["ctaphid_reports"].as_u64().unwrap() > 4);
}

#[test]
fn u2f_logon_with_the_virtual_key() {
    let server = Server::start();
    let output = run(server.logon(&["--virtual-key", "demo"]));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Logon OK") && stdout.contains("login session id:"), "{}", describe(&output));
    assert!(stdout.contains("U2F only"), "{}", describe(&output));
    assert!(text(&output.stderr).contains("Touch your security key"), "{}", describe(&output));
}

#[test]
fn json_output_parses_and_the_session_can_be_ended() {
    let server = Server::start();
    let output = run(server.logon(&["--virtual-key", "demo", "--json"]));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let verdict = json_of(&output);
    assert_eq!(verdict["status"], "OK");
    assert_eq!(verdict["user"], demo::USER);
    let session = verdict["login_session_id"].as_str().expect("session id").to_owned();
    assert!(!session.is_empty());
    assert_eq!(verdict["chain"]["name"], "U2F only");

    let mut logout = server.command("logout");
    logout.args(["--session", &session, "--json"]);
    let output = run(logout);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(json_of(&output)["logged_out"], session.as_str());

    // The session is gone now: the server answers 434.
    let mut again = server.command("logout");
    again.args(["--session", &session, "--json"]);
    let output = run(again);
    assert_eq!(code(&output), 4, "{}", describe(&output));
    assert_eq!(json_of(&output)["error"]["http_status"], 434);
}

#[test]
fn password_then_u2f_chain_with_the_password_on_stdin() {
    let server = Server::start();
    let command = server.logon(&["--method", "LDAP_PASSWORD:1", "--virtual-key", "demo"]);
    let output = run_with_stdin(command, &format!("{}\n", demo::PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(text(&output.stdout).contains("LDAP + U2F"), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("next method: U2F:1"), "{}", describe(&output));
    assert!(!stderr.contains(demo::PASSWORD) && !text(&output.stdout).contains(demo::PASSWORD));
}

#[test]
fn a_choice_of_next_methods_is_asked_on_stdin() {
    let mut fixture = Fixture::demo();
    fixture.chains.push(ChainFixture {
        name: "LDAP + TOTP".into(),
        methods: vec!["LDAP_PASSWORD:1".into(), "TOTP:1".into()],
        events: vec![demo::EVENT.into()],
    });
    let server = Server::with_fixture(fixture);
    let totp = server.sim.current_totp(demo::USER).expect("TOTP code");
    let command = server.logon(&["--method", "LDAP_PASSWORD:1", "--json"]);
    let output = run_with_stdin(command, &format!("{}\n2\n{totp}\n", demo::PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(text(&output.stderr).contains("Which method next?"), "{}", describe(&output));
    assert_eq!(json_of(&output)["chain"]["name"], "LDAP + TOTP");
}

#[test]
fn sms_otp_is_requested_then_answered() {
    let server = Server::start();
    let mut command = server.logon(&["--method", "SMS_OTP:1"]);
    let mut child: Child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("Code sent by SMS") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("stderr line") > 0, "no code prompt: {seen}");
        seen.push_str(&line);
    }
    let code_sent = server.sim.sent_otps(demo::USER).pop().expect("an OTP was sent");
    child.stdin.take().expect("stdin").write_all(format!("{code_sent}\n").as_bytes()).expect("written");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(code(&output), 0, "{seen}{}", describe(&output));
    assert!(text(&output.stdout).contains("SMS OTP"), "{}", describe(&output));
}

#[test]
fn chains_are_listed() {
    let server = Server::start();
    let mut command = server.command("chains");
    command.args(["--user", demo::USER, "--event", demo::EVENT]);
    let output = run(command);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(text(&output.stdout).contains("LDAP + U2F: LDAP_PASSWORD:1 -> U2F:1"), "{}", describe(&output));
}

#[test]
fn devices_without_any_key_says_so() {
    let output = run({
        let mut c = Command::new(BIN);
        c.arg("devices");
        c
    });
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(text(&output.stdout).trim(), "no FIDO security keys found");

    let output = run({
        let mut c = Command::new(BIN);
        c.args(["devices", "--json"]);
        c
    });
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(json_of(&output)["devices"].as_array().map(Vec::len), Some(0));
}

#[test]
fn devices_describes_and_winks_the_virtual_key() {
    let output = run({
        let mut c = Command::new(BIN);
        c.args(["devices", "--json", "--virtual-key", "demo"]);
        c
    });
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let list = json_of(&output);
    let key = &list["devices"][0];
    assert_eq!(key["path"], "virtual:0");
    assert_eq!(key["vendor_id"], "1209");
    assert_eq!(key["u2f_version"], "U2F_V2");
    assert_eq!(key["ctaphid_version"], 2);
    assert_eq!(key["capabilities"][0], "WINK");

    let output = run({
        let mut c = Command::new(BIN);
        c.args(["devices", "--virtual-key", "demo", "--wink", "virtual:0"]);
        c
    });
    assert_eq!(code(&output), 0, "{}", describe(&output));
}

#[test]
fn exit_1_for_a_wrong_password() {
    let server = Server::start();
    let output = run_with_stdin(server.logon(&["--method", "PASSWORD:1", "--json"]), "not-the-password\n");
    assert_eq!(code(&output), 1, "{}", describe(&output));
    let failure = json_of(&output);
    assert_eq!(failure["status"], "FAILED");
    assert_eq!(failure["error"]["kind"], "logon_failed");
    assert!(failure["error"]["msgid"].is_string(), "{failure}");
}

#[test]
fn exit_2_for_usage_and_configuration_errors() {
    let server = Server::start();
    // Unknown option.
    let output = run(server.logon(&["--no-such-option"]));
    assert_eq!(code(&output), 2, "{}", describe(&output));
    // A URL that is not one.
    let mut command = Command::new(BIN);
    command
        .args([
            "logon",
            "--url",
            "not a url",
            "--endpoint-id",
            demo::ENDPOINT_ID,
            "--user",
            "u",
            "--event",
            "e",
        ])
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    let output = run(command);
    assert_eq!(code(&output), 2, "{}", describe(&output));
    // No endpoint secret anywhere.
    let mut command = server.logon(&[]);
    command.env_remove("AA_ENDPOINT_SECRET");
    let output = run(command);
    assert_eq!(code(&output), 2, "{}", describe(&output));
    assert!(text(&output.stderr).contains("no endpoint secret"), "{}", describe(&output));
    // Standard input ends before the password.
    let output = run(server.logon(&["--method", "PASSWORD:1"]));
    assert_eq!(code(&output), 2, "{}", describe(&output));
}

#[test]
fn the_secret_can_come_from_a_file_or_a_named_variable() {
    let server = Server::start();
    let secret_file = server.ca_file.with_file_name("secret");
    std::fs::write(&secret_file, format!("{}\n", demo::ENDPOINT_SECRET)).expect("secret file");
    let mut command = server.logon(&["--virtual-key", "demo"]);
    command.env_remove("AA_ENDPOINT_SECRET").arg("--endpoint-secret-file").arg(&secret_file);
    let output = run(command);
    assert_eq!(code(&output), 0, "{}", describe(&output));

    // A second U2F logon would need a key counter above the first one's; a password logon will do.
    let mut command = server.logon(&["--method", "PASSWORD:1", "--endpoint-secret-env", "MY_AA_SECRET"]);
    command.env_remove("AA_ENDPOINT_SECRET").env("MY_AA_SECRET", demo::ENDPOINT_SECRET);
    let output = run_with_stdin(command, &format!("{}\n", demo::PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));
}

#[test]
fn exit_3_when_the_server_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut command = Command::new(BIN);
    command
        .args(["logon", "--url", &format!("https://127.0.0.1:{port}"), "--endpoint-id", demo::ENDPOINT_ID])
        .args(["--user", demo::USER, "--event", demo::EVENT, "--timeout", "5"])
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    let output = run(command);
    assert_eq!(code(&output), 3, "{}", describe(&output));
}

#[test]
fn exit_3_when_the_certificate_is_not_trusted() {
    let server = Server::start();
    let mut command = Command::new(BIN);
    command
        .args(["logon", "--url", server.sim.base_url(), "--endpoint-id", demo::ENDPOINT_ID])
        .args(["--user", demo::USER, "--event", demo::EVENT])
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    let output = run(command);
    assert_eq!(code(&output), 3, "{}", describe(&output));
}

#[test]
fn exit_4_for_an_unknown_user() {
    let server = Server::start();
    let mut command = server.command("logon");
    command.args(["--user", "JAGUAR\\nobody", "--event", demo::EVENT, "--json"]);
    let output = run(command);
    assert_eq!(code(&output), 4, "{}", describe(&output));
    let failure = json_of(&output);
    assert_eq!(failure["error"]["kind"], "server_error");
    assert!(failure["error"]["http_status"].is_u64(), "{failure}");
}

#[test]
fn exit_5_when_the_key_is_never_touched_or_not_enrolled() {
    let server = Server::start();
    let output = run(server.logon(&[
        "--virtual-key",
        "demo",
        "--virtual-key-presence",
        "never",
        "--key-timeout",
        "1",
        "--json",
    ]));
    assert_eq!(code(&output), 5, "{}", describe(&output));
    assert_eq!(json_of(&output)["error"]["kind"], "user_presence_timeout");

    let output = run(server.logon(&["--virtual-key", "someone-else", "--key-timeout", "1", "--json"]));
    assert_eq!(code(&output), 5, "{}", describe(&output));
    assert_eq!(json_of(&output)["error"]["kind"], "no_matching_key");
}

#[cfg(unix)]
#[test]
fn exit_6_when_interrupted_while_waiting_for_a_touch() {
    let server = Server::start();
    let mut command =
        server.logon(&["--virtual-key", "demo", "--virtual-key-presence", "never", "--key-timeout", "60"]);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("Touch your security key") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("stderr line") > 0, "no touch prompt: {seen}");
        seen.push_str(&line);
    }
    let started = Instant::now();
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(6), "{seen}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn help_documents_the_exit_codes() {
    let output = run({
        let mut c = Command::new(BIN);
        c.args(["logon", "--help"]);
        c
    });
    assert_eq!(code(&output), 0);
    let help = text(&output.stdout);
    for line in
        ["Exit codes:", "  5  security key error", "  6  cancelled (Ctrl-C)", "--endpoint-secret-file"]
    {
        assert!(help.contains(line), "missing {line:?} in:\n{help}");
    }
}

// --- Every method a login agent meets, interactive through standard input. ---------------------

/// `aa-logon logon --user USER --event EVENT --method METHOD --poll-interval-ms 20 …extra`.
fn logon_as(server: &Server, user: &str, event: &str, method: &str, extra: &[&str]) -> Command {
    let mut command = server.command("logon");
    command
        .args(["--user", user, "--event", event, "--method", method, "--poll-interval-ms", "20"])
        .args(extra);
    command
}

/// Reads the child's standard error until a line contains `wanted`; returns what was read.
fn read_until(stderr: &mut BufReader<std::process::ChildStderr>, wanted: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(wanted) {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("stderr line") > 0, "no {wanted:?} in: {seen}");
        seen.push_str(&line);
    }
    seen
}

#[test]
fn a_push_is_approved_on_the_phone_while_the_time_waited_is_shown() {
    let server = Server::start();
    let mut command = logon_as(&server, demo::USER, demo::EVENT, "SMARTPHONE:1", &["--json"]);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = read_until(&mut stderr, ">>> Approve the logon on your phone");
    seen.push_str(&read_until(&mut stderr, "waiting for the verdict: 0 s"));
    assert_eq!(server.sim.decide_approval(demo::USER, aa_sim::ApprovalDecision::Approve), 1);
    let output = child.wait_with_output().expect("wait");
    assert_eq!(code(&output), 0, "{seen}{}", describe(&output));
    assert_eq!(json_of(&output)["chain"]["name"], "Smartphone");
}

#[test]
fn a_rejected_push_and_a_push_not_approved_in_time_exit_1() {
    let server = Server::start();
    let output = run(logon_as(&server, demo::USER_PHONE_REJECTS, demo::EVENT, "SMARTPHONE:1", &["--json"]));
    assert_eq!(code(&output), 1, "{}", describe(&output));
    assert_eq!(json_of(&output)["error"]["kind"], "logon_stopped");
    assert_eq!(json_of(&output)["error"]["reason"], "AUTH_REJECTED");

    let output =
        run(logon_as(&server, demo::USER, demo::EVENT, "VOICE:1", &["--approval-timeout", "1", "--json"]));
    assert_eq!(code(&output), 1, "{}", describe(&output));
    assert_eq!(json_of(&output)["error"]["kind"], "approval_timeout");
    assert!(text(&output.stderr).contains(">>> Answer the phone call"), "{}", describe(&output));
}

#[cfg(unix)]
#[test]
fn exit_6_when_interrupted_while_waiting_for_the_approval() {
    let server = Server::start();
    let mut command = logon_as(&server, demo::USER, demo::EVENT, "SMARTPHONE:1", &[]);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let seen = read_until(&mut stderr, ">>> Approve the logon on your phone");
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(6), "{seen}");
    // The half-done process was aborted: nothing waits for the phone any more.
    assert!(server.sim.pending_approvals(demo::USER).is_empty());
}

#[test]
fn voice_call_and_the_smartphones_offline_code() {
    let server = Server::start();
    let output = run(logon_as(&server, demo::USER_PHONE_APPROVES, demo::EVENT, "VOICE:1", &["--json"]));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(json_of(&output)["chain"]["name"], "Voice call");

    let code_shown = server.sim.current_smartphone_totp(demo::USER).expect("offline code");
    let command = logon_as(&server, demo::USER, demo::EVENT, "SMARTPHONE:1", &["--offline-code", "--json"]);
    let output = run_with_stdin(command, &format!("{code_shown}\n"));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("Code shown offline by the smartphone app"),
        "{}",
        describe(&output)
    );
}

#[test]
fn security_questions_are_asked_one_by_one() {
    let server = Server::start();
    let answers: String =
        demo::SECURITY_QUESTIONS.iter().map(|(_, _, answer)| format!("{answer}\n")).collect();
    let output =
        run_with_stdin(logon_as(&server, demo::USER, demo::EVENT, "SECQUEST:1", &["--json"]), &answers);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stderr = text(&output.stderr);
    for (_, question, answer) in demo::SECURITY_QUESTIONS {
        assert!(stderr.contains(question), "{}", describe(&output));
        assert!(!stderr.contains(answer) && !text(&output.stdout).contains(answer), "an answer was echoed");
    }
    assert_eq!(json_of(&output)["chain"]["name"], "Security questions");
}

#[test]
fn emergency_password_radius_challenge_and_voice_otp() {
    let server = Server::start();
    let command = logon_as(&server, demo::USER, demo::EVENT, "EMERG_PASSWORD:1", &["--json"]);
    let output = run_with_stdin(command, &format!("{}\n", demo::EMERGENCY_PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));

    let command = logon_as(&server, demo::USER, demo::EVENT, "RADIUS:1", &["--json"]);
    let stdin = format!("{}\n{}\n", demo::RADIUS_PASSWORD, demo::RADIUS_CHALLENGE_ANSWER);
    let output = run_with_stdin(command, &stdin);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("RADIUS password") && stderr.contains(demo::RADIUS_CHALLENGE_PROMPT), "{stderr}");

    let mut command = logon_as(&server, demo::USER, demo::EVENT, "VOICE_OTP:1", &[]);
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let seen = read_until(&mut stderr, "Code read out in the phone call");
    let code_sent = server.sim.sent_otps(demo::USER).pop().expect("an OTP was sent");
    child.stdin.take().expect("stdin").write_all(format!("{code_sent}\n").as_bytes()).expect("written");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(code(&output), 0, "{seen}{}", describe(&output));
}

#[test]
fn a_password_then_smartphone_chain_with_the_method_chosen() {
    let server = Server::start();
    let command =
        logon_as(&server, demo::USER_PHONE_APPROVES, demo::EVENT_REMOTE_ACCESS, "PASSWORD:1", &["--json"]);
    let output = run_with_stdin(command, &format!("{}\n1\n", demo::USER_PHONE_APPROVES_PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("Which method next?") && stderr.contains("SMARTPHONE:1"), "{stderr}");
    let verdict = json_of(&output);
    assert_eq!(verdict["chain"]["name"], "Password + Smartphone");
    assert_eq!(verdict["completed_methods"], serde_json::json!(["PASSWORD:1", "SMARTPHONE:1"]));
}

#[test]
fn card_fingerprint_and_a_method_without_a_typed_step_take_their_json() {
    let server = Server::start();
    let command = logon_as(&server, demo::USER, demo::EVENT, "CARD:1", &["--json"]);
    let output = run_with_stdin(command, &format!("{}\n", demo::CARD_UID));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(json_of(&output)["chain"]["name"], "Card");

    let command = logon_as(&server, demo::USER, demo::EVENT, "FINGER:1", &["--json"]);
    let output = run_with_stdin(command, &format!("{}\n", demo::FINGERPRINT_ISO));
    assert_eq!(code(&output), 0, "{}", describe(&output));

    let command = logon_as(&server, demo::USER, demo::EVENT, "CARD:1", &["--json"]);
    let output = run_with_stdin(command, "not hex\n");
    assert_eq!(code(&output), 2, "{}", describe(&output));

    // A method the tool has no step for is answered with the JSON the user gives: the start
    // answer is made to name FACE:1 (the simulator still runs CARD:1 with that response).
    let mut fields = serde_json::Map::new();
    fields.insert("current_method".into(), serde_json::json!("FACE:1"));
    server.sim.inject_fault(aa_sim::FaultRule {
        method: Some("POST".into()),
        path_pattern: "/api/v1/logon".into(),
        fault: aa_sim::Fault::Rewrite(fields.into_iter().collect()),
        times: Some(1),
    });
    let command = logon_as(&server, demo::USER, demo::EVENT, "CARD:1", &["--json"]);
    let response = format!(r#"{{"card_uid": "{}", "card_cert": ""}}"#, demo::CARD_UID);
    let output = run_with_stdin(command, &format!("{response}\n"));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert!(text(&output.stderr).contains("Response for FACE:1 (one JSON object)"), "{}", describe(&output));
}

// --- The servers of a cluster (several --url, or AA_URL with commas). ---------------------------

/// The URLs of instances 0 and 1.
fn cluster_urls(server: &Server) -> (String, String) {
    let urls = server.sim.base_urls();
    (urls[0].clone(), urls[1].clone())
}

/// `aa-logon logon --url <instance 0> --url <instance 1> … --method PASSWORD:1`, the password on
/// standard input.
fn password_logon_on_the_cluster(server: &Server, extra: &[&str]) -> Output {
    let (_, second) = cluster_urls(server);
    let command = server.logon(&[&["--url", second.as_str(), "--method", "PASSWORD:1"], extra].concat());
    run_with_stdin(command, &format!("{}\n", demo::PASSWORD))
}

#[test]
fn a_logon_moves_to_the_second_url_when_the_first_refuses_and_names_the_server() {
    let server = Server::cluster();
    let (first, second) = cluster_urls(&server);
    server.sim.instance(0).set_outage(Outage::Refuse).unwrap();

    let output = password_logon_on_the_cluster(&server, &[]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let stdout = text(&output.stdout);
    let server_line = stdout.lines().find(|line| line.trim_start().starts_with("server:"));
    assert_eq!(
        server_line.map(|line| line.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["server:", &second])
    );
    assert!(!stdout.contains(&first), "{}", describe(&output));

    let output = password_logon_on_the_cluster(&server, &["--json"]);
    assert_eq!(code(&output), 0, "{}", describe(&output));
    let verdict = json_of(&output);
    assert_eq!(verdict["status"], "OK");
    assert_eq!(verdict["server"], second.as_str());
}

#[test]
fn aa_url_lists_the_servers_of_a_cluster_separated_by_commas() {
    let server = Server::cluster();
    let (first, second) = cluster_urls(&server);
    server.sim.instance(0).set_outage(Outage::Unavailable).unwrap();

    let mut command = Command::new(BIN);
    command
        .args(["logon", "--endpoint-id", demo::ENDPOINT_ID, "--ca-file"])
        .arg(&server.ca_file)
        .args(["--allow-app-id-host", demo::APP_ID_HOST])
        .args(["--user", demo::USER, "--event", demo::EVENT, "--method", "PASSWORD:1", "--json"])
        .env("AA_URL", format!("{first},{second}"))
        .env("AA_ENDPOINT_SECRET", demo::ENDPOINT_SECRET);
    let output = run_with_stdin(command, &format!("{}\n", demo::PASSWORD));
    assert_eq!(code(&output), 0, "{}", describe(&output));
    assert_eq!(json_of(&output)["server"], second.as_str());
    assert_eq!(server.sim.instance(0).stats().requests, 1, "one 503 from the first server, then the second");
}

#[test]
fn exit_2_for_an_invalid_or_repeated_second_url() {
    let server = Server::cluster();
    let (first, _) = cluster_urls(&server);
    let output = run(server.logon(&["--url", "not a url", "--json"]));
    assert_eq!(code(&output), 2, "{}", describe(&output));
    let failure = json_of(&output);
    assert_eq!(failure["error"]["kind"], "config");
    let message = failure["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("not a url"), "{}", describe(&output));

    let output = run(server.logon(&["--url", &first]));
    assert_eq!(code(&output), 2, "{}", describe(&output));
    assert!(text(&output.stderr).contains("already in the list"), "{}", describe(&output));
    assert_eq!(server.sim.stats().requests, 0, "nothing was sent");
}

#[test]
fn exit_3_when_every_server_of_the_cluster_is_down_naming_each() {
    let server = Server::cluster();
    let (first, second) = cluster_urls(&server);
    server.sim.instance(0).set_outage(Outage::Refuse).unwrap();
    server.sim.instance(1).set_outage(Outage::Unavailable).unwrap();

    let output = password_logon_on_the_cluster(&server, &[]);
    assert_eq!(code(&output), 3, "{}", describe(&output));
    let stderr = text(&output.stderr);
    for expected in ["none of the 2 AA servers", first.as_str(), second.as_str()] {
        assert!(stderr.contains(expected), "missing {expected:?}: {}", describe(&output));
    }

    let output = password_logon_on_the_cluster(&server, &["--json"]);
    assert_eq!(code(&output), 3, "{}", describe(&output));
    let failure = json_of(&output);
    assert_eq!(failure["error"]["kind"], "network");
    assert_eq!(failure["error"]["exit_code"], 3);
}
