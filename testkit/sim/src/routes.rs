//! Requests as handlers see them (method, path, query, parsed JSON body) and the route table.

use std::sync::LazyLock;

use hyper::Method;
use serde_json::{Map, Value};

use crate::api;
use crate::app::App;
use crate::envelope::{into_reply, ApiError, Reply};
use crate::sim_routes;

pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    /// The `Host` the client addressed (FIDO2:1 accepts it as the clientDataJSON origin).
    pub host: Option<String>,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl ApiRequest {
    /// Parses the query string and the body; an empty body is "no body", anything else must be JSON.
    pub fn parse(
        method: Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ApiRequest, ApiError> {
        let query = form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        let body =
            if body.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(serde_json::from_slice(body).map_err(|error| {
                    ApiError::field("body", "body", format!("Invalid JSON body: {error}"))
                })?)
            };
        Ok(ApiRequest { method, path: path.to_owned(), host: None, query, body })
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The body as a JSON object; a missing body counts as `{}`.
    pub fn body(&self) -> Result<&Map<String, Value>, ApiError> {
        static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        match &self.body {
            None | Some(Value::Null) => Ok(&EMPTY),
            Some(Value::Object(map)) => Ok(map),
            Some(_) => Err(ApiError::field("body", "body", "Body must be a JSON object")),
        }
    }

    /// A required string field of the body.
    pub fn body_str(&self, name: &str) -> Result<String, ApiError> {
        self.body_opt_str(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// An optional string field of the body (`null` = absent).
    pub fn body_opt_str(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.body()?.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(ApiError::field("body", name, "Not a valid string.")),
        }
    }

    /// `endpoint_session_id` from the query string (GET/DELETE) or the body.
    pub fn endpoint_session_id(&self) -> Result<String, ApiError> {
        if let Some(id) = self.query("endpoint_session_id") {
            return Ok(id.to_owned());
        }
        self.body_opt_str("endpoint_session_id")?.ok_or_else(|| {
            ApiError::field("querystring", "endpoint_session_id", "Missing data for required field.")
        })
    }
}

/// Runs a request against the API and renders the reply (errors included).
pub fn dispatch(app: &App, request: &ApiRequest) -> Reply {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    let result = match segments.as_slice() {
        ["api", "v1", rest @ ..] => api_route(app, request, method, rest),
        ["sim", "v1", rest @ ..] => sim_routes::route(app, request, method, rest),
        _ => Err(ApiError::route_not_found()),
    };
    into_reply(result)
}

fn api_route(app: &App, request: &ApiRequest, method: &str, rest: &[&str]) -> crate::envelope::ApiResult {
    match (rest, method) {
        (["endpoints"], "POST") => api::endpoints::register(app, request),
        (["endpoints", id], "DELETE") => api::endpoints::delete(app, request, id),
        (["endpoints", id, "sessions"], "POST") => api::endpoints::create_session(app, request, id),
        (["logon"], "POST") => api::logon::start(app, request),
        (["logon", "chains"], "GET" | "POST") => api::chains::list(app, request),
        (["logon", "sessions", id], "GET") => api::login_sessions::get(app, request, id),
        (["logon", "sessions", id], "DELETE") => api::login_sessions::delete(app, request, id),
        (["logon", id], "DELETE") => api::logon::abort(app, request, id),
        (["logon", id, "do_logon"], "POST") => api::do_logon::handle(app, request, id),
        (["logon", id, "next"], "POST") => api::logon::next(app, request, id),
        (["logon_method", api::fido2_login::METHOD_ID, "login", id], "POST") => {
            api::fido2_login::handle(app, request, id)
        }
        (["logon_method", api::fido2_login::METHOD_ID, "login", _], _) => Err(ApiError::method_not_allowed()),
        (["endpoints"] | ["endpoints", _] | ["endpoints", _, "sessions"], _)
        | (["logon"] | ["logon", _] | ["logon", _, "do_logon" | "next"] | ["logon", "sessions", _], _) => {
            Err(ApiError::method_not_allowed())
        }
        _ => Err(ApiError::route_not_found()),
    }
}

/// The route template of a path, for logs that must not show session ids.
pub fn log_template(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let redacted: Vec<&str> = match segments.as_slice() {
        ["api", "v1", "endpoints", _, rest @ ..] => [&["api", "v1", "endpoints", "{id}"], rest].concat(),
        ["api", "v1", "logon", "sessions", _] => vec!["api", "v1", "logon", "sessions", "{login_session_id}"],
        ["api", "v1", "logon", "chains"] => segments.clone(),
        ["api", "v1", "logon_method", method, "login", _] => {
            vec!["api", "v1", "logon_method", method, "login", "{logon_process_id}"]
        }
        ["api", "v1", "logon", _, rest @ ..] => {
            [&["api", "v1", "logon", "{logon_process_id}"], rest].concat()
        }
        _ => segments.clone(),
    };
    format!("/{}", redacted.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_templates_hide_ids() {
        assert_eq!(
            log_template("/api/v1/logon/SECRET/do_logon"),
            "/api/v1/logon/{logon_process_id}/do_logon"
        );
        assert_eq!(
            log_template("/api/v1/logon/sessions/SECRET"),
            "/api/v1/logon/sessions/{login_session_id}"
        );
        assert_eq!(log_template("/api/v1/endpoints/abc/sessions"), "/api/v1/endpoints/{id}/sessions");
        assert_eq!(log_template("/api/v1/logon/chains"), "/api/v1/logon/chains");
        assert_eq!(
            log_template("/api/v1/logon_method/FIDO2:1/login/SECRET"),
            "/api/v1/logon_method/FIDO2:1/login/{logon_process_id}"
        );
        assert_eq!(log_template("/api/v1/logon"), "/api/v1/logon");
    }
}
