//! Replies and the AA HTTP error envelope `{"status":"error","errors":[…],"reason":…}` (§3.3).

use serde_json::{json, Map, Value};

/// An HTTP status with a JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply { status: 200, body }
    }
}

/// A refused request, rendered as the error envelope.
#[derive(Debug)]
pub struct ApiError {
    status: u16,
    location: &'static str,
    name: String,
    description: String,
    msgid: Option<&'static str>,
    reason: Option<&'static str>,
}

impl ApiError {
    /// HTTP 400 about one field of the request (`location` `body`, `querystring` or `url`).
    pub fn field(
        location: &'static str,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: 400,
            location,
            name: name.into(),
            description: description.into(),
            msgid: None,
            reason: None,
        }
    }

    /// A body field that must be present.
    pub fn missing(name: &str) -> ApiError {
        ApiError::field("body", name, "Missing data for required field.")
    }

    /// A server-side (`AuError`) refusal.
    pub fn au_error(
        status: u16,
        msgid: Option<&'static str>,
        description: impl Into<String>,
        reason: Option<&'static str>,
    ) -> ApiError {
        ApiError {
            status,
            location: "server",
            name: "AuError".into(),
            description: description.into(),
            msgid,
            reason,
        }
    }

    pub fn user_not_found() -> ApiError {
        ApiError::au_error(400, Some("AUCORE-1056"), "User is not found", Some("USER_NOT_FOUND"))
    }

    pub fn endpoint_session_not_found() -> ApiError {
        ApiError::au_error(433, Some("AUCORE-1063"), "Endpoint session is not found", None)
    }

    pub fn logon_process_not_found() -> ApiError {
        ApiError::au_error(444, Some("AUCORE-1001"), "Logon process is not found", None)
    }

    pub fn login_session_not_found() -> ApiError {
        ApiError::au_error(434, Some("AUCORE-1066"), "Login session is not found", None)
    }

    pub fn login_session_expired() -> ApiError {
        ApiError::au_error(434, Some("AUCORE-1067"), "Login session expired", None)
    }

    pub fn route_not_found() -> ApiError {
        ApiError {
            status: 404,
            location: "url",
            name: "path".into(),
            description: "Not Found".into(),
            msgid: None,
            reason: None,
        }
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError {
            status: 405,
            location: "url",
            name: "method".into(),
            description: "Method Not Allowed".into(),
            msgid: None,
            reason: None,
        }
    }

    /// An instance of the cluster that is down ([`crate::Outage::Unavailable`]).
    pub fn service_unavailable(instance: usize) -> ApiError {
        ApiError::au_error(
            503,
            None,
            format!("Service Unavailable (aa-sim instance {instance} is down: simulated outage)"),
            None,
        )
    }

    /// HTTP 404 about a path segment that names nothing, e.g. an instance the cluster lacks.
    pub fn not_found(name: impl Into<String>, description: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            location: "url",
            name: name.into(),
            description: description.into(),
            msgid: None,
            reason: None,
        }
    }

    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError {
            status: 413,
            location: "body",
            name: "body".into(),
            description: format!("Request body is larger than {limit} bytes"),
            msgid: None,
            reason: None,
        }
    }

    pub fn into_reply(self) -> Reply {
        let mut entry = Map::new();
        entry.insert("location".into(), json!(self.location));
        entry.insert("name".into(), json!(self.name));
        if let Some(msgid) = self.msgid {
            entry.insert("msgid".into(), json!(msgid));
        }
        entry.insert("description".into(), json!(self.description));
        let mut body = json!({ "status": "error", "errors": [entry] });
        if let Some(reason) = self.reason {
            body["reason"] = json!(reason);
        }
        Reply { status: self.status, body }
    }
}

/// Every handler's result.
pub type ApiResult = Result<Reply, ApiError>;

pub fn into_reply(result: ApiResult) -> Reply {
    result.unwrap_or_else(ApiError::into_reply)
}
