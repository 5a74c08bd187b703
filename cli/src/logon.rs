//! `aa-logon logon`: runs every method of a chain until the server answers OK.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use aa_logon::{DeviceProvider, Logon, LogonResponse, LogonStatus, Prompt, SignOptions};
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
    let key_timeout = Duration::from_secs(args.key_timeout);
    let result = drive(&mut logon, devices.as_ref(), key_timeout);
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

/// Answers the current method, follows NEXT, and stops at OK (or at the first error).
fn drive(logon: &mut Logon, devices: &dyn DeviceProvider, key_timeout: Duration) -> CmdResult {
    let mut otp_requested_for: Option<String> = None;
    for _ in 0..MAX_STEPS {
        let response = logon.response();
        match &response.status {
            LogonStatus::Ok => return Ok(()),
            LogonStatus::Next => {
                let method = choose_next_method(response)?;
                eprintln!("{} passed; next method: {method}", last_completed(response));
                logon.next(&method)?;
                otp_requested_for = None;
            }
            LogonStatus::MoreData => {
                let method = response.current_method.clone();
                run_method(logon, &method, devices, key_timeout, &mut otp_requested_for)?;
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
    key_timeout: Duration,
    otp_requested_for: &mut Option<String>,
) -> CmdResult {
    match method {
        "U2F:1" => sign(logon, devices, key_timeout),
        "PASSWORD:1" | "LDAP_PASSWORD:1" => answer(logon, "Password"),
        "TOTP:1" | "HOTP:1" => answer(logon, "One-time code"),
        "SMS_OTP:1" | "EMAIL_OTP:1" => {
            if otp_requested_for.as_deref() != Some(method) {
                let sent = logon.request_challenge()?;
                if !sent.msg.is_empty() {
                    eprintln!("{}", sent.msg);
                }
                *otp_requested_for = Some(method.to_owned());
                if sent.status != LogonStatus::MoreData {
                    return Ok(());
                }
            }
            let what = if method == "SMS_OTP:1" { "Code sent by SMS" } else { "Code sent by e-mail" };
            answer(logon, what)
        }
        "" => Err(Failure::new(Exit::Server, "malformed_server_data", "the server named no current method")),
        other => Err(Failure::new(
            Exit::LogonFailed,
            "unsupported_method",
            format!("the server asks for {other}, which this tool cannot run"),
        )),
    }
}

fn answer(logon: &mut Logon, prompt: &str) -> CmdResult {
    let secret = input::secret(prompt)?;
    logon.answer(secret)?;
    Ok(())
}

fn sign(logon: &mut Logon, devices: &dyn DeviceProvider, timeout: Duration) -> CmdResult {
    let prompt = Arc::new(|prompt: Prompt| match prompt {
        Prompt::InsertKey => eprintln!(">>> Insert your security key"),
        Prompt::TouchKey => eprintln!(">>> Touch your security key"),
        Prompt::Touched => eprintln!("Security key touched; checking the signature with the server"),
    });
    let options = SignOptions { timeout, prompt: Some(prompt), ..SignOptions::default() };
    let token = logon.cancel_token();
    let signed = interrupt::while_signing(token, || logon.sign_with_device(devices, &options).map(drop));
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
    let candidates = next_methods(response);
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

/// Next method → names of the chains it continues, in the server's order.
fn next_methods(response: &LogonResponse) -> Vec<(String, Vec<String>)> {
    let done = &response.completed_methods;
    let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
    for chain in response.chains.iter().filter(|chain| chain.is_enabled) {
        if chain.methods.len() <= done.len() || chain.methods[..done.len()] != done[..] {
            continue;
        }
        let method = &chain.methods[done.len()];
        match candidates.iter_mut().find(|(m, _)| m == method) {
            Some((_, chains)) => chains.push(chain.name.clone()),
            None => candidates.push((method.clone(), vec![chain.name.clone()])),
        }
    }
    candidates
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
        let next = next_methods(&r);
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
