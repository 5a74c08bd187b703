//! Typed views of the server's answers (§2, §4). Unknown fields are tolerated and kept in `raw`;
//! fields of the wrong type are malformed server data.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::fido::SignRequest;
use crate::{Error, ErrorKind, Result};

/// The `status` of a logon answer (§3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogonStatus {
    /// The server wants (more) input for the current method, or the client should poll.
    MoreData,
    /// The current method passed; move to the next method of the chain.
    Next,
    /// The chain is complete; `login_session_id` is present.
    Ok,
    /// The attempt was rejected (e.g. wrong password).
    Failed,
    /// The user stopped the logon (e.g. rejected a push).
    Stop,
    /// A status this library does not know.
    Other(String),
}

impl LogonStatus {
    fn parse(status: &str) -> LogonStatus {
        match status {
            "MORE_DATA" => LogonStatus::MoreData,
            "NEXT" => LogonStatus::Next,
            "OK" => LogonStatus::Ok,
            "FAILED" => LogonStatus::Failed,
            "STOP" => LogonStatus::Stop,
            other => LogonStatus::Other(other.to_owned()),
        }
    }

    /// The wire spelling (`MORE_DATA`, …).
    pub fn as_str(&self) -> &str {
        match self {
            LogonStatus::MoreData => "MORE_DATA",
            LogonStatus::Next => "NEXT",
            LogonStatus::Ok => "OK",
            LogonStatus::Failed => "FAILED",
            LogonStatus::Stop => "STOP",
            LogonStatus::Other(other) => other,
        }
    }
}

/// An authentication chain: the methods a user passes one after the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub id_hex: Option<String>,
    pub name: String,
    pub short_name: String,
    pub methods: Vec<String>,
    pub is_enabled: bool,
    pub position: Option<i64>,
}

/// The chains a user may use for an event (`GET /logon/chains`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainsInfo {
    pub chains: Vec<Chain>,
    pub user_is_locked: bool,
}

/// A completed authentication (`GET /logon/sessions/{id}`).
#[derive(Clone, Debug)]
pub struct LoginSessionInfo {
    pub user_name: String,
    pub user_id: String,
    pub event_name: String,
    pub created: String,
    pub chain_id: String,
    /// The whole answer, unknown fields included.
    pub raw: Value,
}

/// The `user_*` fields of a `NEXT` or `OK` answer; which appear depends on the user's repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub repo_id: Option<String>,
    pub user_name_netbios: Option<String>,
    pub user_email: Option<String>,
    pub user_mobile_phone: Option<String>,
    pub user_cn: Option<String>,
    pub user_sid: Option<String>,
    pub user_upn: Option<String>,
    pub user_dn: Option<String>,
    pub tenant_name: Option<String>,
    /// Every other `user_*` field with a scalar value (numbers and booleans as text).
    pub other: BTreeMap<String, String>,
}

/// One logon answer (the envelope of §2.1 / §2.5).
#[derive(Clone, Debug)]
pub struct LogonResponse {
    pub status: LogonStatus,
    pub msg: String,
    pub reason: String,
    pub msgid: String,
    /// Empty when the answer does not repeat it.
    pub logon_process_id: String,
    /// Empty when the answer does not carry it.
    pub current_method: String,
    pub completed_methods: Vec<String>,
    pub chains: Vec<Chain>,
    pub completed_chain: Option<Chain>,
    pub login_session_id: Option<String>,
    pub user: UserInfo,
    /// The `signRequests` of a U2F gather answer, parsed with the rest of the answer; `None` when
    /// the answer has none. A list of the wrong shape is kept as the error it gives, reported only
    /// when a caller needs the sign requests (a U2F step), never for other answers.
    pub sign_requests: Option<Result<Vec<SignRequest>>>,
    /// The whole answer, unknown fields included.
    pub raw: Value,
}

/// The U2F challenge gathered for the current logon (§4.1 step 3).
#[derive(Clone, Debug)]
pub struct U2fChallenge {
    pub sign_requests: Vec<SignRequest>,
    pub webauth_challenge: Option<Value>,
}

fn malformed(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::MalformedServerData, what.to_string())
}

fn as_object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| malformed(format!("{what} is not a JSON object")))
}

/// A string field: absent or `null` → `None`, another type → malformed.
fn opt_str(object: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("field {key} is not a string"))),
    }
}

fn str_or_empty(object: &Map<String, Value>, key: &str) -> Result<String> {
    Ok(opt_str(object, key)?.unwrap_or_default())
}

/// A boolean field: absent or `null` → `default`, another type → malformed.
fn bool_or(object: &Map<String, Value>, key: &str, default: bool) -> Result<bool> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(malformed(format!("field {key} is not a boolean"))),
    }
}

/// A list field, each item parsed by `item`: absent or `null` → empty, another type → malformed.
fn list<T>(object: &Map<String, Value>, key: &str, item: impl Fn(&Value) -> Result<T>) -> Result<Vec<T>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(item).collect(),
        Some(_) => Err(malformed(format!("field {key} is not a list"))),
    }
}

fn string_list(object: &Map<String, Value>, key: &str) -> Result<Vec<String>> {
    list(object, key, |item| {
        item.as_str().map(str::to_owned).ok_or_else(|| malformed(format!("{key} holds a non-string")))
    })
}

impl Chain {
    pub(crate) fn from_json(value: &Value) -> Result<Chain> {
        let object = as_object(value, "chain")?;
        let position = match object.get("position") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| malformed("chain position is not an integer"))?),
        };
        Ok(Chain {
            id_hex: opt_str(object, "id_hex")?,
            name: str_or_empty(object, "name")?,
            short_name: str_or_empty(object, "short_name")?,
            methods: string_list(object, "methods")?,
            is_enabled: bool_or(object, "is_enabled", true)?,
            position,
        })
    }
}

fn chain_list(object: &Map<String, Value>) -> Result<Vec<Chain>> {
    list(object, "chains", Chain::from_json)
}

impl ChainsInfo {
    pub(crate) fn from_json(value: &Value) -> Result<ChainsInfo> {
        let object = as_object(value, "chains answer")?;
        Ok(ChainsInfo {
            chains: chain_list(object)?,
            user_is_locked: bool_or(object, "user_is_locked", false)?,
        })
    }
}

impl LoginSessionInfo {
    pub(crate) fn from_json(value: Value) -> Result<LoginSessionInfo> {
        let object = as_object(&value, "login session answer")?;
        Ok(LoginSessionInfo {
            user_name: str_or_empty(object, "user_name")?,
            user_id: str_or_empty(object, "user_id")?,
            event_name: str_or_empty(object, "event_name")?,
            created: str_or_empty(object, "created")?,
            chain_id: str_or_empty(object, "chain_id")?,
            raw: value,
        })
    }
}

impl UserInfo {
    fn from_json(object: &Map<String, Value>) -> Result<UserInfo> {
        // Every name read into a typed field is remembered, so `other` gets exactly the rest.
        let mut typed = BTreeSet::new();
        let mut field = |name: &'static str| {
            typed.insert(name);
            opt_str(object, name)
        };
        let mut user = UserInfo {
            user_id: field("user_id")?,
            user_name: field("user_name")?,
            repo_id: field("repo_id")?,
            user_name_netbios: field("user_name_netbios")?,
            user_email: field("user_email")?,
            user_mobile_phone: field("user_mobile_phone")?,
            user_cn: field("user_cn")?,
            user_sid: field("user_sid")?,
            user_upn: field("user_upn")?,
            user_dn: field("user_dn")?,
            tenant_name: field("tenant_name")?,
            other: BTreeMap::new(),
        };
        for (key, value) in
            object.iter().filter(|(k, _)| k.starts_with("user_") && !typed.contains(k.as_str()))
        {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            user.other.insert(key.clone(), text);
        }
        Ok(user)
    }
}

impl LogonResponse {
    pub(crate) fn from_json(value: Value) -> Result<LogonResponse> {
        let object = as_object(&value, "logon answer")?;
        let status = opt_str(object, "status")?.ok_or_else(|| malformed("logon answer has no status"))?;
        let completed_chain = match object.get("completed_chain") {
            None | Some(Value::Null) => None,
            Some(chain) => Some(Chain::from_json(chain)?),
        };
        let login_session_id = opt_str(object, "login_session_id")?.filter(|id| !id.is_empty());
        Ok(LogonResponse {
            status: LogonStatus::parse(&status),
            msg: str_or_empty(object, "msg")?,
            reason: str_or_empty(object, "reason")?,
            msgid: str_or_empty(object, "msgid")?,
            logon_process_id: str_or_empty(object, "logon_process_id")?,
            current_method: str_or_empty(object, "current_method")?,
            completed_methods: string_list(object, "completed_methods")?,
            chains: chain_list(object)?,
            completed_chain,
            login_session_id,
            user: UserInfo::from_json(object)?,
            sign_requests: sign_requests(object),
            raw: value,
        })
    }

    /// The `OK`, `FAILED` and `STOP` statuses end the logon process.
    pub fn is_final(&self) -> bool {
        matches!(self.status, LogonStatus::Ok | LogonStatus::Failed | LogonStatus::Stop)
    }
}

/// The `signRequests` list of an answer, parsed once with the answer (see `LogonResponse`).
fn sign_requests(object: &Map<String, Value>) -> Option<Result<Vec<SignRequest>>> {
    let requests = object.get("signRequests").filter(|v| !v.is_null())?;
    Some(
        Vec::<SignRequest>::deserialize(requests)
            .map_err(|e| malformed(format!("signRequests do not have the documented shape: {e}"))),
    )
}

impl U2fChallenge {
    /// The sign requests (and `webauth_challenge`) of a gather answer, as parsed with it.
    pub(crate) fn from_response(response: &LogonResponse) -> Result<U2fChallenge> {
        let sign_requests = response
            .sign_requests
            .clone()
            .ok_or_else(|| malformed("the answer carries no signRequests"))??;
        if sign_requests.is_empty() {
            return Err(malformed("signRequests is empty: the user has no U2F key enrolled"));
        }
        let webauth_challenge = response.raw.get("webauth_challenge").filter(|v| !v.is_null()).cloned();
        Ok(U2fChallenge { sign_requests, webauth_challenge })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gather_answer() -> Value {
        json!({ "webauth_challenge": { "challenge": "0932", "allowCredentials": [],
            "userVerification": "discouraged", "extensions": { "appid": "NetIQ" } },
          "signRequests": [ { "version": "U2F_V2", "appId": "https://164.99.184.45",
              "keyHandle": "UI_fGzKv4EJyl3cmIAzLGi3BXczy7sLOBmkhL-JS5Fs4pDpDwhKVnAkqwNg3M9wepdde0ywtrrYoh-QjTt7QYg",
              "challenge": "4ooKcq6hH4u3sG7IbF3GbPSL29Vm8bv08a3qmhBmz-Y" } ],
          "status": "MORE_DATA", "msg": "Waiting for an authentication response", "linked_logon": false,
          "reason": "U2F_WAITING_AUTH_RESPONSE", "plugins": [], "msgid": "AUCORE-2059",
          "chains": [ { "id_hex": "5a6cd33c8db511ee9c500242ac110003", "tenant_id": "def0",
              "is_trusted": null, "is_enabled": true, "name": "U2F only", "short_name": "",
              "methods": ["U2F:1"], "position": 1 } ],
          "categories": null, "current_method": "U2F:1", "completed_methods": [],
          "logon_process_id": "qEDeBxofr8fFS2OXrM" })
    }

    #[test]
    fn gather_answer_parses_with_its_challenge() {
        let response = LogonResponse::from_json(gather_answer()).unwrap();
        assert_eq!(response.status, LogonStatus::MoreData);
        assert_eq!(response.msgid, "AUCORE-2059");
        assert_eq!(response.current_method, "U2F:1");
        assert_eq!(response.chains[0].methods, ["U2F:1"]);
        assert_eq!(response.chains[0].position, Some(1));
        let challenge = U2fChallenge::from_response(&response).unwrap();
        assert_eq!(challenge.sign_requests[0].app_id, "https://164.99.184.45");
        assert_eq!(challenge.sign_requests[0].version, "U2F_V2");
        assert_eq!(challenge.sign_requests[0].key_handle, gather_answer()["signRequests"][0]["keyHandle"]);
        assert_eq!(challenge.webauth_challenge.unwrap()["extensions"]["appid"], "NetIQ");
    }

    #[test]
    fn ok_answer_carries_user_and_session() {
        let answer = json!({ "status": "OK", "msg": "Welcome", "login_session_id": "Z345oBnWuItOpubBsC2AaPBwAvzlIh4h",
          "completed_chain": { "id_hex": "1a1d", "name": "U2F only", "methods": ["U2F:1"] },
          "user_id": "b471", "user_name": "JAGUAR\\denis", "repo_id": "51f5", "repo_obj_id": "71a6",
          "user_mobile_phone": "+918746825777", "user_name_netbios": "JAGUAR\\denis", "tenant_name": "TOP",
          "user_role_assignments": "FULL ADMINS", "user_cn": "denis", "user_sid": "S-1-5-21",
          "user_upn": "denis@jaguar.com", "user_dn": "CN=denis,CN=Users,DC=jaguar,DC=com",
          "user_groups": ["a"], "user_level": 3, "future_field": {"x": 1} });
        let response = LogonResponse::from_json(answer).unwrap();
        assert!(response.is_final());
        assert_eq!(response.login_session_id.as_deref(), Some("Z345oBnWuItOpubBsC2AaPBwAvzlIh4h"));
        assert_eq!(response.completed_chain.unwrap().name, "U2F only");
        assert_eq!(response.user.user_name.as_deref(), Some("JAGUAR\\denis"));
        assert_eq!(response.user.user_upn.as_deref(), Some("denis@jaguar.com"));
        assert_eq!(response.user.tenant_name.as_deref(), Some("TOP"));
        assert_eq!(response.user.other["user_role_assignments"], "FULL ADMINS");
        assert_eq!(response.user.other["user_level"], "3");
        assert!(!response.user.other.contains_key("user_groups"));
        assert_eq!(response.raw["future_field"]["x"], 1);
    }

    #[test]
    fn wrong_types_are_malformed_not_panics() {
        for answer in [
            json!([]),
            json!({}),
            json!({"status": 5}),
            json!({"status": "OK", "chains": {"a": 1}}),
            json!({"status": "OK", "chains": [{"methods": [1]}]}),
            json!({"status": "OK", "completed_methods": "U2F:1"}),
            json!({"status": "OK", "user_email": 7}),
        ] {
            let e = LogonResponse::from_json(answer.clone()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{answer}");
        }
    }

    #[test]
    fn bad_sign_requests_are_malformed() {
        for requests in [json!(null), json!([]), json!([{"challenge": "x"}]), json!("x")] {
            let mut answer = gather_answer();
            answer["signRequests"] = requests.clone();
            let response = LogonResponse::from_json(answer).unwrap();
            let e = U2fChallenge::from_response(&response).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{requests}");
        }
    }

    #[test]
    fn chains_fixture_parses() {
        let info = ChainsInfo::from_json(
            &json!({"chains":[{"methods":["PASSWORD:1"],"name":"Password"}],"user_is_locked":false}),
        )
        .unwrap();
        assert_eq!(info.chains[0].name, "Password");
        assert!(info.chains[0].is_enabled);
        assert!(!info.user_is_locked);
        assert!(ChainsInfo::from_json(&json!({"user_is_locked": true})).unwrap().user_is_locked);
    }

    #[test]
    fn unknown_status_is_kept() {
        let response = LogonResponse::from_json(json!({"status": "PENDING"})).unwrap();
        assert_eq!(response.status, LogonStatus::Other("PENDING".into()));
        assert_eq!(response.status.as_str(), "PENDING");
    }
}
