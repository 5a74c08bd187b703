//! [`Logon`]: one authentication in progress, driven step by step or with a security key.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::answers::IntoResponseJson;
use super::approval::{self, ApprovalOptions};
use super::call::SessionCall;
use super::client::Client;
use super::failover::Repeat;
use super::http::encode;
use super::model::{LogonResponse, LogonStatus, U2fChallenge};
use super::servers::ServerIndex;
use crate::fido::{self, DeviceProvider, SignOptions, SignResponse};
use crate::{CancelToken, Error, ErrorKind, Result, Secret};

#[path = "fido2.rs"]
mod fido2;

pub use self::fido2::Fido2Assertion;

/// The method whose challenge [`Logon::gather_sign_request`] fetches.
const U2F_METHOD: &str = "U2F:1";
/// The method whose questions [`Logon::questions`] fetches.
const SECQUEST_METHOD: &str = "SECQUEST:1";
/// The method whose offline code [`Logon::answer_offline_totp`] sends.
const SMARTPHONE_METHOD: &str = "SMARTPHONE:1";

/// What an answer responded to; decides which statuses are acceptable (see `Logon::apply_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `POST /logon`.
    Start,
    /// `do_logon` without a response on `U2F:1`: only `MORE_DATA` with sign requests will do.
    Gather,
    /// `do_logon` without a response on `SECQUEST:1`: only `MORE_DATA` with questions will do.
    Questions,
    /// `do_logon` with a signResponse: only `OK` and `NEXT` are success.
    Signature,
    /// `do_logon` with an answer: `OK`, `NEXT`, or `MORE_DATA` (the server wants another answer).
    Answer,
    /// `do_logon` without a response on another method (OTP sending, polling).
    Poll,
    /// `POST /logon/{id}/next`.
    Next,
}

/// One logon process. `Send`: use it from one thread at a time; only its [`CancelToken`] may be
/// used from other threads.
pub struct Logon {
    client: Client,
    /// The server that answered this logon's last call; its next call goes there first.
    server: ServerIndex,
    process_id: String,
    response: LogonResponse,
    challenge: Option<U2fChallenge>,
    sign_response: Option<SignResponse>,
    finished: bool,
    cancel: CancelToken,
    /// As given to `start_logon` (FIDO2:1 names the user when it asks for its options).
    user_name: String,
    fido2_assertion: Option<Fido2Assertion>,
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

/// SECQUEST:1 (§4.4): every question id with its answer.
#[derive(Serialize)]
struct QuestionAnswers<'a> {
    answers: BTreeMap<&'a str, &'a str>,
}

/// The smartphone app's offline code (§4.5).
#[derive(Serialize)]
struct OfflineTotp<'a> {
    totp: &'a str,
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
    pub(crate) fn started(
        client: Client,
        server: ServerIndex,
        user_name: &str,
        response: LogonResponse,
    ) -> Result<Logon> {
        let mut logon = Logon {
            client,
            server,
            process_id: response.logon_process_id.clone(),
            response,
            challenge: None,
            sign_response: None,
            finished: false,
            cancel: CancelToken::new(),
            user_name: user_name.to_owned(),
            fido2_assertion: None,
        };
        logon.apply_status(Step::Start)?;
        Ok(logon)
    }

    /// The base URL of the server that answered this logon's last call (of a cluster's servers:
    /// see [`Client`]).
    pub fn server(&self) -> &str {
        &self.client.server(self.server).base_url
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

    /// A token that cancels [`sign_with_device`](Self::sign_with_device) and
    /// [`wait_for_approval`](Self::wait_for_approval) from another thread.
    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// Asks the server for the U2F sign requests (`do_logon` without a response). The current
    /// method must be `U2F:1`. Only a `MORE_DATA` answer is a challenge: `OK` or `NEXT` without a
    /// signature is refused as malformed server data, `FAILED`/`STOP` are their errors, and no
    /// challenge is kept. Every sign request's appId must pass the client's appId policy
    /// ([`ClientConfig::allowed_app_id_hosts`](super::ClientConfig::allowed_app_id_hosts)), else
    /// the challenge is refused (malformed server data) before any key could see it.
    pub fn gather_sign_request(&mut self) -> Result<&U2fChallenge> {
        self.ensure_active()?;
        if self.response.current_method != U2F_METHOD {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("the current method is {:?}, not {U2F_METHOD}", self.response.current_method),
            ));
        }
        self.challenge = None;
        self.do_logon::<()>(None, Step::Gather)?;
        let challenge = U2fChallenge::from_response(&self.response)?;
        self.client.app_ids().check_all(&challenge.sign_requests)?;
        Ok(self.challenge.insert(challenge))
    }

    /// Sends the security key's answer to the gathered challenge and returns the verdict: `OK` or
    /// `NEXT`. Anything else is an error: `FAILED` (or `MORE_DATA`: the server did not take the
    /// signature) is [`ErrorKind::LogonFailed`], `STOP` [`ErrorKind::LogonStopped`], a status
    /// this library does not know [`ErrorKind::MalformedServerData`].
    pub fn forward_sign_response(&mut self, response: &SignResponse) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.challenge = None;
        self.sign_response = Some(response.clone());
        self.do_logon(Some(SignResponseBody { sign_response: response }), Step::Signature)
    }

    /// The last signResponse forwarded to the server (what the key signed), if any.
    pub fn last_sign_response(&self) -> Option<&SignResponse> {
        self.sign_response.as_ref()
    }

    /// Gathers the challenge (unless already gathered), signs it with the first security key the
    /// user touches, and forwards the signature; returns the verdict as
    /// [`forward_sign_response`](Self::forward_sign_response) does (only `OK` and `NEXT` are
    /// success). No key is used when the gather fails, including when it is answered with a
    /// verdict instead of a challenge or carries an appId the client does not allow (see
    /// [`gather_sign_request`](Self::gather_sign_request)). Both `options.cancel` and this
    /// logon's [`cancel_token`](Self::cancel_token) cancel it; a cancellation is consumed by the
    /// call it ends (the logon's token is reset afterwards).
    ///
    /// When the current method is `FIDO2:1` it runs that method instead (see the `fido2` module:
    /// request options, a CTAP2 assertion with the user verification they ask for — built-in UV,
    /// else the PIN from `options.pin` — the assertion posted, the verdict polled); the same
    /// verdict rules apply, plus the PIN and UV error kinds of [`fido::get_assertion`].
    pub fn sign_with_device(
        &mut self,
        devices: &dyn DeviceProvider,
        options: &SignOptions,
    ) -> Result<&LogonResponse> {
        if options.cancel.is_cancelled() || self.cancel.is_cancelled() {
            self.cancel.reset();
            return Err(Error::new(ErrorKind::Cancelled, "cancelled before signing"));
        }
        if self.response.current_method == fido2::METHOD_ID {
            return self.sign_fido2(devices, options);
        }
        let requests = match &self.challenge {
            Some(challenge) => challenge.sign_requests.clone(),
            None => self.gather_sign_request()?.sign_requests.clone(),
        };
        // Checked when gathered; checked again right before a key sees it.
        self.client.app_ids().check_all(&requests)?;
        let options =
            SignOptions { cancel: CancelToken::linked(&[&self.cancel, &options.cancel]), ..options.clone() };
        let signed = fido::sign(devices, &requests, &options);
        // A cancel that arrives after the exchange ended must not spoil the next one.
        self.cancel.reset();
        let signed = signed?;
        self.forward_sign_response(&signed)
    }

    /// Answers a knowledge or OTP method (`{"answer": …}`: PASSWORD, LDAP_PASSWORD,
    /// EMERG_PASSWORD, RADIUS, TOTP, HOTP and the second step of SMS_OTP / EMAIL_OTP /
    /// VOICE_OTP). The answer is serialized into a buffer of ours and wiped once sent. Returns
    /// the answer for `OK`, `NEXT` and `MORE_DATA` — the last means the server wants another
    /// answer for the same method (a RADIUS Access-Challenge: its prompt is the answer's `msg`):
    /// it is no verdict, the logon goes on, and only `OK` completes it. `FAILED`/`STOP` are their
    /// errors, a status this library does not know is [`ErrorKind::MalformedServerData`].
    pub fn answer(&mut self, answer: Secret) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.do_logon(Some(AnswerResponse { answer: answer.expose() }), Step::Answer)
    }

    /// Sends any `response` object — a CARD payload, a FINGER `capture`, a method this library
    /// has no typed call for — given as JSON text, a [`Secret`] or a [`serde_json::Value`]
    /// (see [`ResponseJson`](super::ResponseJson)); it must be one JSON object
    /// ([`ErrorKind::Config`] otherwise, and nothing is sent). The text is kept in zeroizing
    /// memory, sent as given and wiped. The
    /// verdict is judged as [`answer`](Self::answer)'s (`OK`, `NEXT`, `MORE_DATA` are success),
    /// except that a response carrying `signResponse` is judged as
    /// [`forward_sign_response`](Self::forward_sign_response)'s (only `OK` and `NEXT`).
    pub fn answer_json(&mut self, response: impl IntoResponseJson) -> Result<&LogonResponse> {
        self.ensure_active()?;
        let response = response.into_response_json()?;
        let step = if response.has_key("signResponse") { Step::Signature } else { Step::Answer };
        self.challenge = None;
        let path = format!("/logon/{}/do_logon", encode(&self.process_id));
        let answer = self.send(Repeat::OnlyIfNotSent, |session| {
            SessionCall::post_with_response("/logon/{id}/do_logon", path.clone(), session, response.expose())
        })?;
        self.record_answer(answer, step)
    }

    /// SMARTPHONE:1 without the push: sends the code the smartphone app shows offline
    /// (`{"totp": …}`, §4.5), wiped once sent. The verdict is judged as [`answer`](Self::answer)'s.
    pub fn answer_offline_totp(&mut self, code: Secret) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.require_method(SMARTPHONE_METHOD, "an offline smartphone code")?;
        self.do_logon(Some(OfflineTotp { totp: code.expose() }), Step::Answer)
    }

    /// The security questions of SECQUEST:1 (question id → text, §4.4): those of the last
    /// answer when it carried any, else asked from the server (`do_logon` without a response).
    /// The current method must be SECQUEST:1 ([`ErrorKind::InvalidState`]). An answer without
    /// questions, with questions of the wrong shape, or a verdict instead of questions is
    /// [`ErrorKind::MalformedServerData`].
    pub fn questions(&mut self) -> Result<&BTreeMap<String, String>> {
        self.ensure_active()?;
        self.require_method(SECQUEST_METHOD, "security questions")?;
        if self.response.questions.is_none() {
            self.do_logon::<()>(None, Step::Questions)?;
        }
        match &self.response.questions {
            Some(Ok(questions)) if !questions.is_empty() => Ok(questions),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(_)) | None => Err(Error::new(
                ErrorKind::MalformedServerData,
                "the server asked no security questions for SECQUEST:1",
            )),
        }
    }

    /// Answers every security question in one call (`{"answers": {id: answer, …}}`, §4.4). When
    /// the last answer carried the questions, the ids must be exactly theirs
    /// ([`ErrorKind::Config`] naming the ids, and nothing is sent). The answers are serialized
    /// into a buffer of ours, wiped once sent, and dropped (wiped) with `answers`. The verdict is
    /// judged as [`answer`](Self::answer)'s.
    pub fn answer_questions(&mut self, answers: BTreeMap<String, Secret>) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.require_method(SECQUEST_METHOD, "answers to security questions")?;
        if answers.is_empty() {
            return Err(Error::new(ErrorKind::Config, "no answers to the security questions were given"));
        }
        if let Some(Ok(asked)) = &self.response.questions {
            let missing: Vec<&str> =
                asked.keys().filter(|id| !answers.contains_key(*id)).map(String::as_str).collect();
            let extra: Vec<&str> =
                answers.keys().filter(|id| !asked.contains_key(*id)).map(String::as_str).collect();
            if !missing.is_empty() || !extra.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the answers must be for exactly the questions asked: no answer for {missing:?}, \
                         not asked {extra:?}"
                    ),
                ));
            }
        }
        let body = QuestionAnswers {
            answers: answers.iter().map(|(id, answer)| (id.as_str(), answer.expose())).collect(),
        };
        self.do_logon(Some(body), Step::Answer)
    }

    /// Blocks until the verdict of an out-of-band method — SMARTPHONE:1 (a push approved in the
    /// app) or VOICE:1 (a phone call) — polling `do_logon` without a response every
    /// `options.poll_interval` (§4.5): the first poll starts the push or call, then
    /// `options.prompt` is told once what the user should do and `options.progress` after every
    /// poll still waiting. Returns the verdict `OK` or `NEXT`. `STOP` (the user rejected it) is
    /// [`ErrorKind::LogonStopped`], `FAILED` (e.g. the server's own confirmation timeout)
    /// [`ErrorKind::LogonFailed`], no verdict within `options.timeout` [`ErrorKind::Timeout`]
    /// (the process lives on: wait again or [`abort`](Self::abort)). Both `options.cancel` and
    /// this logon's [`cancel_token`](Self::cancel_token) end the wait with
    /// [`ErrorKind::Cancelled`] at once, or after the poll in flight; a cancellation is consumed
    /// by the call it ends. Another current method is [`ErrorKind::InvalidState`].
    pub fn wait_for_approval(&mut self, options: &ApprovalOptions) -> Result<&LogonResponse> {
        if options.cancel.is_cancelled() || self.cancel.is_cancelled() {
            self.cancel.reset();
            return Err(Error::new(ErrorKind::Cancelled, "cancelled before waiting for an approval"));
        }
        let waited = self.poll_until_verdict(options);
        // A cancel that arrives after the wait ended must not spoil the next call.
        self.cancel.reset();
        waited?;
        Ok(&self.response)
    }

    fn poll_until_verdict(&mut self, options: &ApprovalOptions) -> Result<()> {
        options.validate()?;
        self.ensure_active()?;
        let method = self.response.current_method.clone();
        let Some(prompt) = approval::prompt_for(&method) else {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("the current method is {method:?}, not SMARTPHONE:1 or VOICE:1: nothing to approve"),
            ));
        };
        if self.response.status == LogonStatus::Next {
            return Err(Error::new(
                ErrorKind::InvalidState,
                format!("{method} has passed already; move on with next()"),
            ));
        }
        let cancel = CancelToken::linked(&[&self.cancel, &options.cancel]);
        let cancelled = || {
            Error::new(
                ErrorKind::Cancelled,
                format!("cancelled while waiting for the {method} verdict; the logon process is still alive"),
            )
        };
        let started = Instant::now();
        let deadline =
            started.checked_add(options.timeout).unwrap_or_else(|| started + Duration::from_secs(86_400));
        let mut prompted = false;
        loop {
            self.do_logon::<()>(None, Step::Poll)?;
            if self.response.status != LogonStatus::MoreData {
                return Ok(());
            }
            if !std::mem::replace(&mut prompted, true) {
                if let Some(tell) = &options.prompt {
                    tell(prompt);
                }
            }
            if let Some(progress) = &options.progress {
                progress(started.elapsed());
            }
            if cancel.is_cancelled() {
                return Err(cancelled());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(approval::timed_out(&method, options.timeout));
            }
            if cancel.sleep(options.poll_interval.min(deadline - now)) {
                return Err(cancelled());
            }
        }
    }

    /// After `NEXT`: the methods that may come next, from the chains and the completed methods
    /// of the last answer (see [`LogonResponse::next_methods`]); empty for any other status.
    pub fn next_methods(&self) -> Vec<String> {
        self.response.next_methods()
    }

    /// `do_logon` without a response: makes the server send an OTP (SMS_OTP, EMAIL_OTP,
    /// VOICE_OTP), or polls an out-of-band method once (see
    /// [`wait_for_approval`](Self::wait_for_approval)). An unknown status is
    /// [`ErrorKind::MalformedServerData`], never success.
    pub fn request_challenge(&mut self) -> Result<&LogonResponse> {
        self.ensure_active()?;
        self.do_logon::<()>(None, Step::Poll)
    }

    /// Moves to `method_id`, the next method of the chain, after a `NEXT` answer.
    pub fn next(&mut self, method_id: &str) -> Result<&LogonResponse> {
        self.ensure_active()?;
        if method_id.trim().is_empty() {
            return Err(Error::new(ErrorKind::Config, "method id is empty"));
        }
        let path = format!("/logon/{}/next", encode(&self.process_id));
        // Moves the process on: repeated elsewhere only when never sent.
        let answer = self.send(Repeat::OnlyIfNotSent, |session| {
            SessionCall::post(
                "/logon/{id}/next",
                path.clone(),
                &NextBody { method_id, endpoint_session_id: session },
            )
        })?;
        self.challenge = None;
        self.record_answer(answer, Step::Next)
    }

    /// Ends the logon process on the server (`DELETE /logon/{id}`). Does nothing when it already ended.
    pub fn abort(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        let process = encode(&self.process_id);
        // Deleting twice is deleting.
        self.send(Repeat::Safe, |session| {
            SessionCall::delete(
                "/logon/{id}",
                format!("/logon/{process}?endpoint_session_id={}", encode(session)),
            )
        })?;
        self.finished = true;
        self.challenge = None;
        Ok(())
    }

    fn require_method(&self, method: &str, what: &str) -> Result<()> {
        if self.response.current_method == method {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidState,
                format!("{what} need the current method {method}, not {:?}", self.response.current_method),
            ))
        }
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

    /// `do_logon`, with a response (an answer, a signature: sent to another server only when it
    /// never left for the first) or without (asking for a challenge, polling: safe to repeat).
    fn do_logon<R: Serialize>(&mut self, response: Option<R>, step: Step) -> Result<&LogonResponse> {
        let path = format!("/logon/{}/do_logon", encode(&self.process_id));
        let repeat = if response.is_some() { Repeat::OnlyIfNotSent } else { Repeat::Safe };
        let answer = self.send(repeat, |session| {
            SessionCall::post(
                "/logon/{id}/do_logon",
                path.clone(),
                &DoLogonBody { endpoint_session_id: session, response: response.as_ref() },
            )
        })?;
        self.record_answer(answer, step)
    }

    /// Sends a call, to the server this logon talked to last first; a 444 (process unknown or
    /// expired) ends this logon.
    pub(super) fn send<F>(&mut self, repeat: Repeat, build: F) -> Result<Value>
    where
        F: Fn(&str) -> Result<SessionCall>,
    {
        let reply = self.client.call_with_session(build, repeat, Some(self.server));
        let before = self.server;
        if let Some(server) = reply.server {
            self.server = server;
        }
        reply.outcome.map_err(|e| {
            if e.http_status() != Some(444) {
                return e;
            }
            self.finished = true;
            self.challenge = None;
            if self.server == before {
                return e;
            }
            // The logon moved after its server failed, and the new one does not know it.
            let message = format!(
                "{} does not know this logon process, which {} started: the servers do not share \
                 their logon state (or the process expired); start the logon again ({})",
                self.client.server(self.server).base_url,
                self.client.server(before).base_url,
                e.message()
            );
            e.with_message(message)
        })
    }

    fn record_answer(&mut self, answer: Value, step: Step) -> Result<&LogonResponse> {
        let response = LogonResponse::from_json(answer)?;
        self.record(response, step)?;
        Ok(&self.response)
    }

    /// Keeps the answer as the last one and applies its status.
    fn record(&mut self, response: LogonResponse, step: Step) -> Result<()> {
        self.response = response;
        self.apply_status(step)
    }

    /// Ends the logon on a final status of the last answer and decides whether the status is
    /// success for `step`. Fails closed: `FAILED` and `STOP` are their errors everywhere; a status
    /// this library does not know is malformed server data everywhere; after a signature only
    /// `OK` and `NEXT` are success (`MORE_DATA` means the signature was not accepted); a gather
    /// or a request for questions must be answered `MORE_DATA` (a verdict without a signature or
    /// answers is refused); an `OK` without a login session id is refused.
    fn apply_status(&mut self, step: Step) -> Result<()> {
        if self.response.is_final() {
            self.finished = true;
            self.challenge = None;
        }
        let response = &self.response;
        let server_message =
            if response.msg.is_empty() { String::new() } else { format!(": {}", response.msg) };
        let (kind, message) = match (&response.status, step) {
            (LogonStatus::Failed, _) => (ErrorKind::LogonFailed, None),
            (LogonStatus::Stop, _) => (ErrorKind::LogonStopped, None),
            (LogonStatus::Other(status), _) => (
                ErrorKind::MalformedServerData,
                Some(format!(
                    "the server answered status {status:?}, which this library does not know and \
                     never takes as success{server_message}"
                )),
            ),
            (LogonStatus::MoreData, Step::Signature) => (
                ErrorKind::LogonFailed,
                Some(format!("the server did not accept the signature (MORE_DATA){server_message}")),
            ),
            (LogonStatus::Ok | LogonStatus::Next, Step::Gather) => (
                ErrorKind::MalformedServerData,
                Some(format!(
                    "the server answered {} to the request for a U2F challenge, without any \
                     signature; no security key is used{server_message}",
                    response.status.as_str()
                )),
            ),
            (LogonStatus::Ok | LogonStatus::Next, Step::Questions) => (
                ErrorKind::MalformedServerData,
                Some(format!(
                    "the server answered {} to the request for security questions, without any \
                     answer{server_message}",
                    response.status.as_str()
                )),
            ),
            (LogonStatus::Ok, _) if response.login_session_id.is_none() => (
                ErrorKind::MalformedServerData,
                Some(format!(
                    "the server answered OK without a login_session_id: no logon to take{server_message}"
                )),
            ),
            _ => return Ok(()),
        };
        let message = message.unwrap_or_else(|| {
            if response.msg.is_empty() {
                response.status.as_str().to_owned()
            } else {
                response.msg.clone()
            }
        });
        Err(Error::new(kind, message).with_msgid(&response.msgid).with_reason(&response.reason))
    }
}

/// Starting a logon lives with the logon, not the client, so the client knows nothing of
/// logons and the module stack stays one-way (client below logon).
impl Client {
    /// Starts a logon of `user_name` for `event` with the first method `method_id` (`POST /logon`).
    pub fn start_logon(&self, user_name: &str, event: &str, method_id: &str) -> Result<Logon> {
        super::client::require("user name", user_name)?;
        super::client::require("method id", method_id)?;
        let reply = self.call_with_session(
            |session| {
                let body = serde_json::json!({
                "method_id": method_id,
                "user_name": user_name,
                "event": event,
                    "endpoint_session_id": session,
                });
                SessionCall::post("/logon", "/logon".to_owned(), &body)
            },
            // A second attempt starts a second process; the first one, if it was started, expires.
            Repeat::Safe,
            None,
        );
        let response = LogonResponse::from_json(reply.outcome?)?;
        if response.logon_process_id.is_empty() {
            return Err(Error::new(ErrorKind::MalformedServerData, "logon answer has no logon_process_id"));
        }
        // Answered: `reply.server` is the server that did.
        Logon::started(self.clone(), reply.server.unwrap_or_default(), user_name, response)
    }
}
