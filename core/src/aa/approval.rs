//! Waiting for an out-of-band verdict (§4.5): a push the user approves on the smartphone app
//! (SMARTPHONE:1) or a phone call they answer (VOICE:1). The server is polled with `do_logon`
//! without a response until its status is no longer `MORE_DATA`; what the wait may take and how
//! it tells the user is set here.

use std::sync::Arc;
use std::time::Duration;

use crate::{CancelToken, Error, ErrorKind, Result};

/// The SPA's pace of polling an out-of-band method.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(3);
/// How long [`Logon::wait_for_approval`](super::Logon::wait_for_approval) waits by default; the
/// server usually gives its own verdict ("Auth confirmation timeout") before.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(120);
/// Polls closer together than this would only load the server.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// What the user should be told while the approval is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalPrompt {
    /// SMARTPHONE:1: a push was sent; approve it in the smartphone app.
    ApproveOnPhone,
    /// VOICE:1: the server calls the user's phone; answer it and follow the call.
    AnswerCall,
}

/// Told once, when the push was sent or the call started; called on the waiting thread.
pub type ApprovalPromptCallback = Arc<dyn Fn(ApprovalPrompt) + Send + Sync>;
/// Told after every poll that is still waiting, with the time waited so far.
pub type ApprovalProgressCallback = Arc<dyn Fn(Duration) + Send + Sync>;

/// How [`Logon::wait_for_approval`](super::Logon::wait_for_approval) waits.
#[derive(Clone)]
pub struct ApprovalOptions {
    /// The longest wait for a verdict, checked between polls (a poll in flight is not cut short).
    pub timeout: Duration,
    /// Pause between polls; at least [`MIN_POLL_INTERVAL`].
    pub poll_interval: Duration,
    pub prompt: Option<ApprovalPromptCallback>,
    pub progress: Option<ApprovalProgressCallback>,
    /// Cancels the wait from another thread, as the logon's own cancel token does.
    pub cancel: CancelToken,
}

impl Default for ApprovalOptions {
    fn default() -> Self {
        ApprovalOptions {
            timeout: DEFAULT_APPROVAL_TIMEOUT,
            poll_interval: DEFAULT_POLL_INTERVAL,
            prompt: None,
            progress: None,
            cancel: CancelToken::new(),
        }
    }
}

impl std::fmt::Debug for ApprovalOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalOptions")
            .field("timeout", &self.timeout)
            .field("poll_interval", &self.poll_interval)
            .field("prompt", &self.prompt.is_some())
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl ApprovalOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.poll_interval < MIN_POLL_INTERVAL {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "the poll interval {:?} is shorter than {MIN_POLL_INTERVAL:?}, which would only load the server",
                    self.poll_interval
                ),
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::new(ErrorKind::Config, "the approval timeout is zero"));
        }
        Ok(())
    }
}

/// The prompt of an out-of-band method; `None` for a method that is not one.
pub(crate) fn prompt_for(method: &str) -> Option<ApprovalPrompt> {
    match method {
        "SMARTPHONE:1" => Some(ApprovalPrompt::ApproveOnPhone),
        "VOICE:1" => Some(ApprovalPrompt::AnswerCall),
        _ => None,
    }
}

/// The error of a wait that ran out of time: no verdict is no success, and the process lives on.
pub(crate) fn timed_out(method: &str, timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "no verdict for {method} within {:.1} s (not approved in time); the logon process is still \
             alive: wait again or abort it",
            timeout.as_secs_f64()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_out_of_band_methods_have_a_prompt() {
        assert_eq!(prompt_for("SMARTPHONE:1"), Some(ApprovalPrompt::ApproveOnPhone));
        assert_eq!(prompt_for("VOICE:1"), Some(ApprovalPrompt::AnswerCall));
        for other in ["VOICE_OTP:1", "PASSWORD:1", "U2F:1", "", "smartphone:1"] {
            assert_eq!(prompt_for(other), None, "{other}");
        }
    }

    #[test]
    fn options_refuse_a_busy_poll_and_a_zero_timeout() {
        assert!(ApprovalOptions::default().validate().is_ok());
        let busy = ApprovalOptions { poll_interval: Duration::from_millis(1), ..ApprovalOptions::default() };
        assert_eq!(busy.validate().unwrap_err().kind(), ErrorKind::Config);
        let zero = ApprovalOptions { timeout: Duration::ZERO, ..ApprovalOptions::default() };
        assert_eq!(zero.validate().unwrap_err().kind(), ErrorKind::Config);
        assert_eq!(timed_out("VOICE:1", Duration::from_millis(1500)).kind(), ErrorKind::Timeout);
    }
}
