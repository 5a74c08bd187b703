//! CBOR as the key reads and writes it: host requests are decoded with bounds (message size,
//! nesting depth, no trailing bytes, unique integer keys), fields are taken with their CTAP2 error
//! codes, and responses are encoded with CTAP2 canonical map-key order.

use ciborium::value::{Integer, Value};

use super::status;

/// Largest CTAPHID_CBOR request (command byte included) the key accepts; reported by getInfo.
pub const MAX_MSG_SIZE: usize = 2048;
/// Deepest container nesting a request may use (getAssertion needs 3: map → array → map).
pub const MAX_NESTING: usize = 6;

/// A decoded request: its top-level map with unsigned integer keys, each key present once.
pub struct Request {
    entries: Vec<(u64, Value)>,
}

impl Request {
    /// Decodes the CBOR parameters after the command byte; no bytes means "no parameters".
    pub fn decode(bytes: &[u8]) -> Result<Request, u8> {
        if bytes.is_empty() {
            return Ok(Request { entries: Vec::new() });
        }
        let mut rest = bytes;
        let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_NESTING)
            .map_err(|_| status::INVALID_CBOR)?;
        if !rest.is_empty() {
            return Err(status::INVALID_CBOR);
        }
        let Value::Map(map) = value else { return Err(status::CBOR_UNEXPECTED_TYPE) };
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map {
            let key = unsigned(&key).ok_or(status::CBOR_UNEXPECTED_TYPE)?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(status::INVALID_CBOR);
            }
            entries.push((key, value));
        }
        Ok(Request { entries })
    }

    pub fn get(&self, key: u64) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn required(&self, key: u64) -> Result<&Value, u8> {
        self.get(key).ok_or(status::MISSING_PARAMETER)
    }

    pub fn bytes(&self, key: u64) -> Result<Option<&[u8]>, u8> {
        self.get(key).map(as_bytes).transpose()
    }

    pub fn text(&self, key: u64) -> Result<Option<&str>, u8> {
        self.get(key).map(as_text).transpose()
    }

    pub fn unsigned(&self, key: u64) -> Result<Option<u64>, u8> {
        self.get(key).map(|v| unsigned(v).ok_or(status::CBOR_UNEXPECTED_TYPE)).transpose()
    }

    pub fn map(&self, key: u64) -> Result<Option<&[(Value, Value)]>, u8> {
        self.get(key).map(as_map).transpose()
    }

    pub fn array(&self, key: u64) -> Result<Option<&[Value]>, u8> {
        self.get(key)
            .map(|v| match v {
                Value::Array(items) => Ok(items.as_slice()),
                _ => Err(status::CBOR_UNEXPECTED_TYPE),
            })
            .transpose()
    }
}

pub fn unsigned(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

pub fn integer(value: &Value) -> Result<i128, u8> {
    match value {
        Value::Integer(i) => Ok(i128::from(*i)),
        _ => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

pub fn as_bytes(value: &Value) -> Result<&[u8], u8> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        _ => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

pub fn as_text(value: &Value) -> Result<&str, u8> {
    match value {
        Value::Text(text) => Ok(text),
        _ => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

pub fn as_bool(value: &Value) -> Result<bool, u8> {
    match value {
        Value::Bool(b) => Ok(*b),
        _ => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

pub fn as_map(value: &Value) -> Result<&[(Value, Value)], u8> {
    match value {
        Value::Map(entries) => Ok(entries),
        _ => Err(status::CBOR_UNEXPECTED_TYPE),
    }
}

/// The value of text key `name` in a map (first occurrence).
pub fn field<'a>(map: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    map.iter().find(|(k, _)| matches!(k, Value::Text(t) if t == name)).map(|(_, v)| v)
}

/// A map whose keys are put in CTAP2 canonical order: shorter encoded key first, then bytewise.
pub fn canonical_map(entries: Vec<(Value, Value)>) -> Value {
    let mut keyed: Vec<(Vec<u8>, (Value, Value))> =
        entries.into_iter().map(|(k, v)| (encode(&k), (k, v))).collect();
    keyed.sort_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    Value::Map(keyed.into_iter().map(|(_, entry)| entry).collect())
}

pub fn int(value: i64) -> Value {
    Value::Integer(Integer::from(value))
}

pub fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

pub fn bytes(value: &[u8]) -> Value {
    Value::Bytes(value.to_vec())
}

/// Encodes a value (maps keep the order they were built in: build them with [`canonical_map`]).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every value this key builds is encodable.
    ciborium::ser::into_writer(value, &mut out).expect("CBOR encoding into memory");
    out
}

/// A success response: status 0 followed by the encoded map.
pub fn success(map: Value) -> Vec<u8> {
    let mut out = vec![status::OK];
    out.extend_from_slice(&encode(&map));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_puts_short_keys_first() {
        let map = canonical_map(vec![
            (text("clientPin"), Value::Bool(true)),
            (text("uv"), Value::Bool(true)),
            (text("up"), Value::Bool(true)),
            (text("rk"), Value::Bool(true)),
        ]);
        let keys: Vec<_> =
            as_map(&map).unwrap().iter().map(|(k, _)| as_text(k).unwrap().to_owned()).collect();
        assert_eq!(keys, ["rk", "up", "uv", "clientPin"]);
        let cose =
            canonical_map(vec![(int(-2), int(0)), (int(3), int(0)), (int(-1), int(0)), (int(1), int(0))]);
        let keys: Vec<_> = as_map(&cose).unwrap().iter().map(|(k, _)| integer(k).unwrap()).collect();
        assert_eq!(keys, [1, 3, -1, -2]);
    }

    #[test]
    fn requests_are_bounded() {
        assert!(Request::decode(&[0xA1, 0x01, 0x02]).is_ok());
        assert_eq!(Request::decode(&[0xA1, 0x01, 0x02, 0x00]).err(), Some(status::INVALID_CBOR));
        assert_eq!(Request::decode(&[0xA2, 0x01, 0x02, 0x01, 0x03]).err(), Some(status::INVALID_CBOR));
        assert_eq!(Request::decode(&[0x82, 0x01, 0x02]).err(), Some(status::CBOR_UNEXPECTED_TYPE));
        assert_eq!(Request::decode(&[0xA1, 0x61, 0x61, 0x02]).err(), Some(status::CBOR_UNEXPECTED_TYPE));
        // A byte string claiming 4 GiB in a 10-byte message.
        assert_eq!(
            Request::decode(&[0xA1, 0x01, 0x5A, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]).err(),
            Some(status::INVALID_CBOR)
        );
        let mut deep = vec![0xA1, 0x01];
        deep.extend(std::iter::repeat_n(0x81, 64));
        deep.push(0x00);
        assert_eq!(Request::decode(&deep).err(), Some(status::INVALID_CBOR));
    }
}
