//! `POST /logon/{id}/do_logon` (§2.2): runs the current method, then moves the chain on: NEXT when
//! a chain still needs methods, OK with a login session when one is complete; FAILED and STOP end
//! it.

use std::time::Instant;

use serde_json::{json, Map, Value};

use super::methods::{self, Outcome};
use super::process_reply::{envelope, Status};
use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::ids::{derived_hex, random_alphanumeric};
use crate::routes::ApiRequest;
use crate::store::{LoginSession, LogonProcess, Phase, Store};

pub fn handle(app: &App, request: &ApiRequest, process_id: &str) -> ApiResult {
    let endpoint_session_id = request.body_str("endpoint_session_id")?;
    let response = match request.body()?.get("response") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err(ApiError::field("body", "response", "Not a valid mapping type.")),
    };
    let now = Instant::now();
    let mut store = app.store();
    let endpoint_id = store.use_endpoint_session(&endpoint_session_id, now)?;
    let process = store.logon_process(process_id, &endpoint_id, now)?;
    if matches!(process.phase, Phase::AwaitingNext) {
        return Err(ApiError::field(
            "body",
            "response",
            format!("Method {} is completed; continue with /next", process.current_method),
        ));
    }
    let mut process = store.logon_processes.remove(process_id).expect("found above");
    let outcome = match methods::run(app, &mut store, &mut process, response) {
        Ok(outcome) => outcome,
        Err(error) => {
            // A malformed request leaves the process as it was.
            store.logon_processes.insert(process_id.to_owned(), process);
            return Err(error);
        }
    };
    let body = match outcome {
        Outcome::MoreData { msg, reason, msgid, extra } => {
            let mut body =
                envelope(app, &process, process_id, Status { status: "MORE_DATA", msg: &msg, reason, msgid });
            body.extend(extra);
            store.logon_processes.insert(process_id.to_owned(), process);
            body
        }
        Outcome::Failed { msg, reason, msgid, extra } => {
            // FAILED finishes the process; it stays removed.
            let mut body =
                envelope(app, &process, process_id, Status { status: "FAILED", msg: &msg, reason, msgid });
            body.extend(extra);
            body
        }
        Outcome::Stopped { msg, reason, msgid } => {
            // STOP finishes the process as FAILED does.
            envelope(app, &process, process_id, Status { status: "STOP", msg: &msg, reason, msgid })
        }
        Outcome::Passed { extra } => {
            let mut body = advance(app, &mut store, process, process_id);
            body.extend(extra);
            body
        }
    };
    Ok(Reply::ok(Value::Object(body)))
}

/// The current method passed: OK if a candidate chain is now complete, else NEXT.
fn advance(app: &App, store: &mut Store, mut process: LogonProcess, process_id: &str) -> Map<String, Value> {
    let directory = &app.directory;
    process.completed.push(process.current_method.clone());
    let completed_chain = process
        .candidates
        .iter()
        .copied()
        .find(|&chain| directory.chains[chain].methods.len() == process.completed.len());
    let user_block = directory.user_block(process.user);
    let Some(chain) = completed_chain else {
        let status = Status {
            status: "NEXT",
            msg: "Welcome. Continue with the next login method",
            reason: "",
            msgid: "AUCORE-1091",
        };
        let mut body = envelope(app, &process, process_id, status);
        body.extend(user_block);
        process.phase = Phase::AwaitingNext;
        store.logon_processes.insert(process_id.to_owned(), process);
        return body;
    };
    let login_session_id = random_alphanumeric();
    let mut body = envelope(
        app,
        &process,
        process_id,
        Status { status: "OK", msg: "Welcome", reason: "", msgid: "AUCORE-2001" },
    );
    body.insert("login_session_id".into(), json!(login_session_id));
    body.insert("completed_chain".into(), directory.chain_json(chain));
    let template_key = format!("{}/{}", directory.users[process.user].name, process.current_method);
    body.insert("completed_template_id".into(), json!(derived_hex("template", &template_key)));
    body.extend(user_block);
    store.login_sessions.insert(
        login_session_id,
        LoginSession {
            user: process.user,
            chain,
            event: process.event,
            created: Instant::now(),
            created_text: now_text(),
            force_expired: false,
        },
    );
    body
}

/// Local-free UTC timestamp in the sample's format, e.g. `2018-09-26T15:30:00.201926`.
fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.microsecond()
    )
}
