//! `POST /endpoints`, `DELETE /endpoints/{id}` and `POST /endpoints/{id}/sessions` (§1).

use std::time::Instant;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::envelope::{ApiError, ApiResult, Reply};
use crate::fixture::is_lower_hex;
use crate::ids::{random_alphanumeric, random_hex};
use crate::routes::ApiRequest;
use crate::store::{Endpoint, EndpointSession};

/// Registers an endpoint after checking the administrator's `auth_data`.
pub fn register(app: &App, request: &ApiRequest) -> ApiResult {
    let name = request.body_str("name")?;
    if name.trim().is_empty() {
        return Err(ApiError::field("body", "name", "Shorter than minimum length 1."));
    }
    if let Some(tenant) = request.body_opt_str("tenant_name")? {
        if !tenant.eq_ignore_ascii_case(&app.directory.tenant_name) {
            return Err(ApiError::field("body", "tenant_name", format!("Tenant {tenant:?} is not found")));
        }
    }
    check_admin(app, request.body()?.get("auth_data"))?;
    let id = random_hex();
    let secret = random_alphanumeric();
    app.store().endpoints.insert(id.clone(), Endpoint { secret: secret.clone(), name });
    Ok(Reply::ok(json!({ "id": id, "secret": secret })))
}

/// Deletes an endpoint and with it its endpoint sessions.
pub fn delete(app: &App, request: &ApiRequest, endpoint_id: &str) -> ApiResult {
    check_admin(app, request.body()?.get("auth_data"))?;
    let mut store = app.store();
    if store.endpoints.remove(endpoint_id).is_none() {
        return Err(ApiError::field("url", "endpoint_id", "Endpoint is not found"));
    }
    store.endpoint_sessions.retain(|_, session| session.endpoint_id != endpoint_id);
    Ok(Reply::ok(Value::Null))
}

/// Opens an endpoint session once `endpoint_secret_hash` proves knowledge of the secret (§1.2).
pub fn create_session(app: &App, request: &ApiRequest, endpoint_id: &str) -> ApiResult {
    let salt = request.body_str("salt")?;
    if salt.is_empty() {
        return Err(ApiError::field("body", "salt", "Shorter than minimum length 1."));
    }
    let received_hash = request.body_str("endpoint_secret_hash")?;
    if !is_lower_hex(&received_hash, 64) {
        return Err(ApiError::field(
            "body",
            "endpoint_secret_hash",
            "String does not match expected pattern",
        ));
    }
    let mut store = app.store();
    let endpoint = store.endpoints.get(endpoint_id).ok_or_else(|| {
        ApiError::field("url", "endpoint_id", format!("Endpoint {endpoint_id:?} is not found"))
    })?;
    if endpoint_secret_hash(endpoint_id, &endpoint.secret, &salt) != received_hash {
        return Err(ApiError::field(
            "body",
            "endpoint_secret_hash",
            "Endpoint secret hash does not match the endpoint secret",
        ));
    }
    log::debug!("endpoint session opened for endpoint {:?}", endpoint.name);
    let session_id = random_alphanumeric();
    let session = EndpointSession { endpoint_id: endpoint_id.to_owned(), last_used: Instant::now() };
    store.endpoint_sessions.insert(session_id.clone(), session);
    Ok(Reply::ok(json!({ "endpoint_session_id": session_id })))
}

/// `hex(SHA256(secret + hex(SHA256(id + salt))))` as in §1.2.
pub fn endpoint_secret_hash(endpoint_id: &str, secret: &str, salt: &str) -> String {
    let id_hash = data_encoding::HEXLOWER.encode(&Sha256::digest(format!("{endpoint_id}{salt}")));
    data_encoding::HEXLOWER.encode(&Sha256::digest(format!("{secret}{id_hash}")))
}

/// `auth_data` must carry PASSWORD:1 credentials of the fixture's administrator.
fn check_admin(app: &App, auth_data: Option<&Value>) -> Result<(), ApiError> {
    let auth_data = match auth_data {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(ApiError::field("body", "auth_data", "Not a valid mapping type.")),
        None => return Err(ApiError::missing("auth_data")),
    };
    let text = |name: &str| auth_data.get(name).and_then(Value::as_str);
    let method = text("method_id").ok_or_else(|| ApiError::missing("auth_data.method_id"))?;
    if method != "PASSWORD:1" {
        return Err(ApiError::field(
            "body",
            "auth_data.method_id",
            "Only PASSWORD:1 is accepted for administrators",
        ));
    }
    let user_name = text("user_name").ok_or_else(|| ApiError::missing("auth_data.user_name"))?;
    let directory = &app.directory;
    let admin_short = directory.admin_name.rsplit('\\').next().unwrap_or_default();
    if !user_name.eq_ignore_ascii_case(&directory.admin_name) && !user_name.eq_ignore_ascii_case(admin_short)
    {
        return Err(ApiError::user_not_found());
    }
    if text("password") != Some(directory.admin_password.as_str()) {
        return Err(ApiError::au_error(
            400,
            Some("AUCORE-2007"),
            "Incorrect password",
            Some("PASSWORD_WRONG"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_documented_test_vector() {
        assert_eq!(
            endpoint_secret_hash(
                "178fa64ebafe11eaa1fb0242ac110003",
                "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt",
                "i_am_salt"
            ),
            "f72f4f69212deed77d2127e532826aa0ad341b8ca523d76947f274abbf61a075"
        );
    }
}
