"""The binding against the header: every C function is declared, enums match their C values,
status codes map to the documented exceptions, and the library's log reaches Python."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import List, Tuple

import pytest
from conftest import Simulator

import aa_logon
from aa_logon import (
    AaError,
    Cancelled,
    ConfigError,
    DeviceError,
    LogLevel,
    LogonFailed,
    LogonStopped,
    MisuseError,
    NetworkError,
    NetworkTimeoutError,
    NoDeviceError,
    NoMatchingKeyError,
    Prompt,
    ServerError,
    ServerStatus,
    Status,
    TlsError,
    UserPresenceTimeout,
)
from aa_logon.errors import error_class
from aa_logon.testing import Presence

HEADER = Path(__file__).resolve().parents[3] / "include" / "aa_logon.h"


def header_text() -> str:
    return HEADER.read_text(encoding="utf-8")


def header_enum(name: str) -> dict[str, int]:
    body = re.search(r"enum " + name + r"\b[^{]*\{(.*?)\};", header_text(), re.S)
    assert body is not None, f"enum {name} not in {HEADER}"
    return {constant: int(value) for constant, value in re.findall(r"\b([A-Z][A-Z0-9_]+) = (\d+)", body.group(1))}


def test_every_header_function_is_bound_and_nothing_else() -> None:
    exported = set(re.findall(r"^\s*(?:const\s+)?[a-z_0-9]+\s*\*?\s*(aa_[a-z_0-9]+)\(", header_text(), re.M))
    assert len(exported) > 40
    assert exported == set(aa_logon.BOUND_FUNCTIONS)


@pytest.mark.parametrize(
    ("c_enum", "prefix", "python_enum"),
    [
        ("aa_status", "AA_STATUS_", Status),
        ("aa_server_status", "AA_SERVER_STATUS_", ServerStatus),
        ("aa_prompt", "AA_PROMPT_", Prompt),
        ("aa_log_level", "AA_LOG_LEVEL_", LogLevel),
        ("aa_presence", "AA_PRESENCE_", Presence),
    ],
)
def test_enums_match_the_header(c_enum: str, prefix: str, python_enum: type) -> None:
    expected = {name[len(prefix):]: value for name, value in header_enum(c_enum).items()}
    assert {member.name: member.value for member in python_enum} == expected  # type: ignore[attr-defined]


def test_library_version_matches_the_header() -> None:
    text = header_text()
    version = ".".join(
        re.search(rf"#define AA_LOGON_VERSION_{part} (\d+)", text).group(1)  # type: ignore[union-attr]
        for part in ("MAJOR", "MINOR", "PATCH")
    )
    assert aa_logon.library_version() == version


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.NULL_ARGUMENT, MisuseError),
        (Status.INVALID_HANDLE, MisuseError),
        (Status.HANDLE_BUSY, MisuseError),
        (Status.CONFIG, ConfigError),
        (Status.TLS, TlsError),
        (Status.NETWORK, NetworkError),
        (Status.TIMEOUT, NetworkTimeoutError),
        (Status.SERVER_ERROR, ServerError),
        (Status.LOGON_FAILED, LogonFailed),
        (Status.LOGON_STOPPED, LogonStopped),
        (Status.NO_DEVICE, NoDeviceError),
        (Status.NO_MATCHING_KEY, NoMatchingKeyError),
        (Status.USER_PRESENCE_TIMEOUT, UserPresenceTimeout),
        (Status.CANCELLED, Cancelled),
        (Status.DEVICE_ERROR, DeviceError),
        (299, NetworkError),
        (999, AaError),
    ],
)
def test_status_codes_map_to_exceptions(status: int, expected: type) -> None:
    assert issubclass(error_class(status), expected)
    assert issubclass(error_class(status), AaError)


def test_every_failure_status_has_a_description() -> None:
    for status in Status:
        assert aa_logon.status_description(status) != "unknown status"
    assert aa_logon.status_description(12345) == "unknown status"


def test_log_messages_reach_python(simulator: Simulator) -> None:
    received: List[Tuple[LogLevel, str]] = []
    lock = threading.Lock()

    def collect(level: LogLevel, message: str) -> None:
        with lock:
            received.append((level, message))

    aa_logon.set_log_handler(collect, LogLevel.WARN)
    try:
        simulator.client(danger_disable_tls_verification=True).close()
    finally:
        aa_logon.set_log_handler(None)
    with lock:
        warnings = [message for level, message in received if level is LogLevel.WARN]
    assert warnings, received
    assert all(level <= LogLevel.WARN for level, _ in received)


def test_a_failing_log_handler_is_contained(simulator: Simulator) -> None:
    def broken(level: LogLevel, message: str) -> None:
        raise RuntimeError("handler bug")

    aa_logon.set_log_handler(broken, LogLevel.TRACE)
    try:
        with simulator.client() as client:
            client.chains("JAGUAR\\denis", "Search Card")
    finally:
        aa_logon.set_log_handler(None)
