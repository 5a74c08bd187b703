//! The authentication methods: what one `do_logon` does for the current method.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::app::App;
use crate::envelope::ApiError;
use crate::fixture::{PhoneAnswers, ISO_TEMPLATE_MAGIC};
use crate::simulator::ApprovalDecision;
use crate::store::{LogonProcess, Phase, Store};
use crate::u2f::{self, U2fRejection};

/// The score a matching fingerprint gets (the 6.4 guide's FINGER:1 sample).
const FINGER_MATCH_SCORE: u32 = 45;

/// What the current method decided.
pub enum Outcome {
    /// The method passed; `extra` joins the NEXT/OK reply (FINGER:1's `score`).
    Passed {
        extra: Map<String, Value>,
    },
    MoreData {
        msg: String,
        reason: &'static str,
        msgid: &'static str,
        extra: Map<String, Value>,
    },
    Failed {
        msg: String,
        reason: &'static str,
        msgid: &'static str,
        extra: Map<String, Value>,
    },
    /// The user stopped the logon (a rejected push or call): STOP ends the process.
    Stopped {
        msg: String,
        reason: &'static str,
        msgid: &'static str,
    },
}

fn passed() -> Outcome {
    Outcome::Passed { extra: Map::new() }
}

fn more_data(msg: impl Into<String>, reason: &'static str, msgid: &'static str) -> Outcome {
    Outcome::MoreData { msg: msg.into(), reason, msgid, extra: Map::new() }
}

fn failed(msg: impl Into<String>, reason: &'static str, msgid: &'static str) -> Outcome {
    Outcome::Failed { msg: msg.into(), reason, msgid, extra: Map::new() }
}

fn wrong_otp(msg: &str) -> Outcome {
    failed(msg, "OTP_WRONG", "AUCORE-2067")
}

fn wrong_password() -> Outcome {
    failed("Incorrect password", "PASSWORD_WRONG", "AUCORE-2007")
}

pub fn run(
    app: &App,
    store: &mut Store,
    process: &mut LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let user = &app.directory.users[process.user];
    match process.current_method.as_str() {
        "PASSWORD:1" | "LDAP_PASSWORD:1" => Ok(password(user.password.as_deref(), answer(response)?)),
        "EMERG_PASSWORD:1" => Ok(password(user.emergency_password.as_deref(), answer(response)?)),
        "TOTP:1" => Ok(totp(app, store, process, answer(response)?)),
        "SMS_OTP:1" | "EMAIL_OTP:1" | "VOICE_OTP:1" => Ok(sent_otp(app, store, process, answer(response)?)),
        "U2F:1" => u2f_method(app, store, process, response),
        super::fido2_login::METHOD_ID => super::fido2_login::method(process, response),
        "SMARTPHONE:1" | "VOICE:1" => out_of_band(app, store, process, response),
        "SECQUEST:1" => security_questions(app, process, response),
        "RADIUS:1" => Ok(radius(app, process, answer(response)?)),
        "CARD:1" => card(app, process, response),
        "FINGER:1" => finger(app, process, response),
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

/// A string member of `response` named `name` (`response.<name>` in errors); absent → `None`.
fn response_str<'a>(
    response: Option<&'a Map<String, Value>>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match response.and_then(|r| r.get(name)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::field("body", format!("response.{name}"), "Not a valid string.")),
    }
}

fn waiting_for_answer() -> Outcome {
    more_data("Waiting for the answer", "WAITING_ANSWER", "AUCORE-2069")
}

/// PASSWORD:1, LDAP_PASSWORD:1 and EMERG_PASSWORD:1 against the enrolled `expected` password.
fn password(expected: Option<&str>, answer: Option<&str>) -> Outcome {
    let Some(answer) = answer else { return waiting_for_answer() };
    if expected == Some(answer) {
        passed()
    } else {
        wrong_password()
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// RFC 6238 with ±1 step; a step once accepted (or older) is never accepted again.
fn totp_check(key: &[u8], last_step: &mut Option<u64>, answer: &str) -> Outcome {
    match crate::totp::matching_step(key, unix_now(), answer.trim()) {
        Some(step) if last_step.is_none_or(|last| step > last) => {
            *last_step = Some(step);
            passed()
        }
        Some(_) => wrong_otp("This one-time password has already been used"),
        None => wrong_otp("Incorrect one-time password"),
    }
}

fn totp(app: &App, store: &mut Store, process: &LogonProcess, answer: Option<&str>) -> Outcome {
    let Some(answer) = answer else { return waiting_for_answer() };
    let Some(key) = app.directory.users[process.user].totp_key.as_deref() else {
        return wrong_otp("No TOTP authenticator is enrolled");
    };
    totp_check(key, &mut store.users[process.user].last_totp_step, answer)
}

/// SMS_OTP:1 / EMAIL_OTP:1 / VOICE_OTP:1: a `do_logon` without answer "sends" a fresh code, the
/// next one checks it.
fn sent_otp(app: &App, store: &mut Store, process: &mut LogonProcess, answer: Option<&str>) -> Outcome {
    match (answer, &process.phase) {
        (None, _) => {
            let code = random_otp();
            let user = &app.directory.users[process.user];
            let (channel, destination) = match process.current_method.as_str() {
                "SMS_OTP:1" => ("SMS", user.mobile_phone.as_deref()),
                "VOICE_OTP:1" => ("voice call", user.mobile_phone.as_deref()),
                _ => ("e-mail", user.email.as_deref()),
            };
            let destination = destination.unwrap_or_default();
            // The simulated delivery: tests and people read the code here or via /sim/v1/otps.
            log::info!("simulated {channel} to {destination} for {}: one-time password {code}", user.name);
            store.record_sent_otp(process.user, code.clone());
            process.phase = Phase::OtpSent { code };
            more_data("One-time password has been sent", "OTP_SENT", "AUCORE-2068")
        }
        (Some(answer), Phase::OtpSent { code }) if answer.trim() == code => passed(),
        (Some(_), Phase::OtpSent { .. }) => wrong_otp("Incorrect one-time password"),
        (Some(_), _) => wrong_otp("No one-time password has been sent yet"),
    }
}

fn random_otp() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{:06}", u32::from_be_bytes(bytes) % 1_000_000)
}

/// SMARTPHONE:1 / VOICE:1 (§4.5): the first `do_logon` without a response sends the push or
/// starts the call, later ones poll for the phone's decision. SMARTPHONE:1 also takes the app's
/// offline code as `{"totp": …}` at any time.
fn out_of_band(
    app: &App,
    store: &mut Store,
    process: &mut LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let smartphone = process.current_method == "SMARTPHONE:1";
    if let Some(response) = response.filter(|r| !r.is_empty()) {
        let code = match response_str(Some(response), "totp")? {
            Some(code) if smartphone => code,
            _ => {
                return Err(ApiError::field(
                    "body",
                    "response",
                    format!(
                        "{} takes no response but a smartphone's offline {{\"totp\": …}}",
                        process.current_method
                    ),
                ))
            }
        };
        let Some(Some(key)) = app.directory.users[process.user].smartphone.as_ref() else {
            return Ok(wrong_otp("The smartphone app has no offline code enrolled"));
        };
        return Ok(totp_check(key, &mut store.users[process.user].last_smartphone_totp_step, code));
    }
    let user = &app.directory.users[process.user];
    let waiting = || {
        if smartphone {
            more_data("Waiting for the confirmation on your smartphone", "SMARTPHONE_WAITING", "AUCORE-2070")
        } else {
            more_data("Waiting for the phone call to be answered", "VOICE_WAITING", "AUCORE-2071")
        }
    };
    let now = Instant::now();
    let Phase::AwaitingApproval { started, decision } = &mut process.phase else {
        let what = if smartphone { "push notification" } else { "phone call" };
        log::info!("simulated {what} for {} ({:?} answers)", user.name, user.phone_answers);
        process.phase = Phase::AwaitingApproval { started: now, decision: None };
        return Ok(waiting());
    };
    if decision.is_none() {
        *decision = match user.phone_answers {
            PhoneAnswers::Manual => None,
            PhoneAnswers::Approve => Some(ApprovalDecision::Approve),
            PhoneAnswers::Reject => Some(ApprovalDecision::Reject),
        };
    }
    Ok(match decision {
        Some(ApprovalDecision::Approve) => passed(),
        Some(ApprovalDecision::Reject) => {
            Outcome::Stopped { msg: "Auth rejected".into(), reason: "AUTH_REJECTED", msgid: "AUCORE-2072" }
        }
        None if now.duration_since(*started) >= store.lifetimes.approval => {
            failed("Auth confirmation timeout", "AUTH_CONFIRMATION_TIMEOUT", "AUCORE-2073")
        }
        None => waiting(),
    })
}

/// SECQUEST:1 (§4.4): without `answers` the questions, with them the verdict — every question
/// answered right (case and surrounding whitespace ignored), no other id.
fn security_questions(
    app: &App,
    process: &LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let questions = &app.directory.users[process.user].security_questions;
    let answers = match response.and_then(|r| r.get("answers")) {
        None | Some(Value::Null) => {
            let asked: Map<String, Value> =
                questions.iter().map(|q| (q.id.clone(), json!(q.question))).collect();
            let mut extra = Map::new();
            extra.insert("questions".into(), Value::Object(asked));
            return Ok(Outcome::MoreData {
                msg: "Waiting for the answers...".into(),
                reason: "SECQUEST_WAITING_ANSWERS",
                msgid: "AUCORE-2046",
                extra,
            });
        }
        Some(Value::Object(answers)) => answers,
        Some(_) => return Err(ApiError::field("body", "response.answers", "Not a valid mapping type.")),
    };
    if answers.values().any(|answer| !answer.is_string()) {
        return Err(ApiError::field("body", "response.answers", "Every answer must be a string."));
    }
    let right = |answer: Option<&Value>, expected: &str| {
        answer
            .and_then(Value::as_str)
            .is_some_and(|a| a.trim().to_lowercase() == expected.trim().to_lowercase())
    };
    let all_right = answers.len() == questions.len()
        && questions.iter().all(|question| right(answers.get(&question.id), &question.answer));
    Ok(if all_right {
        passed()
    } else {
        failed("Incorrect answers to the security questions", "SECQUEST_WRONG_ANSWERS", "AUCORE-2074")
    })
}

/// RADIUS:1: the password, then — when the account has one — the Access-Challenge, whose
/// Reply-Message is the MORE_DATA's `msg`.
fn radius(app: &App, process: &mut LogonProcess, answer: Option<&str>) -> Outcome {
    let Some(account) = app.directory.users[process.user].radius.as_ref() else {
        return failed("Access-Reject", "RADIUS_REJECTED", "AUCORE-2076");
    };
    let challenge = |prompt: &str| more_data(prompt, "RADIUS_CHALLENGE", "AUCORE-2075");
    match (&process.phase, answer, &account.challenge) {
        (Phase::RadiusChallenged, None, Some(asked)) => challenge(&asked.prompt),
        (Phase::RadiusChallenged, Some(answer), Some(asked)) if answer == asked.answer => passed(),
        (Phase::RadiusChallenged, Some(_), _) => failed("Access-Reject", "RADIUS_REJECTED", "AUCORE-2076"),
        (_, None, _) => waiting_for_answer(),
        (_, Some(answer), _) if answer != account.password => {
            failed("Access-Reject", "RADIUS_REJECTED", "AUCORE-2076")
        }
        (_, Some(_), Some(asked)) => {
            process.phase = Phase::RadiusChallenged;
            challenge(&asked.prompt)
        }
        (_, Some(_), None) => passed(),
    }
}

/// CARD:1: `{"card_uid": "<hex>", "card_cert": ""}` (the enrollment payload, §4.7; the logon
/// payload is not documented). Without `card_uid` the server waits for the card.
fn card(
    app: &App,
    process: &LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let Some(uid) = response_str(response, "card_uid")? else {
        return Ok(more_data("Waiting for the card", "CARD_WAITING", "AUCORE-2077"));
    };
    response_str(response, "card_cert")?;
    let enrolled = app.directory.users[process.user].card_uid.as_deref();
    Ok(if enrolled == Some(uid.trim().to_ascii_lowercase().as_str()) {
        passed()
    } else {
        failed("The card is not enrolled for the user", "CARD_UNKNOWN", "AUCORE-2078")
    })
}

/// FINGER:1 (§4.6): `{"capture": {"ISO": "<base64 ISO/IEC 19794-2>", "captureStatus": "OK"}}`;
/// a template equal to the enrolled one matches with score 45.
fn finger(
    app: &App,
    process: &LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    let capture = match response.and_then(|r| r.get("capture")) {
        None | Some(Value::Null) => {
            return Ok(more_data("Waiting for the fingerprint", "FINGER_WAITING", "AUCORE-2079"))
        }
        Some(Value::Object(capture)) => capture,
        Some(_) => return Err(ApiError::field("body", "response.capture", "Not a valid mapping type.")),
    };
    let text = |name: &str| match capture.get(name) {
        Some(Value::String(text)) => Ok(text.as_str()),
        _ => Err(ApiError::field("body", format!("response.capture.{name}"), "Missing or not a string.")),
    };
    let status = text("captureStatus")?;
    if !status.eq_ignore_ascii_case("OK") {
        return Ok(failed(
            format!("Fingerprint capture failed: {status}"),
            "FINGER_CAPTURE_FAILED",
            "AUCORE-2081",
        ));
    }
    let template =
        STANDARD.decode(text("ISO")?).ok().filter(|bytes| bytes.starts_with(ISO_TEMPLATE_MAGIC)).ok_or_else(
            || ApiError::field("body", "response.capture.ISO", "Not base64 of an ISO/IEC 19794-2 template."),
        )?;
    let matched = app.directory.users[process.user].fingerprint_iso.as_deref() == Some(template.as_slice());
    let score = if matched { FINGER_MATCH_SCORE } else { 0 };
    let mut extra = Map::new();
    extra.insert("score".into(), json!(score));
    Ok(if matched {
        Outcome::Passed { extra }
    } else {
        Outcome::Failed {
            msg: "The fingerprint does not match".into(),
            reason: "FINGER_NOT_MATCHED",
            msgid: "AUCORE-2080",
            extra,
        }
    })
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
            msg: "Waiting for an authentication response".into(),
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
        Ok(()) => Ok(passed()),
        Err(U2fRejection::MalformedSignResponse(detail)) => {
            Err(ApiError::field("body", "response.signResponse", detail))
        }
        Err(rejection) => {
            log::info!("U2F rejected for {}: {rejection}", directory.users[process.user].name);
            Ok(failed(rejection.to_string(), rejection.reason(), rejection.msgid().unwrap_or("AUCORE-2066")))
        }
    }
}
