//! `GET /logon/chains` (and PWM's older `POST` variant with `username`): the chains a user may use
//! for an event (§2.4).

use std::time::Instant;

use serde_json::json;

use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::routes::ApiRequest;

pub fn list(app: &App, request: &ApiRequest) -> ApiResult {
    let endpoint_session_id = request.endpoint_session_id()?;
    let user_name = request
        .query("user_name")
        .or_else(|| request.query("username"))
        .ok_or_else(|| ApiError::field("querystring", "user_name", "Missing data for required field."))?;
    let directory = &app.directory;
    app.store().use_endpoint_session(&endpoint_session_id, Instant::now())?;
    let user = directory.user_or_error(user_name)?;
    if directory.users[user].locked {
        return Ok(Reply::ok(json!({ "user_is_locked": true })));
    }
    let event = directory
        .event(request.query("event"))
        .map_err(|_| ApiError::field("querystring", "event", "Event is not found"))?;
    let chains: Vec<_> =
        directory.usable_chains(user, &event).into_iter().map(|c| directory.chain_json(c)).collect();
    Ok(Reply::ok(json!({ "chains": chains, "user_is_locked": false })))
}
