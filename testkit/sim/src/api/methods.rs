//! The authentication methods: what one `do_logon` does for the current method.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::app::App;
use crate::envelope::ApiError;
use crate::store::{LogonProcess, Phase, Store};
use crate::u2f::{self, U2fRejection};

/// What the current method decided.
pub enum Outcome {
    Passed,
    MoreData { msg: &'static str, reason: &'static str, msgid: &'static str, extra: Map<String, Value> },
    Failed { msg: String, reason: &'static str, msgid: &'static str },
}

fn wrong_otp(msg: &str) -> Outcome {
    Outcome::Failed { msg: msg.to_owned(), reason: "OTP_WRONG", msgid: "AUCORE-2067" }
}

pub fn run(
    app: &App,
    store: &mut Store,
    process: &mut LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    match process.current_method.as_str() {
        "PASSWORD:1" | "LDAP_PASSWORD:1" => Ok(password(app, process, answer(response)?)),
        "TOTP:1" => Ok(totp(app, store, process, answer(response)?)),
        "SMS_OTP:1" | "EMAIL_OTP:1" => Ok(sent_otp(app, store, process, answer(response)?)),
        "U2F:1" => u2f_method(app, store, process, response),
        other => Err(ApiError::au_error(500, None, format!("Method {other} is not supported"), None)),
    }
}

/// `response.answer`: absent means "no answer yet".
fn answer(response: Option<&Map<String, Value>>) -> Result<Option<&str>, ApiError> {
    match response.and_then(|r| r.get("answer")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::field("body", "response.answer", "Not a valid string.")),
    }
}

fn waiting_for_answer() -> Outcome {
    Outcome::MoreData {
        msg: "Waiting for the answer",
        reason: "WAITING_ANSWER",
        msgid: "AUCORE-2069",
        extra: Map::new(),
    }
}

fn password(app: &App, process: &LogonProcess, answer: Option<&str>) -> Outcome {
    let Some(answer) = answer else { return waiting_for_answer() };
    if app.directory.users[process.user].password.as_deref() == Some(answer) {
        Outcome::Passed
    } else {
        Outcome::Failed { msg: "Incorrect password".into(), reason: "PASSWORD_WRONG", msgid: "AUCORE-2007" }
    }
}

/// RFC 6238 with ±1 step; a step once accepted (or older) is never accepted again.
fn totp(app: &App, store: &mut Store, process: &LogonProcess, answer: Option<&str>) -> Outcome {
    let Some(answer) = answer else { return waiting_for_answer() };
    let Some(key) = app.directory.users[process.user].totp_key.as_deref() else {
        return wrong_otp("No TOTP authenticator is enrolled");
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let state = &mut store.users[process.user];
    match crate::totp::matching_step(key, now, answer.trim()) {
        Some(step) if state.last_totp_step.is_none_or(|last| step > last) => {
            state.last_totp_step = Some(step);
            Outcome::Passed
        }
        Some(_) => wrong_otp("This one-time password has already been used"),
        None => wrong_otp("Incorrect one-time password"),
    }
}

/// SMS_OTP:1 / EMAIL_OTP:1: a `do_logon` without answer "sends" a fresh code, the next one checks it.
fn sent_otp(app: &App, store: &mut Store, process: &mut LogonProcess, answer: Option<&str>) -> Outcome {
    match (answer, &process.phase) {
        (None, _) => {
            let code = random_otp();
            let user = &app.directory.users[process.user];
            let (channel, destination) = if process.current_method == "SMS_OTP:1" {
                ("SMS", user.mobile_phone.as_deref().unwrap_or_default())
            } else {
                ("e-mail", user.email.as_deref().unwrap_or_default())
            };
            // The simulated delivery: tests and people read the code here or via /sim/v1/otps.
            log::info!("simulated {channel} to {destination} for {}: one-time password {code}", user.name);
            store.record_sent_otp(process.user, code.clone());
            process.phase = Phase::OtpSent { code };
            Outcome::MoreData {
                msg: "One-time password has been sent",
                reason: "OTP_SENT",
                msgid: "AUCORE-2068",
                extra: Map::new(),
            }
        }
        (Some(answer), Phase::OtpSent { code }) if answer.trim() == code => Outcome::Passed,
        (Some(_), Phase::OtpSent { .. }) => wrong_otp("Incorrect one-time password"),
        (Some(_), _) => wrong_otp("No one-time password has been sent yet"),
    }
}

fn random_otp() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{:06}", u32::from_be_bytes(bytes) % 1_000_000)
}

/// U2F:1: without `signResponse` a gather (fresh sign requests), with one a verification.
fn u2f_method(
    app: &App,
    store: &mut Store,
    process: &mut LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let directory = &app.directory;
    let keys = &directory.users[process.user].keys;
    let Some(sign_response) = response.and_then(|r| r.get("signResponse")).filter(|v| !v.is_null()) else {
        let handles: Vec<Vec<u8>> = keys.iter().map(|key| key.key_handle.clone()).collect();
        let (challenge, sign_requests) = u2f::new_sign_requests(&directory.app_id, &handles);
        let mut extra = Map::new();
        extra.insert("signRequests".into(), sign_requests);
        extra.insert("webauth_challenge".into(), u2f::new_webauth_challenge(&handles));
        process.phase = Phase::U2fChallenged { challenge };
        return Ok(Outcome::MoreData {
            msg: "Waiting for an authentication response",
            reason: "U2F_WAITING_AUTH_RESPONSE",
            msgid: "AUCORE-2059",
            extra,
        });
    };
    let verdict = (|| {
        let Phase::U2fChallenged { challenge } = &process.phase else {
            return Err(U2fRejection::WrongChallenge);
        };
        let key_handle = u2f::sign_response_key_handle(sign_response)?;
        let index =
            keys.iter().position(|key| key.key_handle == key_handle).ok_or(U2fRejection::UnknownKeyHandle)?;
        let counters = &mut store.users[process.user].counters;
        let counter = u2f::verify_sign_response(
            &directory.app_id,
            challenge,
            &keys[index].public_key,
            counters[index],
            sign_response,
        )?;
        counters[index] = counter;
        Ok(())
    })();
    match verdict {
        Ok(()) => Ok(Outcome::Passed),
        Err(U2fRejection::MalformedSignResponse(detail)) => {
            Err(ApiError::field("body", "response.signResponse", detail))
        }
        Err(rejection) => {
            log::info!("U2F rejected for {}: {rejection}", directory.users[process.user].name);
            Ok(Outcome::Failed {
                msg: rejection.to_string(),
                reason: rejection.reason(),
                msgid: rejection.msgid().unwrap_or("AUCORE-2066"),
            })
        }
    }
}
