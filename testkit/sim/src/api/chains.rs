//! `GET /logon/chains?user_name=…&event=…` (the enrollment SPA's form) and
//! `POST /logon/chains?username=…&application=…` (PWM's older form): the chains a user may use
//! for an event (§2.4, Open question 10). A simulator started with [`ChainsLookup::PostOnly`]
//! answers the `GET` form 405, as an older server.

use std::time::Instant;

use serde_json::json;

use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::routes::ApiRequest;
use crate::simulator::ChainsLookup;

pub fn list(app: &App, request: &ApiRequest) -> ApiResult {
    let by_post = request.method == hyper::Method::POST;
    if !by_post && app.chains_lookup == ChainsLookup::PostOnly {
        return Err(ApiError::method_not_allowed());
    }
    let endpoint_session_id = request.endpoint_session_id()?;
    // Each form has its own parameter names: user_name/event (GET), username/application (POST).
    let (user_parameter, event_parameter) =
        if by_post { ("username", "application") } else { ("user_name", "event") };
    let user_name = request
        .query(user_parameter)
        .ok_or_else(|| ApiError::field("querystring", user_parameter, "Missing data for required field."))?;
    let directory = &app.directory;
    app.store().use_endpoint_session(&endpoint_session_id, Instant::now())?;
    let user = directory.user_or_error(user_name)?;
    if directory.users[user].locked {
        return Ok(Reply::ok(json!({ "user_is_locked": true })));
    }
    let event = directory
        .event(request.query(event_parameter))
        .map_err(|_| ApiError::field("querystring", event_parameter, "Event is not found"))?;
    let chains: Vec<_> =
        directory.usable_chains(user, &event).into_iter().map(|c| directory.chain_json(c)).collect();
    Ok(Reply::ok(json!({ "chains": chains, "user_is_locked": false })))
}
