"""Status codes of the C API and the exceptions they map to.

Every failing library call raises a subclass of :class:`AaError` that carries the status code,
the library's complete message and, when the AA server sent them, its ``msgid``, ``reason`` and
HTTP status; security key failures also carry the key's own error code when it sent one.
:class:`Status` and :class:`DeviceCodeKind` are generated from ``aa_logon.h``.
"""

from __future__ import annotations

import builtins
from typing import Dict, Optional, Type, Union

from ._generated import DeviceCodeKind, Status


def status_from_int(value: int) -> Union[Status, int]:
    """The :class:`Status` member for ``value``, or the plain number for a code this binding
    does not know yet (newer library)."""
    try:
        return Status(value)
    except ValueError:
        return value


def device_code_kind_from_int(value: int) -> Union[DeviceCodeKind, int]:
    """The :class:`DeviceCodeKind` member for ``value``, or the plain number for a family this
    binding does not know yet (newer library)."""
    try:
        return DeviceCodeKind(value)
    except ValueError:
        return value


class AaError(Exception):
    """Base class of every error reported by the library.

    Attributes:
        status: the C API status code (a :class:`Status`, or an ``int`` for unknown codes).
        message: the library's readable, complete description of the failure.
        msgid: the AA server's message id (e.g. ``"AUCORE-2007"``), if it sent one.
        reason: the AA server's reason (e.g. ``"PASSWORD_WRONG"``), if it sent one.
        http_status: the HTTP status of the AA server's answer, if the failure came from one.
        device_code_kind: for a failure a security key reported (mostly :class:`DeviceError`),
            the family of its own code (a :class:`DeviceCodeKind`: a CTAPHID error byte, an
            ISO 7816 status word, a CTAP2 status); ``None`` when the failure carries none.
        device_code: that code (e.g. ``0x6F00``), or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Union[Status, int],
        msgid: Optional[str] = None,
        reason: Optional[str] = None,
        http_status: Optional[int] = None,
        device_code_kind: Optional[Union[DeviceCodeKind, int]] = None,
        device_code: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.status: Union[Status, int] = status
        self.message: str = message
        self.msgid: Optional[str] = msgid
        self.reason: Optional[str] = reason
        self.http_status: Optional[int] = http_status
        self.device_code_kind: Optional[Union[DeviceCodeKind, int]] = device_code_kind
        self.device_code: Optional[int] = device_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        status = self.status.name if isinstance(self.status, Status) else str(self.status)
        details = [f"status={status}", f"message={self.message!r}"]
        if self.msgid is not None:
            details.append(f"msgid={self.msgid!r}")
        if self.reason is not None:
            details.append(f"reason={self.reason!r}")
        if self.http_status is not None:
            details.append(f"http_status={self.http_status}")
        if self.device_code_kind is not None:
            kind = self.device_code_kind
            details.append(f"device_code_kind={kind.name if isinstance(kind, DeviceCodeKind) else kind}")
        if self.device_code is not None:
            details.append(f"device_code=0x{self.device_code:04X}")
        return f"{type(self).__name__}({', '.join(details)})"


class MisuseError(AaError):
    """The API was called wrongly (status 1–9): bad argument, bad handle, wrong state…"""


class InvalidArgumentError(MisuseError, ValueError):
    """An argument was rejected by the library (NULL, not UTF-8, too long, not allowed)."""


class InvalidHandleError(MisuseError):
    """The object's native handle is not valid (freed, foreign or of another type)."""


class ClosedError(InvalidHandleError):
    """The Python object was closed; it cannot be used any more."""

    def __init__(self, what: str) -> None:
        super().__init__(f"this {what} is closed and cannot be used any more", status=Status.INVALID_HANDLE)


class InvalidStateError(MisuseError):
    """The call does not fit the logon's state (e.g. a U2F request for PASSWORD:1)."""


class HandleBusyError(MisuseError):
    """Another thread is using this logon right now (only ``cancel()`` may run concurrently)."""


class NotAvailableError(MisuseError):
    """The requested value is not present."""


class InternalError(AaError):
    """The library caught an internal panic; the operation did not complete."""


class ConfigError(AaError):
    """Bad client configuration (URL, CA file, pin, proxy, timeouts)."""


class NetworkError(AaError):
    """The AA server could not be reached or the connection broke."""


class TlsError(NetworkError):
    """The TLS handshake or certificate verification with the AA server failed."""


class NetworkTimeoutError(NetworkError, builtins.TimeoutError):
    """A connect or request timeout elapsed, or ``Logon.wait_for_approval`` got no verdict in time
    (the logon then lives on); also catchable as the built-in ``TimeoutError``."""


class ServerError(AaError):
    """The AA server answered with an HTTP error; see ``http_status``, ``msgid`` and ``reason``."""


class MalformedServerDataError(ServerError):
    """The AA server's answer was not the documented JSON (or exceeded the size cap)."""


class LogonFailed(AaError):
    """The AA server rejected the attempt (status FAILED); see ``msgid`` and ``reason``."""


class LogonStopped(AaError):
    """The AA server stopped the logon (status STOP)."""


class SecurityKeyError(AaError):
    """Base class of the security key failures (status 400–499 except cancellation)."""


class NoDeviceError(SecurityKeyError):
    """No security key was found before the timeout."""


class NoMatchingKeyError(SecurityKeyError):
    """Security keys are present but none owns a key handle of the sign request."""


class UserPresenceTimeout(SecurityKeyError, builtins.TimeoutError):
    """The security key was not touched before the timeout."""


class DeviceError(SecurityKeyError):
    """A security key broke the CTAPHID/U2F protocol, reported an error, or was removed; when the
    key sent an error code, ``device_code_kind`` and ``device_code`` carry it."""


class PinInvalidError(SecurityKeyError):
    """The PIN given for the security key was wrong. The message says how many retries are left;
    ``device_code`` is the CTAP2 status 0x31 (PIN_INVALID)."""


class PinBlockedError(SecurityKeyError):
    """The security key's PIN is blocked (no retries left, or too many wrong PINs since the key was
    plugged in: unplug it and plug it in again)."""


class PinRequiredError(SecurityKeyError):
    """The request needs user verification and the key needs its PIN, but no PIN was given (no
    ``pin`` callable, or it returned ``None``); also a key with no PIN set and no built-in user
    verification."""


class UvFailedError(SecurityKeyError):
    """The security key's built-in user verification (fingerprint…) failed or is blocked."""


class Cancelled(AaError):
    """The operation was cancelled with ``Logon.cancel()``."""


_CLASSES: Dict[int, Type[AaError]] = {
    Status.NULL_ARGUMENT: InvalidArgumentError,
    Status.INVALID_UTF8: InvalidArgumentError,
    Status.ARGUMENT_TOO_LONG: InvalidArgumentError,
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.INVALID_HANDLE: InvalidHandleError,
    Status.INVALID_STATE: InvalidStateError,
    Status.HANDLE_BUSY: HandleBusyError,
    Status.PANIC: InternalError,
    Status.NOT_AVAILABLE: NotAvailableError,
    Status.CONFIG: ConfigError,
    Status.TLS: TlsError,
    Status.NETWORK: NetworkError,
    Status.TIMEOUT: NetworkTimeoutError,
    Status.SERVER_ERROR: ServerError,
    Status.LOGON_FAILED: LogonFailed,
    Status.LOGON_STOPPED: LogonStopped,
    Status.MALFORMED_SERVER_DATA: MalformedServerDataError,
    Status.NO_DEVICE: NoDeviceError,
    Status.NO_MATCHING_KEY: NoMatchingKeyError,
    Status.USER_PRESENCE_TIMEOUT: UserPresenceTimeout,
    Status.CANCELLED: Cancelled,
    Status.DEVICE_ERROR: DeviceError,
    Status.PIN_INVALID: PinInvalidError,
    Status.PIN_BLOCKED: PinBlockedError,
    Status.PIN_REQUIRED: PinRequiredError,
    Status.UV_FAILED: UvFailedError,
}


def error_class(status: int) -> Type[AaError]:
    """The exception class for a failure ``status``; unknown codes fall back to their group."""
    known = _CLASSES.get(status)
    if known is not None:
        return known
    if 1 <= status <= 99:
        return MisuseError
    if 200 <= status <= 299:
        return NetworkError
    if 300 <= status <= 399:
        return ServerError
    if 400 <= status <= 499:
        return SecurityKeyError
    return AaError


__all__ = [
    "AaError",
    "Cancelled",
    "ClosedError",
    "ConfigError",
    "DeviceCodeKind",
    "DeviceError",
    "HandleBusyError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "InvalidStateError",
    "LogonFailed",
    "LogonStopped",
    "MalformedServerDataError",
    "MisuseError",
    "NetworkError",
    "NetworkTimeoutError",
    "NoDeviceError",
    "NoMatchingKeyError",
    "NotAvailableError",
    "SecurityKeyError",
    "ServerError",
    "Status",
    "TlsError",
    "UserPresenceTimeout",
    "device_code_kind_from_int",
    "error_class",
    "status_from_int",
]
