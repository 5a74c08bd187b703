//! Fault injection for reliability tests: rules match a request by method and path pattern and
//! replace (or delay) the server's normal answer a given number of times.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

/// What happens to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with this HTTP status and a generic error envelope, without running the request.
    Status(u16),
    /// Reset the TCP connection (RST) without answering.
    ResetConnection,
    /// Answer 200 with a body that is not JSON.
    MalformedJson,
    /// Answer 200 with a JSON body cut off in the middle.
    TruncatedJson,
    /// Answer 200 with a syntactically valid JSON body of this many bytes.
    OversizedBody(usize),
    /// A hostile server: run the request normally (its state changes happen), then replace or add
    /// these top-level fields of the JSON answer, e.g. `{"status": "PENDING"}` or a forged
    /// `signRequests`. Answers that are not JSON objects are sent unchanged.
    Rewrite(Map<String, Value>),
}

/// A fault and which requests it hits. Only the REST API (`/api/…`) is subject to faults, never
/// the simulator's own `/sim/v1/…` routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// HTTP method to match (case-insensitive); `None` matches any.
    pub method: Option<String>,
    /// Path to match, `*` standing for exactly one segment, e.g. `/api/v1/logon/*/do_logon`.
    pub path_pattern: String,
    pub fault: Fault,
    /// How many requests it hits before it is removed; `None` = until cleared.
    pub times: Option<u32>,
}

impl FaultRule {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| !m.eq_ignore_ascii_case(method)) {
            return false;
        }
        let mut pattern = self.path_pattern.trim_end_matches('/').split('/');
        let mut actual = path.trim_end_matches('/').split('/');
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return true,
                (Some("*"), Some(segment)) if !segment.is_empty() => {}
                (Some(expected), Some(segment)) if expected == segment => {}
                _ => return false,
            }
        }
    }
}

/// The active rules, first match wins.
#[derive(Default)]
pub struct FaultTable {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultTable {
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The fault for this request, if any, counting one use of its rule.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        if !path.starts_with("/api/") {
            return None;
        }
        let mut rules = self.lock();
        let index = rules.iter().position(|rule| rule.matches(method, path))?;
        let fault = rules[index].fault.clone();
        if let Some(times) = &mut rules[index].times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The JSON form of a rule for `POST /sim/v1/faults`, e.g.
/// `{"method": "POST", "path_pattern": "/api/v1/logon/*/do_logon", "fault": {"kind": "delay", "ms": 500}, "times": 1}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    #[serde(default)]
    method: Option<String>,
    path_pattern: String,
    fault: FaultSpec,
    #[serde(default)]
    times: Option<u32>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultSpec {
    Delay { ms: u64 },
    Status { code: u16 },
    ResetConnection,
    MalformedJson,
    TruncatedJson,
    OversizedBody { bytes: usize },
    Rewrite { fields: Map<String, Value> },
}

impl FaultRuleSpec {
    pub fn into_rule(self) -> Result<FaultRule, String> {
        if !self.path_pattern.starts_with('/') {
            return Err("path_pattern must start with '/'".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        let fault = match self.fault {
            FaultSpec::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
            FaultSpec::Status { code } if (100..=999).contains(&code) => Fault::Status(code),
            FaultSpec::Status { code } => {
                return Err(format!("status code {code} is not a valid HTTP status"))
            }
            FaultSpec::ResetConnection => Fault::ResetConnection,
            FaultSpec::MalformedJson => Fault::MalformedJson,
            FaultSpec::TruncatedJson => Fault::TruncatedJson,
            FaultSpec::OversizedBody { bytes } => Fault::OversizedBody(bytes),
            FaultSpec::Rewrite { fields } => Fault::Rewrite(fields),
        };
        Ok(FaultRule { method: self.method, path_pattern: self.path_pattern, fault, times: self.times })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(method: Option<&str>, pattern: &str, times: Option<u32>) -> FaultRule {
        FaultRule {
            method: method.map(Into::into),
            path_pattern: pattern.into(),
            fault: Fault::Status(503),
            times,
        }
    }

    #[test]
    fn star_matches_exactly_one_segment() {
        let r = rule(None, "/api/v1/logon/*/do_logon", None);
        assert!(r.matches("POST", "/api/v1/logon/abc/do_logon"));
        assert!(!r.matches("POST", "/api/v1/logon/do_logon"));
        assert!(!r.matches("POST", "/api/v1/logon/a/b/do_logon"));
        assert!(!rule(Some("GET"), "/api/v1/logon", None).matches("POST", "/api/v1/logon"));
        assert!(rule(Some("post"), "/api/v1/logon", None).matches("POST", "/api/v1/logon/"));
    }

    #[test]
    fn counted_rules_expire_and_sim_routes_are_exempt() {
        let table = FaultTable::default();
        table.add(rule(None, "/api/v1/logon", Some(2)));
        table.add(rule(None, "/sim/v1/stats", None));
        assert!(table.take("POST", "/api/v1/logon").is_some());
        assert!(table.take("POST", "/api/v1/logon").is_some());
        assert!(table.take("POST", "/api/v1/logon").is_none());
        assert!(table.take("GET", "/sim/v1/stats").is_none());
    }
}
