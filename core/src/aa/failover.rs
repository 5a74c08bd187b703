//! When a call that failed on one server may go to the next, and the error when none could
//! serve it. Pure rules over [`CallFailure`]; the client applies them.
//!
//! - A failure to connect (name lookup, TCP, TLS handshake) moves every call on: the request
//!   never left this process.
//! - A 502/503/504 answer, or a failure after the request was sent (timeout, reset, connection
//!   closed before the answer), moves on only calls that are safe to repeat: reads, and requests
//!   for something new (a challenge, a poll). A call carrying an answer or a signature, or
//!   moving the logon to another method, may have been acted on by the first server; repeating
//!   it elsewhere could count an OTP twice or replay a signature, so it stops there.
//! - Any other answer is the server's verdict: no other server is asked.

use super::http::{CallFailure, Stage};
use crate::{Error, ErrorKind};

/// Whether a call may be sent again, to another server, after it failed on one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Reads, and requests for something new: repeating them does no harm.
    Safe,
    /// Carries an answer or changes the logon: repeated only when it was never sent.
    OnlyIfNotSent,
}

/// What to do after a call failed on one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The server is up and gave its verdict: return it.
    Verdict,
    /// The server is down or unavailable, and the call may go to the next one.
    Failover,
    /// The server is down or unavailable, but the call may have reached it: stop here.
    Stop,
    /// Nothing to do with any server: return it.
    Local,
}

impl Next {
    pub(crate) fn after(failure: &CallFailure, repeat: Repeat) -> Next {
        match failure.stage {
            Stage::Local => Next::Local,
            Stage::NotSent => Next::Failover,
            Stage::Answered if !failure.is_unavailable_answer() => Next::Verdict,
            Stage::Answered | Stage::Sent => match repeat {
                Repeat::Safe => Next::Failover,
                Repeat::OnlyIfNotSent => Next::Stop,
            },
        }
    }

    /// The server failed (it is skipped for the back-off period).
    pub(crate) fn server_failed(self) -> bool {
        matches!(self, Next::Failover | Next::Stop)
    }
}

/// The error of a call that stopped on a failed server without trying the others.
pub(crate) fn not_repeated(error: Error, others: usize) -> Error {
    let message = format!(
        "{}; not sent to the {others} other server{} of the cluster: the request may have reached this one",
        error.message(),
        if others == 1 { "" } else { "s" }
    );
    error.with_message(message)
}

/// One error naming each server's failure (each message already names its server). Kind, HTTP
/// status, msgid and reason are the failures' own when they all agree, else `Network`.
pub(crate) fn all_failed(failures: Vec<Error>) -> Error {
    let Some(first) = failures.first() else {
        return Error::new(ErrorKind::Network, "no AA server is configured");
    };
    if failures.len() == 1 {
        return failures.into_iter().next().unwrap_or_else(|| Error::new(ErrorKind::Network, ""));
    }
    let messages: Vec<&str> = failures.iter().map(Error::message).collect();
    let message =
        format!("none of the {} AA servers could serve the call: {}", failures.len(), messages.join("; "));
    if failures.iter().all(|e| e.kind() == first.kind() && e.http_status() == first.http_status()) {
        first.clone().with_message(message)
    } else {
        Error::new(ErrorKind::Network, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(stage: Stage, status: Option<u16>) -> CallFailure {
        let mut error = Error::new(ErrorKind::AaHttp, "x");
        if let Some(status) = status {
            error = error.with_http_status(status);
        }
        CallFailure { error, stage }
    }

    #[test]
    fn only_unsent_calls_carrying_answers_move_on() {
        use Repeat::*;
        for (stage, status, safe, answer) in [
            (Stage::NotSent, None, Next::Failover, Next::Failover),
            (Stage::Sent, None, Next::Failover, Next::Stop),
            (Stage::Answered, Some(503), Next::Failover, Next::Stop),
            (Stage::Answered, Some(502), Next::Failover, Next::Stop),
            (Stage::Answered, Some(504), Next::Failover, Next::Stop),
            (Stage::Answered, Some(500), Next::Verdict, Next::Verdict),
            (Stage::Answered, Some(444), Next::Verdict, Next::Verdict),
            (Stage::Answered, None, Next::Verdict, Next::Verdict),
            (Stage::Local, None, Next::Local, Next::Local),
        ] {
            assert_eq!(Next::after(&failure(stage, status), Safe), safe, "{stage:?} {status:?}");
            assert_eq!(Next::after(&failure(stage, status), OnlyIfNotSent), answer, "{stage:?} {status:?}");
        }
    }

    #[test]
    fn the_error_of_all_servers_names_each_failure() {
        let refused = Error::new(ErrorKind::Network, "https://a refused the connection");
        let unavailable =
            Error::new(ErrorKind::AaHttp, "https://b: server answered HTTP 503").with_http_status(503);
        let e = all_failed(vec![refused.clone(), unavailable]);
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Network, None));
        assert!(
            e.message().starts_with("none of the 2 AA servers could serve the call: https://a refused"),
            "{e}"
        );
        assert!(e.message().contains("; https://b: server answered HTTP 503"), "{e}");
        let same = all_failed(vec![refused.clone(), Error::new(ErrorKind::Network, "https://b refused")]);
        assert_eq!(same.kind(), ErrorKind::Network);
        assert_eq!(all_failed(vec![refused.clone()]).message(), refused.message(), "one server: unchanged");
    }

    #[test]
    fn a_call_stopped_on_a_failed_server_says_why() {
        let e = not_repeated(Error::new(ErrorKind::Timeout, "https://a: timed out").with_http_status(504), 1);
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Timeout, Some(504)));
        assert!(e.message().ends_with(
            "not sent to the 1 other server of the cluster: the request may have reached this one"
        ));
    }
}
