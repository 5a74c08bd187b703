//! `aa-logon logon`: runs every method of a chain until the server answers OK.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aa_logon::fido::{PinCallback, PinRequest};
use aa_logon::{
    ApprovalOptions, ApprovalPrompt, DeviceProvider, ErrorKind, Logon, LogonResponse, LogonStatus, Prompt,
    Secret, SignOptions,
};
use serde_json::{json, Value};

use crate::args::LogonArgs;
use crate::exit::{CmdResult, Exit, Failure};
use crate::output::Outcome;
use crate::{connection, devices, input, interrupt};

/// More exchanges than any real chain needs; a server that keeps asking is cut off here.
const MAX_STEPS: usize = 32;

pub fn run(args: &LogonArgs) -> CmdResult<Outcome> {
    let client = connection::client(&args.connection)?;
    let devices = devices::provider(&args.virtual_key);
    eprintln!("Starting logon of {} for event {:?} with {}", args.user, args.event, args.method);
    let mut logon = client.start_logon(&args.user, &args.event, &args.method)?;
    log::info!("logon process {} started", logon.process_id());
    let settings = Settings {
        key_timeout: Duration::from_secs(args.key_timeout),
        approval_timeout: Duration::from_secs(args.approval_timeout),
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        offline_code: args.offline_code,
    };
    let result = drive(&mut logon, devices.as_ref(), &settings);
    if let Err(failure) = &result {
        if failure.exit == Exit::Cancelled && !logon.is_finished() {
            // Leave no half-done process behind on the server; the cancel is reported either way.
            if let Err(e) = logon.abort() {
                log::warn!("could not abort the logon process: {e}");
            }
        }
    }
    result.map(|()| success(&logon))
}

/// How the methods that wait run.
struct Settings {
    key_timeout: Duration,
    approval_timeout: Duration,
    poll_interval: Duration,
    offline_code: bool,
}

/// What the last exchanges asked of the user, so a server that asks again is answered right.
#[derive(Default)]
struct Progress {
    /// The OTP method whose code was requested (SMS_OTP, EMAIL_OTP, VOICE_OTP).
    otp_requested_for: Option<String>,
    /// The method whose answer the server took with MORE_DATA: it asks again (a RADIUS
    /// Access-Challenge), and its message is the new prompt.
    asked_again: Option<String>,
}

/// Answers the current method, follows NEXT, and stops at OK (or at the first error).
fn drive(logon: &mut Logon, devices: &dyn DeviceProvider, settings: &Settings) -> CmdResult {
    let mut progress = Progress::default();
    for _ in 0..MAX_STEPS {
        let response = logon.response();
        match &response.status {
            LogonStatus::Ok => return Ok(()),
            LogonStatus::Next => {
                let method = choose_next_method(response)?;
                eprintln!("{} passed; next method: {method}", last_completed(response));
                logon.next(&method)?;
                progress = Progress::default();
            }
            LogonStatus::MoreData => {
                let method = response.current_method.clone();
                run_method(logon, &method, devices, settings, &mut progress)?;
            }
            LogonStatus::Failed | LogonStatus::Stop => {
                // The library reports these as errors; this is only reached for a start answer.
                return Err(Failure::new(Exit::LogonFailed, "logon_failed", response.msg.clone()));
            }
            LogonStatus::Other(status) => {
                return Err(Failure::new(
                    Exit::Server,
                    "malformed_server_data",
                    format!("the server answered with the unknown status {status:?}"),
                ))
            }
        }
    }
    Err(Failure::new(
        Exit::Server,
        "malformed_server_data",
        format!("the logon did not finish after {MAX_STEPS} exchanges"),
    ))
}

fn run_method(
    logon: &mut Logon,
    method: &str,
    devices: &dyn DeviceProvider,
    settings: &Settings,
    progress: &mut Progress,
) -> CmdResult {
    match method {
        "U2F:1" | "FIDO2:1" => sign(logon, devices, settings.key_timeout),
        "PASSWORD:1" | "LDAP_PASSWORD:1" => answer(logon, method, "Password", progress),
        "EMERG_PASSWORD:1" => answer(logon, method, "Emergency password", progress),
        "RADIUS:1" => answer(logon, method, "RADIUS password", progress),
        "TOTP:1" | "HOTP:1" => answer(logon, method, "One-time code", progress),
        "SMS_OTP:1" | "EMAIL_OTP:1" | "VOICE_OTP:1" => {
            if progress.otp_requested_for.as_deref() != Some(method) {
                let sent = logon.request_challenge()?;
                if !sent.msg.is_empty() {
                    eprintln!("{}", sent.msg);
                }
                progress.otp_requested_for = Some(method.to_owned());
                if sent.status != LogonStatus::MoreData {
                    return Ok(());
                }
            }
            let what = match method {
                "SMS_OTP:1" => "Code sent by SMS",
                "EMAIL_OTP:1" => "Code sent by e-mail",
                _ => "Code read out in the phone call",
            };
            answer(logon, method, what, progress)
        }
        "SMARTPHONE:1" if settings.offline_code => {
            let code = input::secret("Code shown offline by the smartphone app")?;
            logon.answer_offline_totp(code)?;
            Ok(())
        }
        "SMARTPHONE:1" | "VOICE:1" => wait_for_approval(logon, method, settings),
        "SECQUEST:1" => security_questions(logon),
        "CARD:1" => {
            let uid = input::secret("Card UID (hex)")?;
            let response = response_with(
                uid,
                "card UID",
                |c| c.is_ascii_hexdigit(),
                r#"{"card_uid":""#,
                r#"","card_cert":""}"#,
            )?;
            logon.answer_json(response)?;
            Ok(())
        }
        "FINGER:1" => {
            let template = input::secret("Fingerprint template (base64 of ISO/IEC 19794-2)")?;
            let is_base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
            let response = response_with(
                template,
                "template",
                is_base64,
                r#"{"capture":{"ISO":""#,
                r#"","captureStatus":"OK"}}"#,
            )?;
            logon.answer_json(response)?;
            Ok(())
        }
        "" => Err(Failure::new(Exit::Server, "malformed_server_data", "the server named no current method")),
        other => {
            eprintln!("This tool has no typed step for {other}: give its response object as JSON.");
            let response = input::secret(&format!("Response for {other} (one JSON object)"))?;
            logon.answer_json(response)?;
            Ok(())
        }
    }
}

/// Answers `method` with a secret typed by the user; when the server took the previous answer
/// with MORE_DATA (e.g. a RADIUS Access-Challenge), its message is the prompt.
fn answer(logon: &mut Logon, method: &str, prompt: &str, progress: &mut Progress) -> CmdResult {
    let server_prompt = logon.response().msg.trim().to_owned();
    let prompt = if progress.asked_again.as_deref() == Some(method) && !server_prompt.is_empty() {
        &server_prompt
    } else {
        prompt
    };
    let secret = input::secret(prompt)?;
    let answered = logon.answer(secret)?;
    progress.asked_again = (answered.status == LogonStatus::MoreData).then(|| method.to_owned());
    Ok(())
}

/// A response object made of fixed JSON text around one typed `value`, which must consist of
/// characters `allowed` (so it needs no escaping). Written into one buffer of the exact size, so
/// no stray copy of the value is left behind.
fn response_with(
    value: Secret,
    what: &str,
    allowed: impl Fn(char) -> bool,
    prefix: &str,
    suffix: &str,
) -> CmdResult<Secret> {
    let typed = value.expose().trim();
    if typed.is_empty() || !typed.chars().all(allowed) {
        return Err(Failure::usage(format!("the {what} has characters it cannot have")));
    }
    let mut text = String::with_capacity(prefix.len() + typed.len() + suffix.len());
    text.push_str(prefix);
    text.push_str(typed);
    text.push_str(suffix);
    Ok(Secret::new(text))
}

/// SECQUEST:1: every question asked one by one, without echo, then all answers in one call.
fn security_questions(logon: &mut Logon) -> CmdResult {
    let questions = logon.questions()?.clone();
    eprintln!("Answer {} security question(s):", questions.len());
    let mut answers = BTreeMap::new();
    for (id, question) in &questions {
        answers.insert(id.clone(), input::secret(question)?);
    }
    logon.answer_questions(answers)?;
    Ok(())
}

/// SMARTPHONE:1 / VOICE:1: tells the user what to do, shows the time waited, and waits for the
/// verdict; Ctrl-C cancels. No verdict in time ends the command with exit code 1.
fn wait_for_approval(logon: &mut Logon, method: &str, settings: &Settings) -> CmdResult {
    let on_terminal = std::io::stderr().is_terminal();
    let prompt = Arc::new(|prompt: ApprovalPrompt| match prompt {
        ApprovalPrompt::ApproveOnPhone => eprintln!(">>> Approve the logon on your phone"),
        ApprovalPrompt::AnswerCall => eprintln!(">>> Answer the phone call and follow its instructions"),
    });
    // Off a terminal, one line every 5 s at most; on one, the same line updated.
    let shown = Arc::new(AtomicU64::new(u64::MAX));
    let progress = Arc::new(move |elapsed: Duration| {
        let seconds = elapsed.as_secs();
        if on_terminal {
            eprint!("\r    waiting for the verdict: {seconds} s ");
        } else if shown.load(Ordering::Relaxed).checked_add(5).is_none_or(|next| seconds >= next) {
            shown.store(seconds, Ordering::Relaxed);
            eprintln!("    waiting for the verdict: {seconds} s");
        }
    });
    let options = ApprovalOptions {
        timeout: settings.approval_timeout,
        poll_interval: settings.poll_interval,
        prompt: Some(prompt),
        progress: Some(progress),
        ..ApprovalOptions::default()
    };
    let token = logon.cancel_token();
    let waited = interrupt::while_cancellable(token, || logon.wait_for_approval(&options).map(drop));
    if on_terminal {
        eprintln!();
    }
    match waited {
        Err(e) if e.kind() == ErrorKind::Cancelled && interrupt::interrupted() => {
            Err(Failure::new(Exit::Cancelled, "cancelled", "interrupted with Ctrl-C"))
        }
        Err(e) if e.kind() == ErrorKind::Timeout && !logon.is_finished() => {
            Err(Failure::new(Exit::LogonFailed, "approval_timeout", format!("{method}: {}", e.message())))
        }
        other => Ok(other?),
    }
}

fn sign(logon: &mut Logon, devices: &dyn DeviceProvider, timeout: Duration) -> CmdResult {
    let prompt = Arc::new(|prompt: Prompt| match prompt {
        Prompt::InsertKey => eprintln!(">>> Insert your security key"),
        Prompt::TouchKey => eprintln!(">>> Touch your security key"),
        Prompt::Touched => eprintln!("Security key touched; checking the signature with the server"),
    });
    // Asked only when a FIDO2 key needs its PIN for user verification; typed without echo.
    let pin: PinCallback = Arc::new(|request: &PinRequest| {
        let what = format!("PIN of the security key ({} retries left)", request.retries_left);
        match input::secret(&what) {
            Ok(pin) => Some(pin),
            Err(failure) => {
                eprintln!("{failure}");
                None
            }
        }
    });
    let options = SignOptions { timeout, prompt: Some(prompt), pin: Some(pin), ..SignOptions::default() };
    let token = logon.cancel_token();
    let signed = interrupt::while_cancellable(token, || logon.sign_with_device(devices, &options).map(drop));
    if interrupt::interrupted() {
        if let Err(e) = &signed {
            if e.kind() == aa_logon::ErrorKind::Cancelled {
                return Err(Failure::new(Exit::Cancelled, "cancelled", "interrupted with Ctrl-C"));
            }
        }
    }
    Ok(signed?)
}

/// The methods that may follow the completed ones in the chains the server still offers; one is
/// taken as is, several are offered to the user.
fn choose_next_method(response: &LogonResponse) -> CmdResult<String> {
    let candidates = next_methods_with_chains(response);
    match candidates.len() {
        0 => Err(Failure::new(
            Exit::Server,
            "malformed_server_data",
            format!(
                "the server answered NEXT, but none of its chains continues after {:?}",
                response.completed_methods
            ),
        )),
        1 => Ok(candidates.into_iter().next().map(|(method, _)| method).unwrap_or_default()),
        _ => {
            let labels: Vec<String> = candidates
                .iter()
                .map(|(method, chains)| format!("{method} (chain {})", chains.join(", ")))
                .collect();
            let index = input::choose("Which method next?", &labels)?;
            Ok(candidates[index].0.clone())
        }
    }
}

/// The library's next methods (see `LogonResponse::next_methods`), each with the names of the
/// chains it continues, in the server's order.
fn next_methods_with_chains(response: &LogonResponse) -> Vec<(String, Vec<String>)> {
    let done = &response.completed_methods;
    response
        .next_methods()
        .into_iter()
        .map(|method| {
            let chains = response
                .chains
                .iter()
                .filter(|chain| chain.is_enabled && chain.methods.get(done.len()) == Some(&method))
                .filter(|chain| chain.methods.starts_with(done))
                .map(|chain| chain.name.clone())
                .collect();
            (method, chains)
        })
        .collect()
}

fn last_completed(response: &LogonResponse) -> &str {
    response.completed_methods.last().map(String::as_str).unwrap_or("the method")
}

fn success(logon: &Logon) -> Outcome {
    let response = logon.response();
    let user = &response.user;
    let user_name = user.user_name.clone().unwrap_or_default();
    let session = response.login_session_id.clone().unwrap_or_default();
    let chain = response
        .completed_chain
        .as_ref()
        .map(|chain| json!({ "name": chain.name, "methods": chain.methods }));
    let mut text = String::new();
    let _ = writeln!(text, "Logon OK");
    let _ = writeln!(text, "  user:             {user_name}");
    if let Some(id) = &user.user_id {
        let _ = writeln!(text, "  user id:          {id}");
    }
    let _ = writeln!(text, "  login session id: {session}");
    let _ = writeln!(text, "  server:           {}", logon.server());
    if let Some(chain) = &response.completed_chain {
        let _ = writeln!(text, "  chain:            {} ({})", chain.name, chain.methods.join(" -> "));
    } else {
        let _ = writeln!(text, "  methods:          {}", response.completed_methods.join(" -> "));
    }
    let json = json!({
        "status": "OK",
        "user": user_name,
        "user_id": user.user_id,
        "user_email": user.user_email,
        "login_session_id": session,
        "logon_process_id": logon.process_id(),
        "server": logon.server(),
        "chain": chain.unwrap_or(Value::Null),
        "completed_methods": response.completed_methods,
        "message": response.msg,
    });
    Outcome::ok(text, json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aa_logon::{Chain, UserInfo};

    fn response(completed: &[&str], chains: &[(&str, &[&str])]) -> LogonResponse {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        LogonResponse {
            status: LogonStatus::Next,
            msg: String::new(),
            reason: String::new(),
            msgid: String::new(),
            logon_process_id: "p".into(),
            current_method: completed.last().map(|m| (*m).to_owned()).unwrap_or_default(),
            completed_methods: strings(completed),
            chains: chains
                .iter()
                .map(|(name, methods)| Chain {
                    id_hex: None,
                    name: (*name).to_owned(),
                    short_name: String::new(),
                    methods: strings(methods),
                    is_enabled: true,
                    position: None,
                })
                .collect(),
            completed_chain: None,
            login_session_id: None,
            user: UserInfo::default(),
            sign_requests: None,
            questions: None,
            raw: Value::Null,
        }
    }

    #[test]
    fn next_methods_follow_the_chains_that_match_the_completed_ones() {
        let r = response(
            &["LDAP_PASSWORD:1"],
            &[
                ("U2F only", &["U2F:1"]),
                ("LDAP + U2F", &["LDAP_PASSWORD:1", "U2F:1"]),
                ("LDAP + TOTP", &["LDAP_PASSWORD:1", "TOTP:1"]),
                ("LDAP + U2F 2", &["LDAP_PASSWORD:1", "U2F:1", "TOTP:1"]),
            ],
        );
        let next = next_methods_with_chains(&r);
        assert_eq!(next.len(), 2);
        assert_eq!(next[0], ("U2F:1".to_owned(), vec!["LDAP + U2F".to_owned(), "LDAP + U2F 2".to_owned()]));
        assert_eq!(next[1].0, "TOTP:1");
        assert_eq!(
            choose_next_method(&response(&["PASSWORD:1"], &[("P", &["PASSWORD:1", "U2F:1"])])).unwrap(),
            "U2F:1"
        );
        assert_eq!(
            choose_next_method(&response(&["U2F:1"], &[("U", &["U2F:1"])])).unwrap_err().exit,
            Exit::Server
        );
    }
}
