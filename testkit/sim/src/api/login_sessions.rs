//! `GET` and `DELETE /logon/sessions/{login_session_id}` (§2.4): session info and logout.

use std::time::Instant;

use serde_json::{json, Value};

use crate::app::App;
use crate::envelope::{ApiResult, Reply};
use crate::routes::ApiRequest;

pub fn get(app: &App, request: &ApiRequest, login_session_id: &str) -> ApiResult {
    let endpoint_session_id = request.endpoint_session_id()?;
    let now = Instant::now();
    let mut store = app.store();
    store.use_endpoint_session(&endpoint_session_id, now)?;
    let session = store.login_session(login_session_id, now)?;
    let directory = &app.directory;
    let data_id = session.event.to_uppercase();
    Ok(Reply::ok(json!({
        "event_name": session.event,
        "data_id": data_id,
        "user_name": directory.users[session.user].name,
        "user_id": directory.user_id(session.user),
        "repo_id": directory.repo_id(session.user),
        "repo_obj_id": directory.repo_obj_id(session.user),
        "created": session.created_text,
        "chain_id": directory.chains[session.chain].id_hex,
        "user_groups": [],
    })))
}

/// Logout: afterwards the id answers 434 AUCORE-1066.
pub fn delete(app: &App, request: &ApiRequest, login_session_id: &str) -> ApiResult {
    let endpoint_session_id = request.endpoint_session_id()?;
    let now = Instant::now();
    let mut store = app.store();
    store.use_endpoint_session(&endpoint_session_id, now)?;
    store.login_session(login_session_id, now)?;
    store.login_sessions.remove(login_session_id);
    Ok(Reply::ok(Value::Null))
}
