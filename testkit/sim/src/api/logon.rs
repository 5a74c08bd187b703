//! `POST /logon` (start), `POST /logon/{id}/next` and `DELETE /logon/{id}` (§2.1, §2.3, §2.4).

use std::time::Instant;

use serde_json::{json, Value};

use super::process_reply::{envelope, start_logon_hints, Status};
use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::ids::random_alphanumeric;
use crate::routes::ApiRequest;
use crate::store::{LogonProcess, Phase};

const PROCESS_STARTED: Status<'static> = Status {
    status: "MORE_DATA",
    msg: "Process has been started",
    reason: "PROCESS_STARTED",
    msgid: "AUCORE-1008",
};

/// Starts a logon process for a user, an event and the method the user starts with. The chains
/// it may complete are the event's chains (usable by the user) that begin with `method_id`.
pub fn start(app: &App, request: &ApiRequest) -> ApiResult {
    let endpoint_session_id = request.body_str("endpoint_session_id")?;
    let method_id = request.body_str("method_id")?;
    let user_name = request.body_str("user_name")?;
    let requested_event = request.body_opt_str("event")?;
    let directory = &app.directory;
    let now = Instant::now();
    let mut store = app.store();
    let endpoint_id = store.use_endpoint_session(&endpoint_session_id, now)?;
    let user = directory.user_or_error(&user_name)?;
    if directory.users[user].locked {
        return Err(ApiError::au_error(400, None, "User is locked", Some("USER_LOCKED")));
    }
    let event = directory.event(requested_event.as_deref())?;
    let candidates: Vec<usize> = directory
        .usable_chains(user, &event)
        .into_iter()
        .filter(|&chain| directory.chains[chain].methods[0] == method_id)
        .collect();
    if candidates.is_empty() {
        return Err(ApiError::field(
            "body",
            "method_id",
            format!("No chain of event {event:?} usable by the user starts with {method_id:?}"),
        ));
    }
    let process = LogonProcess {
        endpoint_id,
        user,
        event,
        candidates,
        completed: Vec::new(),
        current_method: method_id,
        phase: Phase::Started,
        last_used: now,
    };
    let process_id = random_alphanumeric();
    let mut body = envelope(app, &process, &process_id, PROCESS_STARTED);
    body.insert("logon_hints".into(), start_logon_hints());
    store.logon_processes.insert(process_id, process);
    Ok(Reply::ok(Value::Object(body)))
}

/// After NEXT: moves to `method_id`, which must be the next method of a still possible chain.
pub fn next(app: &App, request: &ApiRequest, process_id: &str) -> ApiResult {
    let endpoint_session_id = request.body_str("endpoint_session_id")?;
    let method_id = request.body_str("method_id")?;
    let now = Instant::now();
    let mut store = app.store();
    let endpoint_id = store.use_endpoint_session(&endpoint_session_id, now)?;
    let process = store.logon_process(process_id, &endpoint_id, now)?;
    if !matches!(process.phase, Phase::AwaitingNext) {
        return Err(ApiError::field(
            "body",
            "method_id",
            format!("Method {} is not completed yet; answer it with do_logon", process.current_method),
        ));
    }
    let position = process.completed.len();
    let chains = &app.directory.chains;
    let remaining: Vec<usize> = process
        .candidates
        .iter()
        .copied()
        .filter(|&chain| chains[chain].methods.get(position) == Some(&method_id))
        .collect();
    if remaining.is_empty() {
        return Err(ApiError::field(
            "body",
            "method_id",
            format!(
                "{method_id:?} is not the next method of a chain that starts with {:?}",
                process.completed
            ),
        ));
    }
    process.candidates = remaining;
    process.current_method = method_id;
    process.phase = Phase::Started;
    let mut body = envelope(app, process, process_id, PROCESS_STARTED);
    body.insert("logon_hints".into(), json!({}));
    Ok(Reply::ok(Value::Object(body)))
}

/// Aborts a logon process; later calls on it get 444.
pub fn abort(app: &App, request: &ApiRequest, process_id: &str) -> ApiResult {
    let endpoint_session_id = request.endpoint_session_id()?;
    let now = Instant::now();
    let mut store = app.store();
    let endpoint_id = store.use_endpoint_session(&endpoint_session_id, now)?;
    store.logon_process(process_id, &endpoint_id, now)?;
    store.logon_processes.remove(process_id);
    Ok(Reply::ok(Value::Null))
}
