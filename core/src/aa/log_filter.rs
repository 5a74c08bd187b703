//! What a log sink may emit. The `log` facade has one process-wide maximum level, so at TRACE it
//! lets through everything the HTTP and TLS dependencies print, and at that level they print full
//! URLs (with `endpoint_session_id=…`) and hex dumps of request and answer bodies (with the
//! password, `login_session_id`, …), split across lines where no redactor can recognise them.
//! Filtering must therefore happen where records reach a sink: every sink of this project (the C
//! ABI's log callback, the CLI's logger) calls [`allows`] / [`enabled`] and [`message`].
//!
//! The rule: records of our own targets (`aa_logon…`) pass at every level; records of any other
//! target (ureq, ureq_proto, rustls, rustls_platform_verifier, hyper, …) pass up to DEBUG and are
//! dropped at TRACE. Every message that passes goes through the one [redactor](super::redact).
//! Answering `false` from `Log::enabled` for dependency TRACE also makes ureq print `/******`
//! instead of the path and query of a URL in its DEBUG lines.

use log::{Level, Metadata, Record};

use super::redact::redact;

/// True for the targets of this project's crates (`aa_logon`, `aa_logon::aa::http`,
/// `aa_logon_ffi`, `aa_logon_cli`, …).
pub fn is_own_target(target: &str) -> bool {
    target.starts_with("aa_logon")
}

/// Whether a sink may emit a record of `level` from `target` (the sink's own level still applies).
pub fn allows(target: &str, level: Level) -> bool {
    is_own_target(target) || level <= Level::Debug
}

/// [`allows`] for a `Log::enabled` implementation.
pub fn enabled(metadata: &Metadata<'_>) -> bool {
    allows(metadata.target(), metadata.level())
}

/// The text a sink should emit for `record` — its message, redacted — or `None` when the record
/// must be dropped.
pub fn message(record: &Record<'_>) -> Option<String> {
    if !enabled(record.metadata()) {
        return None;
    }
    let text = record.args().to_string();
    Some(redact(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_never_pass_at_trace() {
        for target in ["ureq::run", "ureq_proto::util", "rustls::client::hs", "hyper::proto", "aa_sim"] {
            assert!(!allows(target, Level::Trace), "{target}");
            assert!(allows(target, Level::Debug), "{target}");
            assert!(allows(target, Level::Error), "{target}");
        }
        for target in ["aa_logon", "aa_logon::aa::http", "aa_logon::fido::frames", "aa_logon_ffi::log"] {
            assert!(allows(target, Level::Trace), "{target}");
        }
    }

    #[test]
    fn messages_are_redacted_and_dropped_records_give_none() {
        let args = format_args!("GET https://h/api/v1/logon/chains?endpoint_session_id=S3CR3T");
        let record = Record::builder().target("ureq::run").level(Level::Debug).args(args).build();
        assert_eq!(
            message(&record).unwrap(),
            "GET https://h/api/v1/logon/chains?endpoint_session_id=<redacted>"
        );
        let args = format_args!("7b22 6c6f ... {{\"login_session_id\"");
        let record = Record::builder().target("ureq_proto::util").level(Level::Trace).args(args).build();
        assert_eq!(message(&record), None);
    }
}
