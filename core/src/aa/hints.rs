//! Next steps in the messages of failures to reach the server. A TLS, network, timeout or HTTP
//! parse failure is often all a user sees (in a log, a terminal), so its message names the server
//! it was talking to and, for the common mistakes, what to change: trust the server's CA, start
//! the server or fix the port, use https:// for an HTTPS server.
//!
//! Pure functions over the classified transport error; `http.rs` applies [`with_next_step`] once
//! to every request that failed before an HTTP answer was read.

use crate::{Error, ErrorKind};

/// How each surface of the library trusts an extra CA: the core cannot know which one is in use.
pub(crate) const CA_FILE_OPTIONS: &str = "aa_client_options_set_ca_file (C), Client(ca_file=...) (Python), \
     AaClientOptions.CaFile (C#) or --ca-file (aa-logon)";

/// `error` (a transport failure of a request to `url`) with the server named and, where one is
/// known, the next step in its message. Errors of other kinds are returned unchanged.
pub(crate) fn with_next_step(error: Error, url: &str) -> Error {
    let origin = origin(url);
    let message = match error.kind() {
        ErrorKind::Tls => tls_message(origin, error.message()),
        ErrorKind::Network => network_message(origin, error.message()),
        ErrorKind::Timeout => timeout_message(origin, error.message()),
        ErrorKind::MalformedServerData if is_http_parse_failure(error.message()) => {
            http_parse_message(origin, error.message())
        }
        _ => return error,
    };
    // Transport failures carry no server details (HTTP status, msgid, reason) to keep.
    Error::new(error.kind(), message)
}

/// `scheme://host[:port]` of `url`: the server, without the path (whose ids are tokens).
pub(crate) fn origin(url: &str) -> &str {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    match url[authority_start..].find(['/', '?', '#']) {
        Some(end) => &url[..authority_start + end],
        None => url,
    }
}

/// The message of a TLS failure talking to `origin`; `detail` is the transport's description.
pub(crate) fn tls_message(origin: &str, detail: &str) -> String {
    let detail = detail.strip_prefix("rustls: ").unwrap_or(detail);
    match tls_hint(detail) {
        Some(hint) => format!("{origin}: {detail}; {hint}"),
        None => format!("{origin}: {detail}"),
    }
}

/// What to do about a TLS failure described by `detail`, when the cause is a common one.
pub(crate) fn tls_hint(detail: &str) -> Option<String> {
    if detail.contains("UnknownIssuer") {
        Some(format!(
            "the server's certificate is not issued by a CA this client trusts (the system trust \
             store and any CA file set): set a CA file with {CA_FILE_OPTIONS}"
        ))
    } else if detail.contains("corrupt message") || detail.contains("InvalidContentType") {
        Some("the server did not answer with TLS: is this port an HTTPS port?".to_owned())
    } else {
        None
    }
}

/// The message of a connection failure to `origin`; `detail` is the transport's description
/// (`io: Connection refused (os error 111)`, `host not found`, …).
pub(crate) fn network_message(origin: &str, detail: &str) -> String {
    let detail = detail.strip_prefix("io: ").unwrap_or(detail);
    if detail.contains("Connection refused") {
        format!("{origin} refused the connection ({detail}): is the server running, and is the port right?")
    } else if detail == "host not found" {
        format!("{origin}: host not found: check the host name of the URL")
    } else if detail.contains("lookup address") {
        format!("{origin}: host not found ({detail}): check the host name of the URL")
    } else {
        format!("{origin}: {detail}")
    }
}

/// The message of a timeout talking to `origin`; `detail` names the timeout (`timeout: connect`)
/// or the io error of a socket timeout.
pub(crate) fn timeout_message(origin: &str, detail: &str) -> String {
    match detail.strip_prefix("timeout: ") {
        Some(which) => format!("{origin}: no answer in time (the {which} timeout elapsed)"),
        None => format!("{origin}: no answer in time ({})", detail.strip_prefix("io: ").unwrap_or(detail)),
    }
}

/// Whether a malformed-answer `message` is the HTTP parser's: the bytes were not HTTP at all.
fn is_http_parse_failure(message: &str) -> bool {
    message.starts_with("protocol: ")
}

/// The message of an answer that is not HTTP; from an `http://` URL it is most often an HTTPS
/// server answering the plain request with TLS bytes.
pub(crate) fn http_parse_message(origin: &str, detail: &str) -> String {
    let detail = detail.strip_prefix("protocol: ").unwrap_or(detail);
    if origin.starts_with("http://") {
        format!(
            "{origin} did not answer in plain HTTP ({detail}): does the server speak HTTPS? \
             Then the URL starts with https://"
        )
    } else {
        format!("{origin}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message `http.rs` makes of a ureq failure (its `to_string()`).
    fn transport(kind: ErrorKind, e: ureq::Error) -> Error {
        Error::new(kind, e.to_string())
    }

    #[test]
    fn the_origin_leaves_out_path_and_query() {
        assert_eq!(origin("https://127.0.0.1:8443/api/v1/logon/abc/do_logon"), "https://127.0.0.1:8443");
        assert_eq!(origin("https://aa.example.com"), "https://aa.example.com");
        assert_eq!(origin("https://[::1]:8443/api/v1?x=1"), "https://[::1]:8443");
    }

    #[test]
    fn an_untrusted_certificate_names_the_ca_option_of_every_surface() {
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = with_next_step(
            transport(ErrorKind::Tls, ureq::Error::Rustls(unknown)),
            "https://127.0.0.1:8443/api/v1/endpoints/x/sessions",
        );
        assert_eq!(e.kind(), ErrorKind::Tls);
        let message = e.message();
        assert!(
            message.starts_with("https://127.0.0.1:8443: invalid peer certificate: UnknownIssuer; "),
            "{message}"
        );
        for option in
            ["aa_client_options_set_ca_file", "Client(ca_file=", "AaClientOptions.CaFile", "--ca-file"]
        {
            assert!(message.contains(option), "{message} does not name {option}");
        }
        assert!(!message.contains("/api/v1"), "{message}");
    }

    #[test]
    fn a_plain_http_server_behind_an_https_url_is_named() {
        let corrupt = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        let e =
            with_next_step(transport(ErrorKind::Tls, ureq::Error::Rustls(corrupt)), "https://h:80/api/v1");
        assert!(e.message().ends_with("is this port an HTTPS port?"), "{}", e.message());
    }

    #[test]
    fn other_tls_failures_keep_their_own_description() {
        let e = with_next_step(
            Error::new(ErrorKind::Tls, "rustls: certificate not valid for name \"127.0.0.1\""),
            "https://127.0.0.1:1/api/v1",
        );
        assert_eq!(e.message(), "https://127.0.0.1:1: certificate not valid for name \"127.0.0.1\"");
    }

    #[test]
    fn a_refused_connection_names_the_url_and_what_to_check() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let detail =
            ureq::Error::Io(std::io::Error::new(refused.kind(), "Connection refused (os error 111)"));
        let e = with_next_step(transport(ErrorKind::Network, detail), "https://127.0.0.1:8444/api/v1/x");
        assert_eq!(
            e.message(),
            "https://127.0.0.1:8444 refused the connection (Connection refused (os error 111)): \
             is the server running, and is the port right?"
        );
        let e =
            with_next_step(transport(ErrorKind::Network, ureq::Error::HostNotFound), "https://aa.invalid/x");
        assert_eq!(e.message(), "https://aa.invalid: host not found: check the host name of the URL");
        let lookup = ureq::Error::Io(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        let e = with_next_step(transport(ErrorKind::Network, lookup), "https://aa.invalid/x");
        assert_eq!(
            e.message(),
            "https://aa.invalid: host not found (failed to lookup address information: Name or service \
             not known): check the host name of the URL"
        );
    }

    #[test]
    fn an_http_url_answered_with_tls_asks_whether_the_server_speaks_https() {
        let e = with_next_step(
            Error::new(ErrorKind::MalformedServerData, "protocol: http parse fail: invalid HTTP version"),
            "http://127.0.0.1:8443/api/v1/endpoints",
        );
        assert_eq!(e.kind(), ErrorKind::MalformedServerData);
        assert_eq!(
            e.message(),
            "http://127.0.0.1:8443 did not answer in plain HTTP (http parse fail: invalid HTTP version): \
             does the server speak HTTPS? Then the URL starts with https://"
        );
    }

    #[test]
    fn server_answers_and_other_kinds_are_left_alone() {
        let server = Error::new(ErrorKind::AaHttp, "User is not found")
            .with_http_status(400)
            .with_msgid("AUCORE-1056");
        assert_eq!(with_next_step(server.clone(), "https://h/api/v1"), server);
        let too_big = Error::new(ErrorKind::MalformedServerData, "server answer is larger than 10 bytes");
        assert_eq!(with_next_step(too_big.clone(), "https://h/api/v1"), too_big);
    }

    #[test]
    fn no_message_repeats_the_kind_or_its_details() {
        let e = with_next_step(
            Error::new(ErrorKind::Timeout, "timeout: global"),
            "https://aa.example.com/api/v1/logon",
        );
        assert_eq!(
            e.to_string(),
            "timeout: https://aa.example.com: no answer in time (the global timeout elapsed)"
        );
    }
}
