"""The binding against the headers: every C function of both libraries is declared, with the
library that exports it; enums, constants and structs match the C declarations; status codes map
to the documented exceptions; and the library's log reaches Python."""

from __future__ import annotations

import ctypes
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
    DeviceCodeKind,
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
from aa_logon import _generated
from aa_logon._native import library, load_testkit
from aa_logon.errors import error_class
from aa_logon.testing import Presence

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "aa_logon.h"
TESTKIT_HEADER = REPO / "testkit" / "capi" / "include" / "aa_logon_testkit.h"
FUNCTION_PATTERN = r"^\s*(?:const\s+)?[a-z_0-9]+\s*\*?\s*(aa_[a-z_0-9]+)\("


def header_text(header: Path = HEADER) -> str:
    return header.read_text(encoding="utf-8")


def header_enum(name: str) -> dict[str, int]:
    text = header_text() + header_text(TESTKIT_HEADER)
    body = re.search(r"enum " + name + r"\b[^{]*\{(.*?)\};", text, re.S)
    assert body is not None, f"enum {name} not in the headers"
    return {constant: int(value) for constant, value in re.findall(r"\b([A-Z][A-Z0-9_]+) = (\d+)", body.group(1))}


def test_every_header_function_is_bound_and_nothing_else() -> None:
    exported = set(re.findall(FUNCTION_PATTERN, header_text(), re.M))
    testkit_exported = set(re.findall(FUNCTION_PATTERN, header_text(TESTKIT_HEADER), re.M))
    assert len(exported) > 40 and len(testkit_exported) > 10
    assert exported | testkit_exported == set(aa_logon.BOUND_FUNCTIONS)
    # ... each declared for the library that exports it, and found there.
    assert {name for name, (lib, _, _) in _generated.FUNCTIONS.items() if lib == _generated.LIBRARY} == exported
    assert set(library().functions) == exported
    assert set(load_testkit().functions) == testkit_exported


def test_every_header_enum_is_generated() -> None:
    text = header_text() + header_text(TESTKIT_HEADER)
    names = set(re.findall(r"^enum (aa_[a-z_0-9]+)", text, re.M))
    assert names == set(_generated.ENUMS)
    for name, python_enum in _generated.ENUMS.items():
        prefix = name.upper() + "_"
        expected = {constant[len(prefix):]: value for constant, value in header_enum(name).items()}
        assert {member.name: member.value for member in python_enum} == expected


def test_defines_are_constants() -> None:
    text = header_text()
    for name in ("AA_LOGON_VERSION_MAJOR", "AA_LOGON_MAX_ARGUMENT_LEN", "AA_HID_REPORT_LEN"):
        value = re.search(rf"#define {name} (\d+)", text)
        assert value is not None
        assert getattr(_generated, name) == int(value.group(1))
    assert aa_logon.REPORT_LEN == 64


def test_hid_structs_have_the_c_layout() -> None:
    text = header_text()
    for struct in (_generated.aa_hid_io, _generated.aa_hid_device_info):
        body = re.search(r"typedef struct " + struct.__name__ + r" \{(.*?)\}", text, re.S)
        assert body is not None
        declared = re.findall(r"(\w+);", re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S))
        assert [field[0] for field in struct._fields_] == declared
    pointer = ctypes.sizeof(ctypes.c_void_p)
    assert ctypes.sizeof(_generated.aa_hid_io) == 7 * pointer
    assert _generated.aa_hid_device_info.vendor_id.offset == pointer
    assert _generated.aa_hid_device_info.manufacturer.offset == 2 * pointer


@pytest.mark.parametrize(
    ("c_enum", "prefix", "python_enum"),
    [
        ("aa_status", "AA_STATUS_", Status),
        ("aa_server_status", "AA_SERVER_STATUS_", ServerStatus),
        ("aa_prompt", "AA_PROMPT_", Prompt),
        ("aa_log_level", "AA_LOG_LEVEL_", LogLevel),
        ("aa_presence", "AA_PRESENCE_", Presence),
        ("aa_device_code_kind", "AA_DEVICE_CODE_KIND_", DeviceCodeKind),
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
