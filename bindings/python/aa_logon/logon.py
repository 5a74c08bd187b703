"""``Logon``: one authentication process on the AA server, from its start to the verdict."""

from __future__ import annotations

import ctypes
import json
import logging
from ctypes import c_uint32, c_void_p
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type, Union

from ._calls import (
    call,
    call_json,
    call_optional_string,
    call_string,
    encode,
    exception_from,
    milliseconds,
    secret_buffer,
    wipe,
)
from ._handle import HandleOwner, NativeHandle
from ._generated import aa_pin_callback as PIN_CALLBACK
from ._generated import aa_prompt_callback as PROMPT_CALLBACK
from ._generated import aa_sign_options
from ._native import library
from .errors import AaError, MalformedServerDataError, Status
from .types import Chain, Prompt, ServerStatus, SignRequest, User

_logger = logging.getLogger("aa_logon")

PromptHandler = Callable[[Prompt], None]
"""A plain callable told what the user should do while ``sign_with_device`` or
``wait_for_approval`` waits."""

PinHandler = Callable[[int], Optional[str]]
"""Asked for the security key's PIN with the retries left; returns the PIN, or ``None`` to give
none (the sign then raises :class:`PinRequiredError`). Called on the signing thread, only when the
request needs user verification, the key has a PIN and no built-in user verification."""

Secret = Union[str, bytes, bytearray]
"""A password, one-time code or answer: copied into a C buffer that is wiped after the call."""

ResponseJson = Union[str, bytes, bytearray, Mapping[str, Any]]
"""A ``response`` object for :meth:`Logon.answer_json`: JSON text or a mapping (serialized here)."""

_UNFINISHED = (ServerStatus.MORE_DATA, ServerStatus.NEXT)


class Logon(HandleOwner):
    """One logon process, created by :meth:`aa_logon.Client.logon`.

    Use it from one thread at a time; only :meth:`cancel` may be called from another thread
    while a call runs. As a context manager it frees the native logon on exit and, if the
    chain is not finished (MORE_DATA or NEXT), first aborts it on the server (best effort).
    """

    def __init__(self, handle: int) -> None:
        self._handle = NativeHandle(handle, "aa_logon_free", "Logon")

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the native logon (without aborting it on the server; see :meth:`abort`).
        Idempotent. A call running on another thread is cancelled first."""
        self.cancel()
        self._handle.close()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        try:
            if not self.closed and self.status in _UNFINISHED:
                self.abort()
        except AaError as error:
            _logger.debug("aborting an unfinished logon on close failed: %s", error)
        finally:
            self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<Logon closed>"
        try:
            return f"<Logon {self.current_method} {self.status.name}>"
        except AaError:  # e.g. busy in another thread's call: repr must not raise
            return "<Logon>"

    # -- steps -----------------------------------------------------------------------------

    def gather_sign_request(self) -> List[SignRequest]:
        """Asks the server for the U2F sign request of the current method (which must be
        ``U2F:1``); one entry per key enrolled for the user. Kept for :meth:`sign_with_device`.
        One C call: the library's ``{"signRequests": [...]}`` JSON is parsed here."""
        data = call_json("aa_logon_gather_sign_request", self._handle.get())
        try:
            return [
                SignRequest(
                    version=_text(entry["version"]),
                    challenge=_text(entry["challenge"]),
                    key_handle=_text(entry["keyHandle"]),
                    app_id=_text(entry["appId"]),
                )
                for entry in data["signRequests"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedServerDataError(
                f"aa_logon_gather_sign_request gave an unexpected sign request: {error!r}",
                status=Status.MALFORMED_SERVER_DATA,
            ) from error

    def _with_prompt(
        self,
        prompt: Optional[PromptHandler],
        native_call: Callable[[int, Any, c_void_p], int],
        final: Optional[Prompt],
    ) -> None:
        """Runs ``native_call(handle, callback, error_out)`` with ``prompt`` as its C prompt
        callback. If ``prompt`` raises, the wait is cancelled (unless it was told ``final``, after
        which nothing waits any more) and the exception is re-raised here once the library has returned;
        it never unwinds into the library."""
        handle = self._handle.get()
        if prompt is not None and not callable(prompt):
            raise TypeError(f"prompt must be callable, not {type(prompt).__name__}")
        lib = library()
        raised: List[BaseException] = []

        def on_prompt(_userdata: Optional[int], raw_prompt: int) -> None:
            if prompt is None or raised:
                return
            try:
                value = Prompt(raw_prompt)
            except ValueError:
                return  # a prompt added by a newer library; nothing to tell this program
            try:
                prompt(value)
            except BaseException as error:  # noqa: B902 — nothing may unwind into the library
                raised.append(error)
                if value is not final:
                    # Still waiting for something the user was not asked for: stop.
                    # (After `final` nothing waits, and a cancel would hit the next call.)
                    _logger.debug("the prompt callback raised %r; cancelling the wait", error)
                    lib.aa_logon_cancel(handle)

        # Kept referenced by this frame for the whole (synchronous) call.
        callback = PROMPT_CALLBACK(on_prompt) if prompt is not None else PROMPT_CALLBACK()
        error = c_void_p()
        status = native_call(handle, callback, error)
        failure = exception_from(lib, status, error) if status != Status.OK else None
        if raised:
            if failure is not None:
                raise raised[0] from failure
            raise raised[0]
        if failure is not None:
            raise failure

    def sign_with_device(
        self,
        timeout: float = 30.0,
        prompt: Optional[PromptHandler] = None,
        pin: Optional[PinHandler] = None,
    ) -> ServerStatus:
        """The whole security-key step in one blocking call (the GIL is released while it
        waits). For U2F:1 it gathers the sign request unless already done, signs it with the
        first security key that owns a key handle and is touched (over U2F, or CTAP2 for keys
        without U2F) and sends the signature; for FIDO2:1 it fetches the request options, gets a
        CTAP2 assertion with the user verification they ask for and posts it. Returns the
        verdict (``OK``, or ``NEXT`` inside a chain).

        Args:
            timeout: seconds to wait for a key and a touch (and the PIN).
            prompt: called on this thread with each :class:`Prompt` (insert key, touch key,
                touched). If it raises, a wait for a key or a touch is cancelled and the
                exception is re-raised here once the library returns; it never unwinds into
                the library.
            pin: a :data:`PinHandler` asked for the key's PIN (with the retries left) when the
                request needs user verification and the key has no built-in UV. If it raises,
                the sign is cancelled and the exception re-raised here. The PIN is copied into a
                C buffer the library wipes; Python strings cannot be wiped, so keep it short-lived.

        Raises:
            LogonFailed: the server rejected the signature or assertion.
            Cancelled: :meth:`cancel` was called (the logon stays usable).
            PinInvalidError, PinBlockedError, PinRequiredError, UvFailedError: PIN or UV trouble.
            NoDeviceError, NoMatchingKeyError, UserPresenceTimeout, DeviceError: key trouble.
        """
        timeout_ms = milliseconds(timeout, "timeout")
        lib = library()
        if pin is not None:
            self._sign_with_pin(timeout_ms, prompt, pin)
            return self.status
        self._with_prompt(
            prompt,
            lambda handle, callback, error: int(
                lib.aa_logon_sign_with_device(handle, timeout_ms, callback, None, ctypes.byref(error))
            ),
            Prompt.TOUCHED,
        )
        return self.status

    def _sign_with_pin(self, timeout_ms: int, prompt: Optional[PromptHandler], pin: PinHandler) -> None:
        """aa_logon_sign_with_device_ex with ``pin`` as its C PIN callback (see sign_with_device)."""
        if not callable(pin):
            raise TypeError(f"pin must be callable, not {type(pin).__name__}")
        lib = library()
        raised: List[BaseException] = []

        def on_pin(_userdata: Optional[int], retries_left: int, buffer: Optional[int], length: int) -> int:
            if raised or buffer is None:
                return int(Status.PIN_REQUIRED)
            try:
                given = pin(int(retries_left))
            except BaseException as error:  # noqa: B902 — nothing may unwind into the library
                raised.append(error)
                return int(Status.CANCELLED)
            if given is None:
                return int(Status.PIN_REQUIRED)
            if not isinstance(given, str):
                raised.append(TypeError(f"the pin callable must return str or None, not {type(given).__name__}"))
                return int(Status.CANCELLED)
            data = bytearray(given.encode("utf-8"))
            try:
                if b"\0" in data or len(data) >= length:
                    raised.append(ValueError(f"the PIN must be at most {length - 1} UTF-8 bytes without NUL"))
                    return int(Status.CANCELLED)
                ctypes.memmove(buffer, (ctypes.c_char * len(data)).from_buffer(data), len(data))
                ctypes.memset(buffer + len(data), 0, 1)
                return int(Status.OK)
            finally:
                data[:] = b"\0" * len(data)

        pin_callback = PIN_CALLBACK(on_pin)

        def native_call(handle: int, prompt_callback: Any, error: c_void_p) -> int:
            options = aa_sign_options(timeout_ms=timeout_ms, prompt=prompt_callback, pin=pin_callback, userdata=None)
            return int(lib.aa_logon_sign_with_device_ex(handle, ctypes.byref(options), ctypes.byref(error)))

        try:
            self._with_prompt(prompt, native_call, Prompt.TOUCHED)
        except AaError as failure:
            if raised:
                raise raised[0] from failure
            raise
        if raised:
            raise raised[0]

    def wait_for_approval(
        self, timeout: float = 120.0, poll_interval: float = 3.0, prompt: Optional[PromptHandler] = None
    ) -> ServerStatus:
        """Blocks (the GIL released) until the verdict of an out-of-band method: SMARTPHONE:1 (a
        push the user approves in the smartphone app) or VOICE:1 (a phone call). The server is
        polled every ``poll_interval`` seconds (at least 0.01); the first poll sends the push or
        starts the call, then ``prompt`` is called once on this thread with
        :attr:`Prompt.APPROVE_ON_PHONE` or :attr:`Prompt.ANSWER_CALL`. If ``prompt`` raises, the
        wait is cancelled and the exception re-raised here. Returns ``OK`` (or ``NEXT`` in a
        chain).

        Raises:
            LogonStopped: the user rejected the push or call (STOP).
            LogonFailed: the server failed it (e.g. its own confirmation timeout).
            NetworkTimeoutError: no verdict within ``timeout`` seconds; the process lives on
                (wait again or :meth:`abort`).
            Cancelled: :meth:`cancel` was called from another thread (the logon stays usable).
            InvalidStateError: the current method is neither SMARTPHONE:1 nor VOICE:1.
        """
        timeout_ms = milliseconds(timeout, "timeout")
        poll_ms = milliseconds(poll_interval, "poll_interval")
        lib = library()
        self._with_prompt(
            prompt,
            lambda handle, callback, error: int(
                lib.aa_logon_wait_for_approval(handle, timeout_ms, poll_ms, callback, None, ctypes.byref(error))
            ),
            None,  # the prompt comes while the wait goes on: a raising prompt always cancels it
        )
        return self.status

    def forward_sign_response(self, sign_response: Union[str, Mapping[str, str]]) -> ServerStatus:
        """Sends a U2F signResponse produced elsewhere (``keyHandle``, ``clientData``,
        ``signatureData``, base64url) and returns the verdict, like :meth:`sign_with_device`."""
        text = sign_response if isinstance(sign_response, str) else json.dumps(dict(sign_response))
        call("aa_logon_forward_sign_response", self._handle.get(), encode(text, "sign_response"))
        return self.status

    def answer(self, secret: Secret) -> ServerStatus:
        """Answers the current method: a password, a one-time code, or the code received by
        SMS/e-mail. Returns the verdict (``OK``, ``NEXT`` or ``MORE_DATA``).

        Raises:
            LogonFailed: the server rejected the answer (``msgid``/``reason`` say why).
        """
        handle = self._handle.get()
        buffer = secret_buffer(secret, "secret")
        try:
            call("aa_logon_answer", handle, buffer)
        finally:
            wipe(buffer)
        return self.status

    def answer_json(self, response: ResponseJson) -> ServerStatus:
        """Sends any ``response`` object to the current method: a CARD:1 payload
        (``{"card_uid": …, "card_cert": ""}``), a FINGER:1 ``capture``, or the payload of a
        method without a typed call. Text (``str``, ``bytes``, ``bytearray``) is sent as given; a
        mapping is serialized here. It may hold secrets: the binding's C copy is wiped after the
        call (a ``bytearray`` you pass is yours to wipe). Returns the verdict (``OK``, ``NEXT`` or
        ``MORE_DATA``).

        Raises:
            InvalidArgumentError: it is not one JSON object (nothing is sent).
            LogonFailed: the server rejected it.
        """
        if isinstance(response, Mapping):
            text: Union[str, bytes, bytearray] = json.dumps(dict(response))
        elif isinstance(response, (str, bytes, bytearray)):
            text = response
        else:
            raise TypeError(f"response must be JSON text or a mapping, not {type(response).__name__}")
        handle = self._handle.get()
        buffer = secret_buffer(text, "response")
        try:
            call("aa_logon_answer_json", handle, buffer)
        finally:
            wipe(buffer)
        return self.status

    def answer_offline_totp(self, code: Secret) -> ServerStatus:
        """SMARTPHONE:1 without the push: sends the code the smartphone app shows offline
        (``{"totp": code}``). Returns the verdict.

        Raises:
            InvalidStateError: the current method is not SMARTPHONE:1.
            LogonFailed: the server rejected the code.
        """
        handle = self._handle.get()
        buffer = secret_buffer(code, "code")
        try:
            call("aa_logon_answer_offline_totp", handle, buffer)
        finally:
            wipe(buffer)
        return self.status

    @property
    def questions(self) -> Dict[str, str]:
        """The security questions of SECQUEST:1, question id → text: those of the last answer,
        else asked from the server (one ``do_logon``; so reading it may raise network errors).

        Raises:
            InvalidStateError: the current method is not SECQUEST:1.
            MalformedServerDataError: the server sent no questions, or not as id → text.
        """
        data = call_json("aa_logon_questions_json", self._handle.get())
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MalformedServerDataError(
                "aa_logon_questions_json gave no object of question texts", status=Status.MALFORMED_SERVER_DATA
            )
        return {str(question_id): str(text) for question_id, text in data.items()}

    def answer_questions(self, answers: Mapping[str, Secret]) -> ServerStatus:
        """Answers every security question in one call (question id → answer, the ids of
        :attr:`questions`). The answers are written into one C buffer, wiped after the call.
        Returns the verdict.

        Raises:
            InvalidArgumentError: the ids are not exactly those asked (nothing is sent).
            LogonFailed: an answer is wrong.
        """
        if not isinstance(answers, Mapping):
            raise TypeError(f"answers must be a mapping of question id to answer, not {type(answers).__name__}")
        data = bytearray(b"{")
        try:
            for index, (question_id, answer) in enumerate(answers.items()):
                if index:
                    data += b","
                _append_json_string(data, encode(question_id, "question id"))
                data += b":"
                if isinstance(answer, str):
                    raw = bytearray(answer.encode("utf-8"))
                elif isinstance(answer, (bytes, bytearray)):
                    raw = bytearray(answer)
                else:
                    raise TypeError(f"the answer to {question_id!r} must be str, bytes or bytearray")
                try:
                    _append_json_string(data, raw)
                finally:
                    raw[:] = bytes(len(raw))
            data += b"}"
            return self.answer_questions_json(data)
        finally:
            data[:] = bytes(len(data))

    def answer_questions_json(self, answers_json: Secret) -> ServerStatus:
        """:meth:`answer_questions` with the answers already as one JSON object of
        question id → answer text."""
        handle = self._handle.get()
        buffer = secret_buffer(answers_json, "answers_json")
        try:
            call("aa_logon_answer_questions_json", handle, buffer)
        finally:
            wipe(buffer)
        return self.status

    def request_challenge(self) -> ServerStatus:
        """Goes on without an answer: makes SMS_OTP:1 / EMAIL_OTP:1 / VOICE_OTP:1 send their
        code, or polls an out-of-band method once (see :meth:`wait_for_approval`)."""
        call("aa_logon_request_challenge", self._handle.get())
        return self.status

    def next(self, method_id: str) -> ServerStatus:
        """After a ``NEXT`` verdict, moves to ``method_id``, the chain's next method."""
        call("aa_logon_next", self._handle.get(), encode(method_id, "method_id"))
        return self.status

    def abort(self) -> None:
        """Aborts the logon process on the server. The object must still be closed."""
        call("aa_logon_abort", self._handle.get())

    def cancel(self) -> None:
        """Cancels a running :meth:`sign_with_device` or :meth:`wait_for_approval` (or, when
        none runs, the next one). Thread-safe; does nothing once the logon is closed."""
        handle = self._handle.peek()
        if handle is not None:
            library().aa_logon_cancel(handle)

    # -- state of the last answer ------------------------------------------------------------

    @property
    def status(self) -> ServerStatus:
        """The server's verdict after the last exchange."""
        raw = c_uint32()
        call("aa_logon_server_status", self._handle.get(), ctypes.byref(raw))
        try:
            return ServerStatus(raw.value)
        except ValueError:
            return ServerStatus.UNKNOWN

    @property
    def message(self) -> str:
        """The server's message of the last answer (e.g. ``"Welcome"``)."""
        return call_optional_string("aa_logon_message", self._handle.get()) or ""

    @property
    def reason(self) -> Optional[str]:
        """The server's reason of the last answer (e.g. ``"PASSWORD_WRONG"``), if any."""
        return call_optional_string("aa_logon_reason", self._handle.get())

    @property
    def msgid(self) -> Optional[str]:
        """The server's message id of the last answer (e.g. ``"AUCORE-2007"``), if any."""
        return call_optional_string("aa_logon_msgid", self._handle.get())

    @property
    def current_method(self) -> str:
        """The method the server expects now (e.g. ``"U2F:1"``)."""
        return call_string("aa_logon_current_method", self._handle.get())

    @property
    def process_id(self) -> str:
        """The logon process id on the server."""
        return call_string("aa_logon_process_id", self._handle.get())

    @property
    def server(self) -> str:
        """The base URL of the server that answered this logon's last call: with a cluster
        (``Client(failover_urls=…)``), the server the logon continues on. A logon stays on its
        server while it answers; see :class:`~aa_logon.Client` for when it moves."""
        return call_string("aa_logon_server", self._handle.get())

    @property
    def login_session_id(self) -> Optional[str]:
        """The login session id once the server answered OK; ``None`` before."""
        return call_optional_string("aa_logon_login_session_id", self._handle.get())

    @property
    def sign_response(self) -> Optional[Dict[str, str]]:
        """The last signResponse sent to the server (``keyHandle``, ``clientData``,
        ``signatureData``, base64url), or ``None`` before one was sent."""
        text = call_optional_string("aa_logon_sign_response_json", self._handle.get())
        if text is None:
            return None
        answer: Dict[str, str] = json.loads(text)
        return answer

    @property
    def completed_methods(self) -> Tuple[str, ...]:
        """The methods completed so far (e.g. ``("LDAP_PASSWORD:1",)``)."""
        return tuple(str(method) for method in call_json("aa_logon_completed_methods_json", self._handle.get()))

    @property
    def next_methods(self) -> Tuple[str, ...]:
        """After ``NEXT``: the methods that may come next (pass one to :meth:`next`), in the
        server's chain order; empty for any other status."""
        return tuple(str(method) for method in call_json("aa_logon_next_methods_json", self._handle.get()))

    @property
    def chains(self) -> Tuple[Chain, ...]:
        """The chains the server offers for this logon."""
        return tuple(Chain.from_json(chain) for chain in call_json("aa_logon_chains_json", self._handle.get()))

    @property
    def response(self) -> Dict[str, Any]:
        """The server's last answer exactly as received, for fields without an accessor."""
        answer: Dict[str, Any] = call_json("aa_logon_response_json", self._handle.get())
        return answer

    def user_field(self, name: str) -> Optional[str]:
        """A ``user_*`` field of the last answer by its AA name (``"user_email"``…), if sent."""
        return call_optional_string("aa_logon_user_field", self._handle.get(), encode(name, "name"))

    @property
    def user(self) -> User:
        """The user of the last answer, from its ``user_*`` fields (one C call:
        ``aa_logon_user_json``)."""
        data = call_json("aa_logon_user_json", self._handle.get())
        if not isinstance(data, dict):
            raise MalformedServerDataError(
                f"aa_logon_user_json gave {type(data).__name__}, not an object", status=Status.MALFORMED_SERVER_DATA
            )
        return User.from_fields({str(name): str(value) for name, value in data.items() if value is not None})


def _append_json_string(out: bytearray, text: Union[bytes, bytearray]) -> None:
    """Appends ``text`` (UTF-8) to ``out`` as a JSON string, escaping byte by byte so no other
    copy of a secret is made."""
    if b"\0" in text:
        raise ValueError("a question id or answer must not contain NUL characters")
    out += b'"'
    for byte in text:
        if byte in (0x22, 0x5C):  # " and \
            out += bytes((0x5C, byte))
        elif byte < 0x20:
            out += b"\\u%04x" % byte
        else:
            out.append(byte)
    out += b'"'


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value
