//! [`Logon`]: one authentication in progress, driven step by step or with a security key.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::client::{Client, SessionCall};
use super::http::encode;
use super::model::{LogonResponse, LogonStatus, U2fChallenge};
use crate::fido::{self, DeviceProvider, SignOptions, SignResponse};
use crate::{CancelToken, Error, ErrorKind, Result, Secret};

/// The method whose challenge [`Logon::gather_sign_request`] fetches.
const U2F_METHOD: &str = "U2F:1";

/// One logon process. `Send`: use it from one thread at a time; only its [`CancelToken`] may be
/// used from other threads.
pub struct Logon {
    client: Client,
    process_id: String,
    response: LogonResponse,
    challenge: Option<U2fChallenge>,
    sign_response: Option<SignResponse>,
    finished: bool,
    cancel: CancelToken,
}

impl fmt::Debug for Logon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logon")
            .field("status", &self.response.status)
            .field("current_method", &self.response.current_method)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// `do_logon` body: `response` is omitted to ask for the next challenge.
#[derive(Serialize)]
struct DoLogonBody<'a, R: Serialize> {
    endpoint_session_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<R>,
}

#[derive(Serialize)]
struct AnswerResponse<'a> {
    answer: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignResponseBody<'a> {
    sign_response: &'a SignResponse,
}

#[derive(Serialize)]
struct NextBody<'a> {
    method_id: &'a str,
    endpoint_session_id: &'a str,
}

impl Logon {
    pub(crate) fn started(client: Client, response: LogonResponse) -> Result<Logon> {
        let mut logon = Logon {
            client,
            process_id: response.logon_process_id.clone(),
            response,
            challenge: None,
            sign_response: None,
            finished: false,
            cancel: CancelToken::new(),
        };
        logon.apply_status()?;
        Ok(logon)
    }

    /// The server's id of this logon process.
    pub fn process_id(&self) -> &str {
        &self.process_id
    }

    /// The last answer received.
    pub fn response(&self) -> &LogonResponse {
        &self.response
    }

    /// The U2F challenge, once gathered and until it has been answered.
    pub fn sign_request(&self) -> Option<&U2fChallenge> {
        self.challenge.as_ref()
    }

    /// True once the server ended the process (`OK`, `FAILED`, `STOP`), it expired, or it was aborted.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// A token that cancels [`sign_with_device`](Self::sign_with_device) from another thread.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Asks the server for the U2F sign requests (`do_logon` without a response). The current
    /// method must be `U2F:1`.
    pub fn gather_sign_request(&mut self) -> Result<&U2fChallenge> {
        self.ensure_active()?;
        if self.response.current_method != U2F_METHOD {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("the current method is {:?}, not {U2F_METHOD}", self.response.current_method),
            ));
        }
        self.do_logon::<()>(None)?;
        let challenge = U2fChallenge::from_response(&self.response)?;
        Ok(self.challenge.insert(challenge))
    }

    /// Sends the security key's answer to the gathered challenge and returns the verdict.
    pub fn forward_sign_response(&mut self, response: &SignResponse) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.challenge = None;
        self.sign_response = Some(response.clone());
        self.do_logon(Some(SignResponseBody { sign_response: response }))
    }

    /// The last signResponse forwarded to the server (what the key signed), if any.
    pub fn last_sign_response(&self) -> Option<&SignResponse> {
        self.sign_response.as_ref()
    }

    /// Gathers the challenge (unless already gathered), signs it with the first security key the
    /// user touches, and forwards the signature. Both `options.cancel` and this logon's
    /// [`cancel_token`](Self::cancel_token) cancel it; a cancellation is consumed by the call
    /// it ends (the logon's token is reset afterwards).
    pub fn sign_with_device(
        &mut self,
        devices: &dyn DeviceProvider,
        options: &SignOptions,
    ) -> Result<&LogonResponse> {
        if options.cancel.is_cancelled() || self.cancel.is_cancelled() {
            self.cancel.reset();
            return Err(Error::new(ErrorKind::Cancelled, "cancelled before signing"));
        }
        let requests = match &self.challenge {
            Some(challenge) => challenge.sign_requests.clone(),
            None => self.gather_sign_request()?.sign_requests.clone(),
        };
        let options =
            SignOptions { cancel: CancelToken::linked(&[&self.cancel, &options.cancel]), ..options.clone() };
        let signed = fido::sign(devices, &requests, &options);
        // A cancel that arrives after the exchange ended must not spoil the next one.
        self.cancel.reset();
        let signed = signed?;
        self.forward_sign_response(&signed)
    }

    /// Answers a knowledge or OTP method (`{"answer": …}`: PASSWORD, LDAP_PASSWORD, TOTP, HOTP and
    /// the second step of SMS_OTP / EMAIL_OTP). The answer is wiped from memory after sending.
    pub fn answer(&mut self, answer: Secret) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.do_logon(Some(AnswerResponse { answer: answer.expose() }))
    }

    /// `do_logon` without a response: makes the server send an OTP, or polls an out-of-band method.
    pub fn request_challenge(&mut self) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.do_logon::<()>(None)
    }

    /// Moves to `method_id`, the next method of the chain, after a `NEXT` answer.
    pub fn next(&mut self, method_id: &str) -> Result<&LogonResponse> {
        self.ensure_active()?;
        if method_id.trim().is_empty() {
            return Err(Error::new(ErrorKind::Config, "method id is empty"));
        }
        let path = format!("/logon/{}/next", encode(&self.process_id));
        let answer = self.send(|session| {
            SessionCall::post(
                "/logon/{id}/next",
                path.clone(),
                &NextBody { method_id, endpoint_session_id: session },
            )
        })?;
        self.challenge = None;
        self.record_answer(answer)
    }

    /// Ends the logon process on the server (`DELETE /logon/{id}`). Does nothing when it already ended.
    pub fn abort(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        let process = encode(&self.process_id);
        self.send(|session| {
            SessionCall::delete(
                "/logon/{id}",
                format!("/logon/{process}?endpoint_session_id={}", encode(session)),
            )
        })?;
        self.finished = true;
        self.challenge = None;
        Ok(())
    }

    fn ensure_active(&self) -> Result<()> {
        if self.finished {
            Err(Error::new(
                ErrorKind::InvalidState,
                format!("the logon process has ended (last status {})", self.response.status.as_str()),
            ))
        } else {
            Ok(())
        }
    }

    fn do_logon<R: Serialize>(&mut self, response: Option<R>) -> Result<&LogonResponse> {
        let path = format!("/logon/{}/do_logon", encode(&self.process_id));
        let answer = self.send(|session| {
            SessionCall::post(
                "/logon/{id}/do_logon",
                path.clone(),
                &DoLogonBody { endpoint_session_id: session, response: response.as_ref() },
            )
        })?;
        self.record_answer(answer)
    }

    /// Sends a call; a 444 (process unknown or expired) ends this logon.
    fn send<F>(&mut self, build: F) -> Result<Value>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let result = self.client.call_with_session(build);
        if let Err(e) = &result {
            if e.http_status() == Some(444) {
                self.finished = true;
                self.challenge = None;
            }
        }
        result
    }

    fn record_answer(&mut self, answer: Value) -> Result<&LogonResponse> {
        let response = LogonResponse::from_json(answer)?;
        self.record(response)?;
        Ok(&self.response)
    }

    /// Keeps the answer as the last one and applies its status.
    fn record(&mut self, response: LogonResponse) -> Result<()> {
        self.response = response;
        self.apply_status()
    }

    /// Ends the logon on a final status of the last answer; `FAILED` and `STOP` become errors.
    fn apply_status(&mut self) -> Result<()> {
        if self.response.is_final() {
            self.finished = true;
            self.challenge = None;
        }
        let kind = match self.response.status {
            LogonStatus::Failed => ErrorKind::LogonFailed,
            LogonStatus::Stop => ErrorKind::LogonStopped,
            _ => return Ok(()),
        };
        let message =
            if self.response.msg.is_empty() { self.response.status.as_str() } else { &self.response.msg };
        Err(Error::new(kind, message).with_msgid(&self.response.msgid).with_reason(&self.response.reason))
    }
}
