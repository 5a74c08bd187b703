//! Simulator-only routes under `/sim/v1/` so tests in any language can inspect and steer the
//! simulator: sent OTPs, current TOTP codes, the phone's answer to pushes and calls, statistics,
//! faults, expiry and lifetimes. The cluster's instances are in `instance_routes`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::faults::FaultRuleSpec;
use crate::routes::ApiRequest;
use crate::simulator::{ApprovalDecision, Lifetimes};

pub fn route(app: &App, request: &ApiRequest, method: &str, rest: &[&str]) -> ApiResult {
    match (rest, method) {
        (["otps"], "GET") => {
            let user_name = required_query(request, "user_name")?;
            let otps = app.sent_otps(user_name).ok_or_else(ApiError::user_not_found)?;
            Ok(Reply::ok(json!({ "user_name": user_name, "otps": otps })))
        }
        (["totp"], "GET") => {
            let user_name = required_query(request, "user_name")?;
            let (code, unix_time) = app.current_totp(user_name).ok_or_else(ApiError::user_not_found)?;
            Ok(Reply::ok(json!({ "user_name": user_name, "code": code, "unix_time": unix_time })))
        }
        (["smartphone_totp"], "GET") => {
            let user_name = required_query(request, "user_name")?;
            let code = app.current_smartphone_totp(user_name).ok_or_else(ApiError::user_not_found)?;
            Ok(Reply::ok(json!({ "user_name": user_name, "code": code })))
        }
        (["approvals"], "GET") => {
            let user_name = required_query(request, "user_name")?;
            let pending = app.pending_approvals(user_name).ok_or_else(ApiError::user_not_found)?;
            let pending: Vec<Value> = pending
                .iter()
                .map(|p| json!({ "method_id": p.method_id, "waiting_ms": p.waiting.as_millis() as u64 }))
                .collect();
            Ok(Reply::ok(json!({ "user_name": user_name, "pending": pending })))
        }
        (["approvals"], "POST") => {
            let user_name = request.body_str("user_name")?;
            let decision = match request.body_str("decision")?.as_str() {
                "approve" => ApprovalDecision::Approve,
                "reject" => ApprovalDecision::Reject,
                _ => return Err(ApiError::field("body", "decision", "Must be approve or reject")),
            };
            let decided = app.decide_approvals(&user_name, decision).ok_or_else(ApiError::user_not_found)?;
            if decided == 0 {
                return Err(ApiError::field(
                    "body",
                    "user_name",
                    "No push or call of the user waits for the phone",
                ));
            }
            Ok(Reply::ok(json!({ "status": "ok", "decided": decided })))
        }
        (["stats"], "GET") => {
            let stats = app.stats();
            Ok(Reply::ok(
                json!({ "connections_accepted": stats.connections_accepted, "requests": stats.requests }),
            ))
        }
        (["faults"], "POST") => {
            let spec: FaultRuleSpec = parse_body(request)?;
            let rule = spec.into_rule().map_err(|error| ApiError::field("body", "fault", error))?;
            app.faults.add(rule);
            Ok(Reply::ok(json!({ "status": "ok" })))
        }
        (["faults"], "DELETE") => {
            app.faults.clear();
            Ok(Reply::ok(json!({ "status": "ok" })))
        }
        (["expire"], "POST") => {
            let what = request.body_str("what")?;
            match what.as_str() {
                "endpoint_sessions" => app.expire_endpoint_sessions(),
                "logon_processes" => app.expire_logon_processes(),
                "login_sessions" => app.expire_login_sessions(),
                _ => {
                    return Err(ApiError::field(
                        "body",
                        "what",
                        "Must be endpoint_sessions, logon_processes or login_sessions",
                    ))
                }
            }
            Ok(Reply::ok(json!({ "status": "ok" })))
        }
        (["lifetimes"], "GET") => Ok(Reply::ok(lifetimes_json(&app.lifetimes()))),
        (["lifetimes"], "PUT") => {
            let update: LifetimesUpdate = parse_body(request)?;
            let mut lifetimes = app.lifetimes();
            let set = |target: &mut Duration, ms: Option<u64>| {
                if let Some(ms) = ms {
                    *target = Duration::from_millis(ms);
                }
            };
            set(&mut lifetimes.endpoint_session, update.endpoint_session_ms);
            set(&mut lifetimes.logon_process, update.logon_process_ms);
            set(&mut lifetimes.login_session, update.login_session_ms);
            set(&mut lifetimes.approval, update.approval_ms);
            app.set_lifetimes(lifetimes.clone());
            Ok(Reply::ok(lifetimes_json(&lifetimes)))
        }
        (
            ["otps" | "totp" | "smartphone_totp" | "approvals" | "stats" | "faults" | "expire" | "lifetimes"],
            _,
        ) => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::route_not_found()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LifetimesUpdate {
    endpoint_session_ms: Option<u64>,
    logon_process_ms: Option<u64>,
    login_session_ms: Option<u64>,
    approval_ms: Option<u64>,
}

fn lifetimes_json(lifetimes: &Lifetimes) -> Value {
    json!({
        "endpoint_session_ms": lifetimes.endpoint_session.as_millis() as u64,
        "logon_process_ms": lifetimes.logon_process.as_millis() as u64,
        "login_session_ms": lifetimes.login_session.as_millis() as u64,
        "approval_ms": lifetimes.approval.as_millis() as u64,
    })
}

fn required_query<'a>(request: &'a ApiRequest, name: &str) -> Result<&'a str, ApiError> {
    request
        .query(name)
        .ok_or_else(|| ApiError::field("querystring", name, "Missing data for required field."))
}

pub fn parse_body<T: serde::de::DeserializeOwned>(request: &ApiRequest) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(request.body()?.clone()))
        .map_err(|error| ApiError::field("body", "body", error.to_string()))
}
