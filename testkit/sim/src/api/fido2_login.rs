//! FIDO2:1 as AA's web client runs it (aa-rest-api.md §4.2): `do_logon` starts the step (MORE_DATA),
//! `POST /logon_method/FIDO2:1/login/{logon_process_id}` gives the request options and then takes
//! the assertion, and `do_logon` polled afterwards passes or fails the method.

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::methods::Outcome;
use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::fido2::{self, Expected, Fido2Phase, Fido2Rejection};
use crate::routes::ApiRequest;
use crate::store::{LogonProcess, Phase, Store};

pub const METHOD_ID: &str = "FIDO2:1";

fn waiting(msg: &'static str) -> Outcome {
    Outcome::MoreData {
        msg: msg.to_owned(),
        reason: "FIDO2_WAITING_AUTH_RESPONSE",
        msgid: "AUCORE-2099",
        extra: Map::new(),
    }
}

/// `do_logon` with FIDO2:1 current: MORE_DATA until an assertion was posted, then its verdict.
/// The assertion itself never travels in do_logon: a non-empty `response` is a 400.
pub fn method(
    process: &mut LogonProcess,
    response: Option<&Map<String, Value>>,
) -> Result<Outcome, ApiError> {
    if response.is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::field(
            "body",
            "response",
            "FIDO2:1 takes its assertion at /api/v1/logon_method/FIDO2:1/login/{logon_process_id}",
        ));
    }
    let outcome = match &process.phase {
        Phase::Fido2(Fido2Phase::Verified) => Outcome::Passed { extra: Map::new() },
        Phase::Fido2(Fido2Phase::Rejected(rejection)) => Outcome::Failed {
            msg: rejection.to_string(),
            reason: rejection.reason(),
            msgid: rejection.msgid(),
            extra: Map::new(),
        },
        Phase::Fido2(Fido2Phase::Challenged { .. }) => {
            waiting("Waiting for the FIDO2 authentication response")
        }
        _ => {
            process.phase = Phase::Fido2(Fido2Phase::AwaitingOptions);
            waiting("Waiting for the FIDO2 authentication")
        }
    };
    Ok(outcome)
}

/// `POST /logon_method/FIDO2:1/login/{id}`: a body with `response` is an assertion, any other
/// body asks for the request options. `endpoint_session_id` (body or query) is optional, as the
/// web client sends none; when given it must be valid and own the process.
pub fn handle(app: &App, request: &ApiRequest, process_id: &str) -> ApiResult {
    let now = Instant::now();
    let mut store = app.store();
    let endpoint_id = match request.query("endpoint_session_id").map(str::to_owned) {
        Some(id) => Some(id),
        None => request.body_opt_str("endpoint_session_id")?,
    };
    let endpoint_id = match endpoint_id {
        Some(session) => store.use_endpoint_session(&session, now)?,
        None => store
            .logon_processes
            .get(process_id)
            .map(|p| p.endpoint_id.clone())
            .ok_or_else(ApiError::logon_process_not_found)?,
    };
    let user = {
        let process = store.logon_process(process_id, &endpoint_id, now)?;
        if process.current_method != METHOD_ID {
            return Err(ApiError::field(
                "url",
                "logon_process_id",
                format!("The current method is {}, not {METHOD_ID}", process.current_method),
            ));
        }
        process.user
    };
    let body = request.body()?;
    match body.get("response") {
        Some(_) => assertion(app, &mut store, request, process_id, user),
        None => options(app, &mut store, body, process_id, user),
    }
}

fn options(
    app: &App,
    store: &mut Store,
    body: &Map<String, Value>,
    process_id: &str,
    user: usize,
) -> ApiResult {
    let directory = &app.directory;
    let process = store.logon_processes.get_mut(process_id).expect("checked by the caller");
    if !matches!(process.phase, Phase::Fido2(Fido2Phase::AwaitingOptions | Fido2Phase::Challenged { .. })) {
        return Err(ApiError::field("url", "logon_process_id", "Call do_logon for FIDO2:1 first"));
    }
    if let Some(name) = body.get("username").filter(|v| !v.is_null()) {
        let name = name.as_str().ok_or_else(|| ApiError::field("body", "username", "Not a valid string."))?;
        if directory.resolve_user(name) != Some(user) {
            return Ok(failed(&format!("User {name:?} is not the user of this logon process")));
        }
    }
    let challenge = fido2::new_challenge();
    let options = fido2::request_options(&directory.fido2.rp_id, &challenge, directory.fido2.user(user));
    process.phase = Phase::Fido2(Fido2Phase::Challenged { challenge });
    Ok(Reply::ok(options))
}

fn assertion(app: &App, store: &mut Store, request: &ApiRequest, process_id: &str, user: usize) -> ApiResult {
    let directory = &app.directory;
    let assertion = Value::Object(request.body()?.clone());
    let credential_id = fido2::assertion_credential_id(&assertion).map_err(malformed)?;
    let process = store.logon_processes.get(process_id).expect("checked by the caller");
    let challenge = match &process.phase {
        Phase::Fido2(Fido2Phase::Challenged { challenge }) => Some(challenge.clone()),
        _ => None,
    };
    let fido2_user = directory.fido2.user(user);
    let verdict = (|| {
        let challenge = challenge.ok_or(Fido2Rejection::WrongChallenge)?;
        let index = fido2_user
            .keys
            .iter()
            .position(|key| key.credential_id == credential_id)
            .ok_or(Fido2Rejection::UnknownCredential)?;
        let origins = directory.fido2.allowed_origins(request.host.as_deref());
        let expected = Expected {
            rp_id: &directory.fido2.rp_id,
            origins: &origins,
            challenge: &challenge,
            public_key: &fido2_user.keys[index].public_key,
            last_counter: store.fido2_counters.get(user, index),
            require_uv: fido2_user.require_uv,
        };
        let counter = fido2::verify_assertion(&expected, &assertion)?;
        store.fido2_counters.set(user, index, counter);
        Ok(())
    })();
    let process = store.logon_processes.get_mut(process_id).expect("checked by the caller");
    match verdict {
        Ok(()) => {
            process.phase = Phase::Fido2(Fido2Phase::Verified);
            Ok(Reply::ok(json!({ "status": "ok", "errorMessage": "" })))
        }
        Err(rejection @ Fido2Rejection::Malformed(_)) => Err(malformed(rejection)),
        Err(rejection) => {
            log::info!("FIDO2 rejected for {}: {rejection}", directory.users[user].name);
            let message = rejection.to_string();
            process.phase = Phase::Fido2(Fido2Phase::Rejected(rejection));
            Ok(failed(&message))
        }
    }
}

fn failed(message: &str) -> Reply {
    Reply::ok(json!({ "status": "failed", "errorMessage": message }))
}

fn malformed(rejection: Fido2Rejection) -> ApiError {
    ApiError::field("body", "response", rejection.to_string())
}
