//! Answers that may hold secrets, checked without copying them: a caller's `response` object
//! as JSON text ([`ResponseJson`]) and security-question answers given as JSON
//! ([`answers_from_json`]). The checks scan the text in place; the only copies are the
//! zeroizing ones kept here.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer as _;
use serde_json::Value;

use super::call::json_body;
use crate::{Error, ErrorKind, Result, Secret};

/// The text of one JSON object to send as a `do_logon` `response` (a CARD, FINGER `capture`,
/// smartphone offline `totp` or any other method's payload). Held in zeroizing memory, never
/// shown by `Debug`. Made from `&str`, [`String`], [`Secret`] or a [`serde_json::Value`].
#[derive(Clone)]
pub struct ResponseJson {
    text: Secret,
    /// Its top-level member names (names, never values).
    keys: Vec<String>,
}

impl fmt::Debug for ResponseJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseJson").field("keys", &self.keys).finish_non_exhaustive()
    }
}

fn bad_argument(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, message)
}

impl ResponseJson {
    /// Checks that `text` is one JSON object (a [`ErrorKind::Config`] error otherwise, which
    /// never quotes the text). The text is kept as given: the server gets these bytes.
    pub fn parse(text: Secret) -> Result<ResponseJson> {
        let keys = object_keys(text.expose())?;
        Ok(ResponseJson { text, keys })
    }

    /// Serializes `value`, which must be a JSON object, into zeroizing memory.
    pub fn from_value(value: &Value) -> Result<ResponseJson> {
        let Value::Object(object) = value else {
            return Err(bad_argument("the response must be a JSON object"));
        };
        let keys = object.keys().cloned().collect();
        let mut bytes = json_body(value)?;
        // Moves the buffer out of its wrapper into the secret string: no copy is left behind.
        let text = String::from_utf8(std::mem::take(&mut *bytes))
            .map_err(|_| bad_argument("the response is not UTF-8"))?;
        Ok(ResponseJson { text: Secret::new(text), keys })
    }

    /// The JSON text.
    pub(crate) fn expose(&self) -> &str {
        self.text.expose()
    }

    /// Whether the object has a member called `key` at its top level.
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// What [`Logon::answer_json`](super::Logon::answer_json) takes: JSON text (`&str`, `String`,
/// [`Secret`]), a [`serde_json::Value`], or a checked [`ResponseJson`].
pub trait IntoResponseJson {
    /// Checks (or serializes) the response; [`ErrorKind::Config`] when it is not one JSON object.
    fn into_response_json(self) -> Result<ResponseJson>;
}

impl IntoResponseJson for ResponseJson {
    fn into_response_json(self) -> Result<ResponseJson> {
        Ok(self)
    }
}

macro_rules! into_response_json_by_try_from {
    ($($source:ty),+) => {$(
        impl IntoResponseJson for $source {
            fn into_response_json(self) -> Result<ResponseJson> {
                ResponseJson::try_from(self)
            }
        }
    )+};
}

into_response_json_by_try_from!(&str, String, Secret, &Value, Value);

impl TryFrom<&str> for ResponseJson {
    type Error = Error;

    fn try_from(text: &str) -> Result<ResponseJson> {
        ResponseJson::parse(Secret::from(text))
    }
}

impl TryFrom<String> for ResponseJson {
    type Error = Error;

    fn try_from(text: String) -> Result<ResponseJson> {
        ResponseJson::parse(Secret::new(text))
    }
}

impl TryFrom<Secret> for ResponseJson {
    type Error = Error;

    fn try_from(text: Secret) -> Result<ResponseJson> {
        ResponseJson::parse(text)
    }
}

impl TryFrom<&Value> for ResponseJson {
    type Error = Error;

    fn try_from(value: &Value) -> Result<ResponseJson> {
        ResponseJson::from_value(value)
    }
}

impl TryFrom<Value> for ResponseJson {
    type Error = Error;

    fn try_from(value: Value) -> Result<ResponseJson> {
        ResponseJson::from_value(&value)
    }
}

/// The top-level member names of `text`, which must be exactly one JSON object. Values are
/// skipped, not decoded, so no copy of a secret is made.
fn object_keys(text: &str) -> Result<Vec<String>> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let keys = deserializer
        .deserialize_map(Keys)
        .and_then(|keys| deserializer.end().map(|()| keys))
        .map_err(|e| bad_argument(format!("the response is not one JSON object ({})", describe(&e))))?;
    Ok(keys)
}

/// Where a JSON error is, never what the text says there.
fn describe(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "not the expected shape",
        serde_json::error::Category::Eof => "unexpected end",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

/// Security-question answers given as one JSON object of question id → answer text
/// (`{"6": "blue", "7": "Ada"}`), each answer moved into a [`Secret`] as it is read.
pub fn answers_from_json(text: &str) -> Result<BTreeMap<String, Secret>> {
    struct Answers;
    impl<'de> Visitor<'de> for Answers {
        type Value = BTreeMap<String, Secret>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of question id to answer text")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut answers = BTreeMap::new();
            while let Some(id) = map.next_key::<String>()? {
                let answer = map.next_value_seed(SecretText)?;
                if answers.insert(id, answer).is_some() {
                    return Err(de::Error::custom("a question id appears twice"));
                }
            }
            Ok(answers)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.deserialize_map(Answers).and_then(|answers| deserializer.end().map(|()| answers)).map_err(
        |e| {
            bad_argument(format!(
                "the answers are not one JSON object of question id to answer text ({})",
                describe(&e)
            ))
        },
    )
}

/// A JSON string read straight into a [`Secret`].
struct SecretText;

impl<'de> DeserializeSeed<'de> for SecretText {
    type Value = Secret;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Secret, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for SecretText {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an answer text")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Secret, E> {
        Ok(Secret::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_is_one_object_kept_verbatim() {
        let text = r#" {"capture": {"ISO": "Rk1SAA==", "captureStatus": "OK"}, "n": [1, "\u00e4"]} "#;
        let response = ResponseJson::try_from(text).unwrap();
        assert_eq!(response.expose(), text);
        assert!(response.has_key("capture") && response.has_key("n") && !response.has_key("ISO"));
        assert!(!format!("{response:?}").contains("Rk1SAA"), "Debug shows names only");
        let from_value = ResponseJson::try_from(json!({"totp": "123456"})).unwrap();
        assert_eq!(from_value.expose(), r#"{"totp":"123456"}"#);
    }

    #[test]
    fn anything_but_one_object_is_refused_without_quoting_it() {
        for bad in
            ["", "   ", "[]", "\"s3cret\"", "{\"a\": s3cret}", "{\"a\": 1} {}", "{\"a\": 1", "null", "7"]
        {
            let e = ResponseJson::try_from(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad:?}");
            assert!(!e.message().contains("s3cret"), "{e}");
        }
        assert_eq!(ResponseJson::try_from(json!(["a"])).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn answers_are_read_into_secrets() {
        let answers = answers_from_json(r#"{"6": "blue", "7": "A\"da\u00e9"}"#).unwrap();
        assert_eq!(answers["6"].expose(), "blue");
        assert_eq!(answers["7"].expose(), "A\"da\u{e9}");
        for bad in ["[]", r#"{"6": 1}"#, r#"{"6": "a", "6": "b"}"#, r#"{"6": "s3cret""#, r#"{"6": null}"#] {
            let e = answers_from_json(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
            assert!(!e.message().contains("s3cret"), "{e}");
        }
    }
}
