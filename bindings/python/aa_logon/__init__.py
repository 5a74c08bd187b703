"""Log users on to NetIQ / OpenText Advanced Authentication with U2F security keys.

A ctypes binding of ``libaa_logon``::

    from aa_logon import Client, Prompt

    with Client("https://aa.example.com", endpoint_id, endpoint_secret) as client:
        with client.logon("JAGUAR\\\\denis", "Search Card", "U2F:1") as logon:
            logon.sign_with_device(timeout=30, prompt=lambda p: print(p.name))
            print(logon.user.name, logon.login_session_id)

With ``failover_urls`` a client serves the servers of an AA cluster, moving to the next one
when a server is down (see :class:`Client`); ``Client.current_server`` and ``Logon.server`` tell
which one answered.

The shared library is looked up in ``$AA_LOGON_LIBRARY``, next to this package, then on the
system library path. ``Client.set_hid_io`` plugs in another way to reach security keys
(:class:`HidIo`, written in Python, or a :class:`NativeHidIo` from a C library).
"""

from __future__ import annotations

from ._generated import AA_LOGON_VERSION_MAJOR, AA_LOGON_VERSION_MINOR, AA_LOGON_VERSION_PATCH
from ._native import BOUND_FUNCTIONS, LIBRARY_ENV_VAR, TESTKIT_LIBRARY_ENV_VAR, LibraryLoadError, library
from .client import Client
from .errors import (
    AaError,
    Cancelled,
    ClosedError,
    ConfigError,
    DeviceCodeKind,
    DeviceError,
    HandleBusyError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    LogonFailed,
    LogonStopped,
    MalformedServerDataError,
    MisuseError,
    NetworkError,
    NetworkTimeoutError,
    NoDeviceError,
    NoMatchingKeyError,
    NotAvailableError,
    PinBlockedError,
    PinInvalidError,
    PinRequiredError,
    SecurityKeyError,
    ServerError,
    Status,
    TlsError,
    UserPresenceTimeout,
    UvFailedError,
)
from .hid import REPORT_LEN, HidIo, NativeHidIo
from .log import forward_to_logging, set_log_handler
from .logon import Logon, PinHandler, PromptHandler, ResponseJson, Secret
from .types import Chain, DeviceInfo, LoginSession, LogLevel, Prompt, ServerStatus, SignRequest, User, UserChains

__version__ = f"{AA_LOGON_VERSION_MAJOR}.{AA_LOGON_VERSION_MINOR}.{AA_LOGON_VERSION_PATCH}"
"""This package's version: the C header's (``aa_logon.h``), which is the Cargo workspace version,
as is the wheel's (setup.py checks the two agree)."""


def library_version() -> str:
    """The loaded libaa_logon's version ("MAJOR.MINOR.PATCH")."""
    return library().version()


def library_path() -> str:
    """The file (or name) the shared library was loaded from."""
    return library().path


def status_description(status: int) -> str:
    """The library's description of a status code."""
    return library().status_text(int(status))


__all__ = [
    "BOUND_FUNCTIONS",
    "LIBRARY_ENV_VAR",
    "REPORT_LEN",
    "TESTKIT_LIBRARY_ENV_VAR",
    "AaError",
    "Cancelled",
    "Chain",
    "Client",
    "ClosedError",
    "ConfigError",
    "DeviceCodeKind",
    "DeviceError",
    "DeviceInfo",
    "HandleBusyError",
    "HidIo",
    "InternalError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "InvalidStateError",
    "LibraryLoadError",
    "LogLevel",
    "LoginSession",
    "Logon",
    "LogonFailed",
    "LogonStopped",
    "MalformedServerDataError",
    "MisuseError",
    "NativeHidIo",
    "NetworkError",
    "NetworkTimeoutError",
    "NoDeviceError",
    "NoMatchingKeyError",
    "NotAvailableError",
    "PinBlockedError",
    "PinHandler",
    "PinInvalidError",
    "PinRequiredError",
    "Prompt",
    "PromptHandler",
    "ResponseJson",
    "Secret",
    "SecurityKeyError",
    "ServerError",
    "ServerStatus",
    "SignRequest",
    "Status",
    "TlsError",
    "User",
    "UserChains",
    "UserPresenceTimeout",
    "UvFailedError",
    "forward_to_logging",
    "library_path",
    "library_version",
    "set_log_handler",
    "status_description",
]
