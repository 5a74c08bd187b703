//! CBOR as CTAP2 uses it, over the `ciborium` codec: requests encoded in CTAP2 canonical form
//! (definite lengths and shortest integers, which ciborium always writes, plus map keys sorted
//! here), answers decoded with limits, and typed reads of integer-keyed maps.
//!
//! Limits on what a key may send: one data item filling the whole payload (no trailing bytes),
//! at most [`MAX_NESTING`] levels, at most [`MAX_ITEMS`] items in all, no tags and no floats (no
//! CTAP2 answer has either). Lengths are bounded by the CTAPHID message itself (7609 bytes) and
//! ciborium reads declared lengths in chunks, never allocating them up front.

use std::fmt;

pub use ciborium::Value;

/// Deepest nesting accepted in an answer (getAssertion's `user` map inside the answer map is 2).
pub const MAX_NESTING: usize = 8;
/// Most data items accepted in one answer (a getInfo with every field uses about a hundred).
pub const MAX_ITEMS: usize = 2048;

/// Why an answer is not acceptable CBOR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CborError(String);

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CborError {
    /// An error about a decoded value that does not have the shape a command defines.
    pub fn from_message(message: impl Into<String>) -> Self {
        CborError(message.into())
    }
}

fn error(message: impl Into<String>) -> CborError {
    CborError(message.into())
}

/// Encodes `value` in CTAP2 canonical form: every map's keys sorted by the length of their
/// encoding, then bytewise (so integers ascending before text keys, `"up"` before `"uv"`).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail, and every Value of ours is encodable.
    let _ = ciborium::into_writer(&canonical(value), &mut bytes);
    bytes
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Map(entries) => {
            let mut sorted: Vec<(Vec<u8>, Value, Value)> =
                entries.iter().map(|(k, v)| (encode(k), canonical(k), canonical(v))).collect();
            sorted.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
            Value::Map(sorted.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Decodes one data item that fills `bytes` exactly, within the limits above.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    let mut reader = bytes;
    // ciborium counts its recursion limit per container level.
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_NESTING)
        .map_err(|e| error(format!("invalid CBOR: {e}")))?;
    if !reader.is_empty() {
        return Err(error(format!("{} bytes follow the CBOR data item", reader.len())));
    }
    let mut items = 0;
    check(&value, 1, &mut items)?;
    Ok(value)
}

fn check(value: &Value, depth: usize, items: &mut usize) -> Result<(), CborError> {
    *items += 1;
    if *items > MAX_ITEMS {
        return Err(error(format!("more than {MAX_ITEMS} CBOR items")));
    }
    if depth > MAX_NESTING {
        return Err(error(format!("CBOR nested deeper than {MAX_NESTING} levels")));
    }
    match value {
        Value::Tag(..) => Err(error("a CBOR tag, which CTAP2 never sends")),
        Value::Float(_) => Err(error("a CBOR float, which CTAP2 never sends")),
        Value::Array(values) => values.iter().try_for_each(|v| check(v, depth + 1, items)),
        Value::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            check(k, depth + 1, items)?;
            check(v, depth + 1, items)
        }),
        _ => Ok(()),
    }
}

/// An integer-keyed map built in source order; [`encode`] sorts it.
pub fn int_map(entries: impl IntoIterator<Item = (i64, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
}

/// A text-keyed map.
pub fn text_map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::Text(k.to_owned()), v)).collect())
}

/// Typed reads of a decoded map, naming the field in every error.
#[derive(Clone, Copy)]
pub struct MapView<'a> {
    entries: &'a [(Value, Value)],
    /// What the map is, for error messages ("getInfo answer").
    what: &'a str,
}

impl<'a> MapView<'a> {
    /// `value` must be a map whose keys are all integers or all text (as in CTAP2), none twice.
    pub fn new(value: &'a Value, what: &'a str) -> Result<Self, CborError> {
        let Value::Map(entries) = value else {
            return Err(error(format!("the {what} is not a CBOR map")));
        };
        for (index, (key, _)) in entries.iter().enumerate() {
            if !matches!(key, Value::Integer(_) | Value::Text(_)) {
                return Err(error(format!("the {what} has a key that is neither integer nor text")));
            }
            if entries[..index].iter().any(|(earlier, _)| earlier == key) {
                return Err(error(format!("the {what} has the key {} twice", key_name(key))));
            }
        }
        Ok(MapView { entries, what })
    }

    /// The value under integer key `key`.
    pub fn get(&self, key: i64) -> Option<&'a Value> {
        self.entries.iter().find(|(k, _)| k.as_integer() == Some(key.into())).map(|(_, v)| v)
    }

    /// The value under text key `key`.
    pub fn get_text(&self, key: &str) -> Option<&'a Value> {
        self.entries.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
    }

    /// Every entry, in the order sent.
    pub fn entries(&self) -> &'a [(Value, Value)] {
        self.entries
    }

    fn wrong(&self, key: &str, expected: &str) -> CborError {
        error(format!("field {key} of the {} is not {expected}", self.what))
    }

    fn missing(&self, key: &str) -> CborError {
        error(format!("the {} has no field {key}", self.what))
    }

    /// A required byte string, at most `max_len` bytes.
    pub fn bytes(&self, key: i64, max_len: usize) -> Result<&'a [u8], CborError> {
        self.opt_bytes(key, max_len)?.ok_or_else(|| self.missing(&key.to_string()))
    }

    /// An optional byte string, at most `max_len` bytes.
    pub fn opt_bytes(&self, key: i64, max_len: usize) -> Result<Option<&'a [u8]>, CborError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bytes(bytes)) if bytes.len() <= max_len => Ok(Some(bytes)),
            Some(Value::Bytes(bytes)) => Err(error(format!(
                "field {key} of the {} is {} bytes long, more than {max_len}",
                self.what,
                bytes.len()
            ))),
            Some(_) => Err(self.wrong(&key.to_string(), "a byte string")),
        }
    }

    /// An optional unsigned integer that fits `u64`.
    pub fn opt_uint(&self, key: i64) -> Result<Option<u64>, CborError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) => {
                u64::try_from(*n).map(Some).map_err(|_| self.wrong(&key.to_string(), "an unsigned integer"))
            }
            Some(_) => Err(self.wrong(&key.to_string(), "an unsigned integer")),
        }
    }

    /// An optional integer (negative allowed) that fits `i64`.
    pub fn opt_int(&self, key: i64) -> Result<Option<i64>, CborError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Integer(n)) => {
                i64::try_from(*n).map(Some).map_err(|_| self.wrong(&key.to_string(), "a small integer"))
            }
            Some(_) => Err(self.wrong(&key.to_string(), "an integer")),
        }
    }

    /// An optional map.
    pub fn opt_map(&self, key: i64, what: &'a str) -> Result<Option<MapView<'a>>, CborError> {
        self.get(key).map(|value| MapView::new(value, what)).transpose()
    }

    /// An optional array.
    pub fn opt_array(&self, key: i64) -> Result<Option<&'a [Value]>, CborError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.wrong(&key.to_string(), "an array")),
        }
    }

    /// An optional text string (text key), at most `max_len` bytes.
    pub fn opt_text_at(&self, key: &str, max_len: usize) -> Result<Option<&'a str>, CborError> {
        match self.get_text(key) {
            None => Ok(None),
            Some(Value::Text(text)) if text.len() <= max_len => Ok(Some(text)),
            Some(_) => Err(self.wrong(key, &format!("a text string of at most {max_len} bytes"))),
        }
    }

    /// An optional byte string (text key), at most `max_len` bytes.
    pub fn opt_bytes_at(&self, key: &str, max_len: usize) -> Result<Option<&'a [u8]>, CborError> {
        match self.get_text(key) {
            None => Ok(None),
            Some(Value::Bytes(bytes)) if bytes.len() <= max_len => Ok(Some(bytes)),
            Some(_) => Err(self.wrong(key, &format!("a byte string of at most {max_len} bytes"))),
        }
    }
}

/// A key as text for messages: `3` or `"up"`.
pub fn key_name(key: &Value) -> String {
    match key {
        Value::Integer(n) => i128::from(*n).to_string(),
        Value::Text(text) => format!("{text:?}"),
        _ => "?".into(),
    }
}

/// A list of text strings, each at most `max_len` bytes.
pub fn text_list(items: &[Value], max_len: usize, what: &str) -> Result<Vec<String>, CborError> {
    items
        .iter()
        .map(|item| match item {
            Value::Text(text) if text.len() <= max_len => Ok(text.clone()),
            _ => Err(error(format!("{what} holds something other than a short text string"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fido::test_support::hex;

    #[test]
    fn maps_are_encoded_canonically() {
        // Keys given out of order: integers ascending first, then text by length then bytes.
        let value = Value::Map(vec![
            (Value::Text("uv".into()), Value::Bool(false)),
            (Value::from(5), Value::Null),
            (Value::Text("up".into()), Value::Bool(true)),
            (Value::from(-1), Value::from(1)),
            (Value::from(1), Value::Text("a".into())),
            (Value::Text("id".into()), Value::Bytes(vec![1])),
            (Value::Text("type".into()), Value::Text("t".into())),
        ]);
        let encoded = encode(&value);
        let expected = concat!(
            "a7",
            "01",
            "6161",
            "05",
            "f6",
            "20",
            "01",
            "626964",
            "4101",
            "627570",
            "f5",
            "627576",
            "f4",
            "6474797065",
            "6174"
        );
        assert_eq!(encoded, hex(expected));
        assert_eq!(decode(&encoded).unwrap(), canonical(&value));
        // Shortest integer encodings, definite lengths.
        assert_eq!(encode(&Value::from(24)), hex("1818"));
        assert_eq!(encode(&Value::from(-25)), hex("3818"));
        assert_eq!(encode(&Value::Bytes(vec![0; 32]))[..2], hex("5820")[..]);
    }

    #[test]
    fn answers_outside_the_limits_are_refused() {
        let deep = format!("{}{}", "81".repeat(MAX_NESTING), "01");
        assert!(decode(&hex(&deep)).unwrap_err().to_string().contains("CBOR"));
        let shallow = format!("{}{}", "81".repeat(MAX_NESTING - 1), "01");
        assert!(decode(&hex(&shallow)).is_ok());
        for bad in [
            "a101",             // map missing its value
            "0102",             // trailing bytes
            "c101",             // a tag
            "f93c00",           // a float
            "5bffffffffffffff", // a byte string of 2^64-1 bytes declared, none sent
            "9bffffffffffffff", // an array of 2^64-1 items declared, none sent
            "",
        ] {
            assert!(decode(&hex(bad)).is_err(), "{bad}");
        }
        let many = format!("99{:04x}{}", MAX_ITEMS, "00".repeat(MAX_ITEMS));
        assert!(decode(&hex(&many)).unwrap_err().to_string().contains("items"));
    }

    #[test]
    fn map_views_check_types_lengths_and_duplicates() {
        let value = decode(&hex("a3014401020304026161033818")).unwrap();
        let map = MapView::new(&value, "test map").unwrap();
        assert_eq!(map.bytes(1, 4).unwrap(), [1, 2, 3, 4]);
        assert!(map.bytes(1, 3).unwrap_err().to_string().contains("more than 3"));
        assert!(map.opt_uint(2).is_err());
        assert_eq!(map.opt_int(3).unwrap(), Some(-25));
        assert!(map.opt_uint(3).is_err());
        assert_eq!(map.opt_uint(9).unwrap(), None);
        assert!(map.bytes(9, 1).unwrap_err().to_string().contains("no field 9"));
        let twice = decode(&hex("a201010102")).unwrap();
        assert!(MapView::new(&twice, "m").is_err());
        assert!(MapView::new(&Value::from(1), "m").is_err());
    }
}
