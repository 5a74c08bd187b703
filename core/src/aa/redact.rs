//! The one redactor every log line of ours (and every dependency record a sink lets through, see
//! [`super::log_filter`]) passes: it masks the values of secret-bearing keys, the ids in API paths
//! and URL credentials, whatever the text's shape (query string, JSON, Rust `Debug`, header).
//!
//! It works on keys and positions, not on known values, so it needs no registry of live secrets;
//! the price is that a secret printed with no key in front of it is not recognised. Our own log
//! lines therefore never print values at all (only route templates and error texts), and the
//! redactor is the safety net for what dependencies print.

use std::borrow::Cow;

/// What a masked value is replaced with.
pub const MASK: &str = "<redacted>";

/// Keys whose value is a secret or a bearer token (compared case-insensitively, whole words).
/// `login_process_id` is PWM's spelling of `logon_process_id`.
const SECRET_KEYS: &[&str] = &[
    "endpoint_session_id",
    "login_session_id",
    "logon_process_id",
    "login_process_id",
    "endpoint_secret",
    "endpoint_secret_hash",
    "totp_secret",
    "secret",
    "password",
    "passwd",
    "answer",
    "answers",
    "otp",
    "totp",
    "hotp",
    "pin",
    "authorization",
    "proxy-authorization",
];

/// `text` with every secret masked; borrowed when there was nothing to mask.
pub fn redact(text: &str) -> Cow<'_, str> {
    let text = mask_keyed_values(text);
    // URL credentials before path ids: a URL glued onto `/logon/` would lose its `://` first.
    let text = then(text, mask_userinfo);
    then(text, mask_path_ids)
}

/// Applies `pass` to `text`, keeping the borrow when `pass` changed nothing.
fn then<'a>(text: Cow<'a, str>, pass: fn(&str) -> Cow<'_, str>) -> Cow<'a, str> {
    let changed = match pass(&text) {
        Cow::Owned(owned) => Some(owned),
        Cow::Borrowed(_) => None,
    };
    changed.map_or(text, Cow::Owned)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `key=value`, `key: value`, `"key":"value"`, `\"key\": \"value\"`, `key: {…}` → value masked.
fn mask_keyed_values(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already in `out`
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
        let Some(key) = at_word_start.then(|| key_at(bytes, i)).flatten() else {
            i += 1;
            continue;
        };
        let after_key = i + key.len();
        let Some((value_start, value_end)) = value_after(bytes, after_key, key.ends_with("authorization"))
        else {
            i = after_key;
            continue;
        };
        if &text[value_start..value_end] != MASK && value_end > value_start {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..value_start]);
            out.push_str(MASK);
            copied = value_end;
        }
        i = value_end.max(after_key);
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The longest secret key starting at `i` and ending at a word boundary.
fn key_at(bytes: &[u8], i: usize) -> Option<&'static str> {
    SECRET_KEYS
        .iter()
        .filter(|key| {
            let end = i + key.len();
            end <= bytes.len()
                && bytes[i..end].eq_ignore_ascii_case(key.as_bytes())
                && bytes.get(end).is_none_or(|b| !is_word_byte(*b))
        })
        .max_by_key(|key| key.len())
        .copied()
}

/// The byte range of the value that follows a key ending at `i`, if a `=` or `:` follows it.
fn value_after(bytes: &[u8], mut i: usize, to_line_end: bool) -> Option<(usize, usize)> {
    // The closing quote of a quoted key, possibly escaped (`\"key\"` inside a Debug string).
    if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'"') {
        i += 2;
    } else if matches!(bytes.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    if !matches!(bytes.get(i), Some(b'=' | b':')) {
        return None;
    }
    i += 1;
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    let start = i;
    match bytes.get(i) {
        None => None,
        // An escaped quote: the value ends at the next escaped quote.
        Some(b'\\') if bytes.get(i + 1) == Some(&b'"') => {
            let body = i + 2;
            let end = find(bytes, body, b"\\\"").unwrap_or(bytes.len());
            Some((body, end))
        }
        Some(&quote @ (b'"' | b'\'')) => {
            let body = i + 1;
            let mut j = body;
            while j < bytes.len() && bytes[j] != quote {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            Some((body, j.min(bytes.len())))
        }
        Some(&open @ (b'{' | b'[')) => {
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            while j < bytes.len() {
                if bytes[j] == open {
                    depth += 1;
                } else if bytes[j] == close {
                    depth -= 1;
                    if depth == 0 {
                        // `pin={1}2345`: what follows the brackets up to a separator is value too.
                        return Some((start, plain_value_end(bytes, j + 1, to_line_end)));
                    }
                }
                j += 1;
            }
            Some((start, bytes.len()))
        }
        Some(_) => Some((start, plain_value_end(bytes, i, to_line_end))),
    }
}

/// Where an unquoted value starting at `i` ends: at a separator (only the line end for a header).
fn plain_value_end(bytes: &[u8], i: usize, to_line_end: bool) -> usize {
    let stop: &[u8] = if to_line_end { b"\r\n\"," } else { b"&;, \t\r\n\"'()[]{}|" };
    bytes[i..].iter().position(|b| stop.contains(b)).map_or(bytes.len(), |p| i + p)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// Ends a path segment.
fn ends_segment(b: u8) -> bool {
    matches!(b, b'/' | b'?' | b'#' | b'&' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b')' | b',')
}

/// `/logon/{process id}/…` and `/logon/sessions/{login session id}`: the ids are bearer tokens.
/// Route templates (`{id}`) and the fixed segments (`chains`, `sessions`) are kept.
fn mask_path_ids(text: &str) -> Cow<'_, str> {
    const LOGON: &str = "/logon/";
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find(LOGON).map(|p| search + p) {
        let mut start = found + LOGON.len();
        let mut end = segment_end(bytes, start);
        if &text[start..end] == "sessions" && bytes.get(end) == Some(&b'/') {
            start = end + 1;
            end = segment_end(bytes, start);
        }
        let segment = &text[start..end];
        if !segment.is_empty() && !matches!(segment, "chains" | "sessions" | "{id}" | MASK) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        search = end.max(found + 1);
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

fn segment_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|b| ends_segment(*b)).map_or(bytes.len(), |p| start + p)
}

/// `scheme://user:password@host` → `scheme://<redacted>@host`.
fn mask_userinfo(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://").map(|p| search + p) {
        let start = found + 3;
        let end = bytes[start..]
            .iter()
            // Only what ends an authority in a URL we accept (quotes and `>` may be in a
            // password): a quoted URL followed by other text with an `@` is masked too far, the
            // safe way round.
            .position(|b| matches!(b, b'/' | b'?' | b'#' | b' ' | b'\t' | b'\r' | b'\n'))
            .map_or(bytes.len(), |p| start + p);
        if let Some(at) = text[start..end].rfind('@') {
            if &text[start..start + at] != MASK {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..start]);
                out.push_str(MASK);
                copied = start + at;
            }
        }
        search = start;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_the_fuzzer_found_stay_closed() {
        // A password with a quote; a bracketed value with more after it; a URL glued onto /logon/.
        for (text, secret) in [
            ("http://user:it's1234@proxy.example:3128", "1234"),
            ("url \"https://u:p\"w>SECRET@h/\"", "SECRET"),
            ("pin={1}2345 next", "2345"),
            ("GET /logon/https://u:SECRET@h/x", "SECRET"),
        ] {
            let once = redact(text);
            assert!(!once.contains(secret), "{text} -> {once}");
            assert_eq!(redact(&once), once, "redacting twice changes nothing: {text}");
        }
        assert_eq!(redact("pin={1}2345 next"), "pin=<redacted> next");
    }

    #[test]
    fn credentials_of_every_url_in_a_line_are_masked() {
        // Found by the config_parsers fuzz target: a second URL right after a separator.
        for text in [
            "https://h1;https://u:SECRET@h2/",
            "proxy=http://u:p@proxy,https://u2:SECRET@host/",
            "a://x\0b://u:SECRET@c",
        ] {
            assert!(!redact(text).contains("SECRET"), "{text} -> {}", redact(text));
        }
    }

    #[test]
    fn query_values_are_masked() {
        assert_eq!(
            redact("GET /api/v1/logon/chains?user_name=u&endpoint_session_id=S3CR3T&event=e"),
            "GET /api/v1/logon/chains?user_name=u&endpoint_session_id=<redacted>&event=e"
        );
        assert_eq!(redact("x?ENDPOINT_SESSION_ID=abc"), "x?ENDPOINT_SESSION_ID=<redacted>");
    }

    #[test]
    fn json_and_debug_values_are_masked() {
        let body = r#"{"endpoint_session_id":"S1","response":{"answer":"hun\"ter2"},"user_name":"u"}"#;
        assert_eq!(
            redact(body),
            r#"{"endpoint_session_id":"<redacted>","response":{"answer":"<redacted>"},"user_name":"u"}"#
        );
        assert_eq!(
            redact(r#"{"login_session_id": "L1", "logon_process_id" : "P1"}"#),
            r#"{"login_session_id": "<redacted>", "logon_process_id" : "<redacted>"}"#
        );
        assert_eq!(redact(r#"Body("{\"password\":\"pw\"}")"#), r#"Body("{\"password\":\"<redacted>\"}")"#);
        assert_eq!(redact(r#"answers: {"6": "blue", "7": "x"} next"#), "answers: <redacted> next");
        assert_eq!(redact("pin: 1234, otp=987654"), "pin: <redacted>, otp=<redacted>");
        assert_eq!(
            redact("proxy-authorization: Basic dXNlcjpwYXNz\r\nhost: h"),
            "proxy-authorization: <redacted>\r\nhost: h"
        );
    }

    #[test]
    fn ids_in_paths_are_masked_but_templates_kept() {
        assert_eq!(redact("POST /api/v1/logon/P1abc/do_logon"), "POST /api/v1/logon/<redacted>/do_logon");
        assert_eq!(
            redact("DELETE /api/v1/logon/sessions/L1?x"),
            "DELETE /api/v1/logon/sessions/<redacted>?x"
        );
        for kept in
            ["POST /logon/{id}/do_logon", "GET /api/v1/logon/chains?user_name=u", "POST /api/v1/logon"]
        {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn url_credentials_are_masked() {
        assert_eq!(redact("https://user:pa55@aa.example/api"), "https://<redacted>@aa.example/api");
        assert_eq!(
            redact("proxy http://u@p:3128 and https://h/x@y"),
            "proxy http://<redacted>@p:3128 and https://h/x@y"
        );
    }

    #[test]
    fn words_that_merely_contain_a_key_are_kept() {
        for kept in [
            "pinned key mismatch",
            "user_answer_count=3",
            "the answer is sent",
            "passwords and OTPs travel unencrypted",
            "Waiting for the answer",
        ] {
            assert_eq!(redact(kept), kept);
        }
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let once = redact("a?endpoint_session_id=x&y=1 /logon/P/next https://u:p@h").into_owned();
        assert_eq!(redact(&once), once);
    }
}
