//! Typed views of the server's answers (§2, §4), lenient by design: only what a login agent's
//! flow needs is required — the `status` of every answer, the ids (checked where they are used:
//! the process id of a start answer, the login session id of an `OK`), the sign requests of a
//! U2F step and the questions of a SECQUEST step. Every other field of an unexpected type or
//! shape is ignored (left at its default) and stays visible in `raw`; it never fails an answer.

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
    /// The method ids in order; entries that are not strings are left out.
    pub methods: Vec<String>,
    /// `true` unless the server sent `false`.
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
    /// Empty when the answer does not carry it as a string.
    pub logon_process_id: String,
    /// Empty when the answer does not carry it as a string.
    pub current_method: String,
    /// The method ids completed so far; entries that are not strings are left out.
    pub completed_methods: Vec<String>,
    /// The chains offered; entries that are not objects are left out.
    pub chains: Vec<Chain>,
    pub completed_chain: Option<Chain>,
    /// `None` when absent, empty or not a string (an `OK` without one is refused by the logon).
    pub login_session_id: Option<String>,
    pub user: UserInfo,
    /// The `signRequests` of a U2F gather answer, parsed with the rest of the answer; `None` when
    /// the answer has none. A list of the wrong shape is kept as the error it gives, reported only
    /// when a caller needs the sign requests (a U2F step), never for other answers.
    pub sign_requests: Option<Result<Vec<SignRequest>>>,
    /// The `questions` of a SECQUEST:1 answer (question id → text), kept like `sign_requests`:
    /// an error of shape is reported only when a caller needs the questions.
    pub questions: Option<Result<BTreeMap<String, String>>>,
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

/// A string field; absent, `null` or another type → `None`.
fn opt_str(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn str_or_empty(object: &Map<String, Value>, key: &str) -> String {
    opt_str(object, key).unwrap_or_default()
}

/// A boolean field; absent, `null` or another type → `default`.
fn bool_or(object: &Map<String, Value>, key: &str, default: bool) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// A list field: the items `item` accepts; absent, `null` or not a list → empty.
fn list<T>(object: &Map<String, Value>, key: &str, item: impl Fn(&Value) -> Option<T>) -> Vec<T> {
    object
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(item).collect())
        .unwrap_or_default()
}

fn string_list(object: &Map<String, Value>, key: &str) -> Vec<String> {
    list(object, key, |item| item.as_str().map(str::to_owned))
}

impl Chain {
    /// A chain object; `None` when `value` is not an object. Its fields are read leniently.
    pub(crate) fn from_json(value: &Value) -> Option<Chain> {
        let object = value.as_object()?;
        Some(Chain {
            id_hex: opt_str(object, "id_hex"),
            name: str_or_empty(object, "name"),
            short_name: str_or_empty(object, "short_name"),
            methods: string_list(object, "methods"),
            is_enabled: bool_or(object, "is_enabled", true),
            position: object.get("position").and_then(Value::as_i64),
        })
    }
}

fn chain_list(object: &Map<String, Value>) -> Vec<Chain> {
    list(object, "chains", Chain::from_json)
}

impl ChainsInfo {
    /// Fails only when the answer is not a JSON object.
    pub(crate) fn from_json(value: &Value) -> Result<ChainsInfo> {
        let object = as_object(value, "chains answer")?;
        Ok(ChainsInfo {
            chains: chain_list(object),
            user_is_locked: bool_or(object, "user_is_locked", false),
        })
    }
}

impl LoginSessionInfo {
    /// Fails only when the answer is not a JSON object.
    pub(crate) fn from_json(value: Value) -> Result<LoginSessionInfo> {
        let object = as_object(&value, "login session answer")?;
        Ok(LoginSessionInfo {
            user_name: str_or_empty(object, "user_name"),
            user_id: str_or_empty(object, "user_id"),
            event_name: str_or_empty(object, "event_name"),
            created: str_or_empty(object, "created"),
            chain_id: str_or_empty(object, "chain_id"),
            raw: value,
        })
    }
}

impl UserInfo {
    fn from_json(object: &Map<String, Value>) -> UserInfo {
        // Every name read into a typed field is remembered, so `other` gets exactly the rest.
        let mut typed = BTreeSet::new();
        let mut field = |name: &'static str| {
            typed.insert(name);
            opt_str(object, name)
        };
        let mut user = UserInfo {
            user_id: field("user_id"),
            user_name: field("user_name"),
            repo_id: field("repo_id"),
            user_name_netbios: field("user_name_netbios"),
            user_email: field("user_email"),
            user_mobile_phone: field("user_mobile_phone"),
            user_cn: field("user_cn"),
            user_sid: field("user_sid"),
            user_upn: field("user_upn"),
            user_dn: field("user_dn"),
            tenant_name: field("tenant_name"),
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
        user
    }
}

impl LogonResponse {
    /// Fails only when the answer is not a JSON object or has no string `status`: nothing can be
    /// decided without one.
    pub(crate) fn from_json(value: Value) -> Result<LogonResponse> {
        let object = as_object(&value, "logon answer")?;
        let status = match object.get("status") {
            Some(Value::String(status)) => status.clone(),
            None | Some(Value::Null) => return Err(malformed("logon answer has no status")),
            Some(_) => return Err(malformed("the status of the logon answer is not a string")),
        };
        Ok(LogonResponse {
            status: LogonStatus::parse(&status),
            msg: str_or_empty(object, "msg"),
            reason: str_or_empty(object, "reason"),
            msgid: str_or_empty(object, "msgid"),
            logon_process_id: str_or_empty(object, "logon_process_id"),
            current_method: str_or_empty(object, "current_method"),
            completed_methods: string_list(object, "completed_methods"),
            chains: chain_list(object),
            completed_chain: object.get("completed_chain").and_then(Chain::from_json),
            login_session_id: opt_str(object, "login_session_id").filter(|id| !id.is_empty()),
            user: UserInfo::from_json(object),
            sign_requests: sign_requests(object),
            questions: questions(object),
            raw: value,
        })
    }

    /// The `OK`, `FAILED` and `STOP` statuses end the logon process.
    pub fn is_final(&self) -> bool {
        matches!(self.status, LogonStatus::Ok | LogonStatus::Failed | LogonStatus::Stop)
    }

    /// After `NEXT`: the methods that may come next — the method after the completed ones in
    /// every enabled chain that starts with exactly the completed methods — each once, in the
    /// server's chain order. Empty for any other status.
    pub fn next_methods(&self) -> Vec<String> {
        if self.status != LogonStatus::Next {
            return Vec::new();
        }
        let done = &self.completed_methods;
        let mut methods: Vec<String> = Vec::new();
        for chain in self.chains.iter().filter(|chain| chain.is_enabled) {
            if chain.methods.len() <= done.len() || chain.methods[..done.len()] != done[..] {
                continue;
            }
            let method = &chain.methods[done.len()];
            if !methods.contains(method) {
                methods.push(method.clone());
            }
        }
        methods
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

/// The `questions` map of an answer (§4.4: `{"6": "What hue are your shoes?", …}`).
fn questions(object: &Map<String, Value>) -> Option<Result<BTreeMap<String, String>>> {
    let questions = object.get("questions").filter(|v| !v.is_null())?;
    let parsed = match questions {
        Value::Object(map) => map
            .iter()
            .map(|(id, text)| match text {
                Value::String(text) if !id.is_empty() => Ok((id.clone(), text.clone())),
                _ => Err(malformed(format!(
                    "questions do not have the documented shape: question {id:?} is not an id with a text"
                ))),
            })
            .collect(),
        _ => Err(malformed("questions is not an object of question id → text")),
    };
    Some(parsed)
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

    /// The §2.5 OK sample (fields as the guide and the Password fixture show them).
    fn ok_answer() -> Value {
        json!({ "status": "OK", "msg": "Welcome", "linked_logon": false, "msgid": "AUCORE-2001",
          "reason": "", "completed_template_id": "2786546914e1d25d156aef1fc099fb6e", "plugins": ["LdapRules"],
          "login_session_id": "Z345oBnWuItOpubBsC2AaPBwAvzlIh4h",
          "completed_chain": { "id_hex": "1a1ddc6c5b7a11eeb8230242ac110003", "tenant_id": "def0def0def0def0def0def0def0def0",
              "is_trusted": null, "is_enabled": true, "name": "U2F only", "short_name": "",
              "methods": ["U2F:1"], "position": 1, "apply_for_ep_owner": false, "image_name": "default",
              "required_chain_id_hex": null, "grace_period": null, "mfa_tags": [], "risk_level": "NONE" },
          "chains": [ { "id_hex": "5a6cd33c8db511ee9c500242ac110003", "name": "U2F only", "short_name": "",
              "methods": ["U2F:1"], "position": 1, "is_enabled": true } ],
          "categories": null, "current_method": "U2F:1", "completed_methods": ["U2F:1"],
          "logon_process_id": "htP5QVP8hR2YGiO1RIIwNT4I4bmHj9HE", "event_name": "Search Card",
          "event_type": "Generic", "event_all_categories": true, "event_data_id": "SEARCH CARD",
          "data_id": "SEARCH CARD", "category_id": "", "current_category_id": "",
          "logon_hints": { "policy": { "cached_logon": false } },
          "user_id": "b47156ea0c42a034223d0d1f13b591dc", "user_name": "JAGUAR\\denis",
          "repo_id": "51f5b2f636a211eeb4be0242ac110003", "repo_obj_id": "71a63dbbd81e724cb26048bd8bb4c3e2",
          "user_mobile_phone": "+918746825777", "user_email": "denis@jaguar.com",
          "user_name_netbios": "JAGUAR\\denis", "tenant_name": "TOP", "user_role_assignments": "FULL ADMINS",
          "user_cn": "denis", "user_sid": "S-1-5-21-1982020363-492839410-2784625695-2126",
          "user_sid_hex": "0105000000000005150000000b3b2376f221601d1f04faa54e080000",
          "user_upn": "denis@jaguar.com", "user_dn": "CN=denis,CN=Users,DC=jaguar,DC=com",
          "user_groups": ["a"], "user_level": 3, "score": 45, "future_field": {"x": 1} })
    }

    /// One of each JSON type: null, bool, number, string, array, object.
    fn every_json_type() -> [Value; 6] {
        [json!(null), json!(true), json!(7), json!("text"), json!([1, "a", null]), json!({"k": "v"})]
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
        let response = LogonResponse::from_json(ok_answer()).unwrap();
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

    /// Replaces the field at `path` (object keys, then possibly an array index) of `answer`.
    fn replaced(answer: &Value, path: &[&str], value: &Value) -> Value {
        let mut answer = answer.clone();
        let mut target = &mut answer;
        for step in path {
            target = match step.parse::<usize>() {
                Ok(index) => &mut target[index],
                Err(_) => &mut target[*step],
            };
        }
        *target = value.clone();
        answer
    }

    /// Every path of the OK sample a login agent does not need: all top-level fields but `status`
    /// and `login_session_id`, and every field of its chain objects.
    fn incidental_paths(answer: &Value) -> Vec<Vec<String>> {
        let mut paths = Vec::new();
        for (key, value) in answer.as_object().unwrap() {
            if key == "status" || key == "login_session_id" {
                continue;
            }
            paths.push(vec![key.clone()]);
            let nested: Vec<(Vec<String>, &Value)> = match (key.as_str(), value) {
                ("completed_chain", chain) => vec![(vec![key.clone()], chain)],
                ("chains", Value::Array(chains)) => {
                    chains.iter().enumerate().map(|(i, c)| (vec![key.clone(), i.to_string()], c)).collect()
                }
                _ => Vec::new(),
            };
            for (prefix, chain) in nested {
                if prefix.len() > 1 {
                    paths.push(prefix.clone()); // the entry itself; the top-level field is above
                }
                for field in chain.as_object().unwrap().keys() {
                    paths.push(prefix.iter().cloned().chain([field.clone()]).collect());
                }
            }
        }
        paths
    }

    #[test]
    fn any_incidental_field_of_any_type_still_gives_ok_with_the_session() {
        let answer = ok_answer();
        let paths = incidental_paths(&answer);
        assert!(paths.len() > 50, "only {} paths: the sample lost its fields?", paths.len());
        let mut cases = 0;
        for path in &paths {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            for value in every_json_type() {
                let mangled = replaced(&answer, &path, &value);
                let response = LogonResponse::from_json(mangled.clone())
                    .unwrap_or_else(|e| panic!("{path:?} = {value}: {e}"));
                assert_eq!(response.status, LogonStatus::Ok, "{path:?} = {value}");
                assert_eq!(
                    response.login_session_id.as_deref(),
                    Some("Z345oBnWuItOpubBsC2AaPBwAvzlIh4h"),
                    "{path:?} = {value}"
                );
                assert_eq!(response.raw, mangled, "{path:?} = {value}: the raw answer is kept as sent");
                cases += 1;
            }
        }
        assert_eq!(cases, paths.len() * 6);
        eprintln!("{} incidental fields × 6 JSON types = {cases} mangled OK answers, all OK", paths.len());
    }

    #[test]
    fn fields_of_the_wrong_type_fall_back_to_their_defaults() {
        let response = LogonResponse::from_json(json!({ "status": "NEXT", "msg": 5, "current_method": [],
            "completed_methods": ["LDAP_PASSWORD:1", 7, null], "user_email": 7, "user_name": "JAGUAR\\denis",
            "chains": [ "x", { "name": 3, "methods": ["LDAP_PASSWORD:1", {}, "U2F:1"], "is_enabled": "yes",
                "position": "1", "id_hex": false } ],
            "completed_chain": "U2F only", "logon_process_id": 12 }))
        .unwrap();
        assert_eq!((response.msg.as_str(), response.current_method.as_str()), ("", ""));
        assert_eq!(response.completed_methods, ["LDAP_PASSWORD:1"]);
        assert_eq!(response.user.user_email, None);
        assert_eq!(response.user.other.get("user_email"), None, "a typed field never lands in other");
        assert_eq!(response.user.user_name.as_deref(), Some("JAGUAR\\denis"));
        assert_eq!(response.chains.len(), 1, "the entry that is no object is left out");
        let chain = &response.chains[0];
        assert_eq!(
            (chain.name.as_str(), chain.is_enabled, chain.position, chain.id_hex.clone()),
            ("", true, None, None)
        );
        assert_eq!(chain.methods, ["LDAP_PASSWORD:1", "U2F:1"]);
        assert!(response.completed_chain.is_none());
        assert_eq!(response.logon_process_id, "");
        assert_eq!(response.raw["user_email"], 7);
    }

    #[test]
    fn only_an_answer_without_a_status_is_malformed() {
        for answer in [json!([]), json!({}), json!({"status": 5}), json!({"status": null}), json!("OK")] {
            let e = LogonResponse::from_json(answer.clone()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{answer}");
        }
        for answer in
            [json!({"status": "OK", "login_session_id": 5}), json!({"status": "OK", "login_session_id": ""})]
        {
            let response = LogonResponse::from_json(answer.clone()).unwrap();
            assert_eq!(response.login_session_id, None, "{answer}: refused later, by the logon, for OK");
        }
    }

    #[test]
    fn bad_sign_requests_are_malformed() {
        for requests in [json!([]), json!([{"challenge": "x"}]), json!("x"), json!({})] {
            let mut answer = gather_answer();
            answer["signRequests"] = requests.clone();
            let response = LogonResponse::from_json(answer).unwrap();
            let e = U2fChallenge::from_response(&response).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{requests}");
        }
        let mut answer = gather_answer();
        answer["signRequests"] = json!(null);
        let response = LogonResponse::from_json(answer).unwrap();
        assert!(response.sign_requests.is_none());
        assert_eq!(
            U2fChallenge::from_response(&response).unwrap_err().kind(),
            ErrorKind::MalformedServerData
        );
    }

    #[test]
    fn questions_are_an_id_to_text_map() {
        let answer = json!({ "status": "MORE_DATA", "reason": "SECQUEST_WAITING_ANSWERS", "msgid": "AUCORE-2046",
            "questions": { "6": "What hue are your shoes?", "7": "Who is your hero?" } });
        let response = LogonResponse::from_json(answer).unwrap();
        let questions = response.questions.unwrap().unwrap();
        assert_eq!(questions["6"], "What hue are your shoes?");
        assert_eq!(questions.len(), 2);
        for bad in [json!(["What?"]), json!({"6": 1}), json!({"": "What?"}), json!("What?")] {
            let response =
                LogonResponse::from_json(json!({ "status": "MORE_DATA", "questions": bad })).unwrap();
            let e = response.questions.unwrap().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedServerData, "{e}");
        }
        assert!(LogonResponse::from_json(json!({"status": "OK"})).unwrap().questions.is_none());
    }

    #[test]
    fn next_methods_follow_the_chains_that_start_with_the_completed_ones() {
        let answer = json!({ "status": "NEXT", "completed_methods": ["LDAP_PASSWORD:1"], "chains": [
            { "name": "U2F only", "methods": ["U2F:1"] },
            { "name": "LDAP + U2F", "methods": ["LDAP_PASSWORD:1", "U2F:1"] },
            { "name": "LDAP + Smartphone", "methods": ["LDAP_PASSWORD:1", "SMARTPHONE:1"] },
            { "name": "LDAP + U2F + TOTP", "methods": ["LDAP_PASSWORD:1", "U2F:1", "TOTP:1"] },
            { "name": "LDAP + Card (disabled)", "methods": ["LDAP_PASSWORD:1", "CARD:1"], "is_enabled": false },
            { "name": "LDAP only", "methods": ["LDAP_PASSWORD:1"] } ] });
        let response = LogonResponse::from_json(answer.clone()).unwrap();
        assert_eq!(response.next_methods(), ["U2F:1", "SMARTPHONE:1"]);
        let mut more = answer;
        more["status"] = json!("MORE_DATA");
        assert!(LogonResponse::from_json(more).unwrap().next_methods().is_empty());
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
        let odd = ChainsInfo::from_json(&json!({"chains": {"a": 1}, "user_is_locked": "no"})).unwrap();
        assert!(odd.chains.is_empty() && !odd.user_is_locked);
        assert_eq!(ChainsInfo::from_json(&json!([])).unwrap_err().kind(), ErrorKind::MalformedServerData);
    }

    #[test]
    fn login_session_fields_are_lenient() {
        let info =
            LoginSessionInfo::from_json(json!({"user_name": "LOCAL\\ADMIN", "user_id": 5, "created": []}))
                .unwrap();
        assert_eq!(
            (info.user_name.as_str(), info.user_id.as_str(), info.created.as_str()),
            ("LOCAL\\ADMIN", "", "")
        );
        assert_eq!(info.raw["user_id"], 5);
    }

    #[test]
    fn unknown_status_is_kept() {
        let response = LogonResponse::from_json(json!({"status": "PENDING"})).unwrap();
        assert_eq!(response.status, LogonStatus::Other("PENDING".into()));
        assert_eq!(response.status.as_str(), "PENDING");
    }
}
