"""Calling conventions of the C API: argument encoding, ``error_out`` handling, string outputs."""

from __future__ import annotations

import ctypes
import json
import math
import os
from ctypes import c_uint16, c_uint32, c_void_p
from typing import Any, Callable, Optional, Union

from ._native import AaLogonLibrary, NativeLibrary, library
from .errors import AaError, InternalError, Status, device_code_kind_from_int, error_class, status_from_int

NativeFunction = Callable[..., int]


def encode(value: object, name: str) -> bytes:
    """A ``str`` argument as NUL-terminated-safe UTF-8; a clear ``TypeError``/``ValueError`` for
    anything C could not receive intact (a NUL would silently cut the string short)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    return value.encode("utf-8")


def encode_path(value: Union[str, "os.PathLike[str]"], name: str) -> bytes:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return encode(value, name)


def secret_buffer(value: Union[str, bytes, bytearray], name: str) -> ctypes.Array[ctypes.c_char]:
    """A mutable C copy of a secret, so it can be wiped with :func:`wipe` after the call."""
    if isinstance(value, str):
        if "\0" in value:
            raise ValueError(f"{name} must not contain NUL characters")
        data = bytearray(value.encode("utf-8"))
    elif isinstance(value, (bytes, bytearray)):
        if b"\0" in value:
            raise ValueError(f"{name} must not contain NUL bytes")
        data = bytearray(value)
    else:
        raise TypeError(f"{name} must be str, bytes or bytearray, not {type(value).__name__}")
    try:
        buffer = ctypes.create_string_buffer(len(data) + 1)
        if data:
            ctypes.memmove(buffer, (ctypes.c_char * len(data)).from_buffer(data), len(data))
        return buffer
    finally:
        data[:] = bytes(len(data))


def wipe(buffer: ctypes.Array[ctypes.c_char]) -> None:
    ctypes.memset(buffer, 0, ctypes.sizeof(buffer))


def _seconds(seconds: object, name: str) -> float:
    """``seconds`` as a finite number (``TypeError``/``ValueError`` for anything else)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(seconds).__name__}")
    if not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, not {seconds!r}")
    return float(seconds)


def milliseconds(seconds: float, name: str) -> int:
    """A duration in seconds as the C API's ``uint32_t`` milliseconds (at least 1)."""
    value = round(_seconds(seconds, name) * 1000)
    if not 1 <= value <= 0xFFFF_FFFF:
        raise ValueError(f"{name} must be between 0.001 and 4294967.295 seconds, not {seconds!r}")
    return value


def milliseconds_or_zero(seconds: float, name: str) -> int:
    """A duration in seconds as the C API's ``uint64_t`` milliseconds, where 0 has a meaning of
    its own: a positive duration below 1 ms becomes 1 ms, never 0."""
    value = _seconds(seconds, name)
    if value < 0:
        raise ValueError(f"{name} must be 0 or more seconds, not {seconds!r}")
    if value == 0:
        return 0
    result = max(1, round(value * 1000))
    if result > 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError(f"{name} is too long: {seconds!r} seconds")
    return result


def positive_uint32(value: object, name: str) -> int:
    """``value`` as the C API's ``uint32_t``, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= 0xFFFF_FFFF:
        raise ValueError(f"{name} must be between 1 and 4294967295, not {value}")
    return value


def status_error(status: int, message: str) -> AaError:
    """The exception for a failure ``status`` that came without an ``aa_error``."""
    return error_class(status)(message, status=status_from_int(status))


def exception_from(lib: AaLogonLibrary, status: int, error: c_void_p) -> AaError:
    """Builds the exception for a failed call from its ``aa_error`` (then frees it)."""
    handle = error.value
    if handle is None:
        return status_error(status, lib.status_text(status))
    try:
        raw_status = c_uint32(status)
        lib.aa_error_status(handle, ctypes.byref(raw_status))
        message = _error_string(lib, lib.aa_error_message, handle) or lib.status_text(status)
        msgid = _error_string(lib, lib.aa_error_msgid, handle)
        reason = _error_string(lib, lib.aa_error_reason, handle)
        http = c_uint16()
        http_status = http.value if lib.aa_error_http_status(handle, ctypes.byref(http)) == Status.OK else None
        kind, device_code = c_uint32(), c_uint32()
        has_device_code = (
            lib.aa_error_device_code(handle, ctypes.byref(kind), ctypes.byref(device_code)) == Status.OK
        )
    finally:
        lib.aa_error_free(handle)
    code = raw_status.value
    return error_class(code)(
        message,
        status=status_from_int(code),
        msgid=msgid,
        reason=reason,
        http_status=http_status,
        device_code_kind=device_code_kind_from_int(kind.value) if has_device_code else None,
        device_code=device_code.value if has_device_code else None,
    )


def _error_string(lib: AaLogonLibrary, function: NativeFunction, handle: int) -> Optional[str]:
    out = c_void_p()
    if function(handle, ctypes.byref(out)) != Status.OK:
        return None
    return lib.take_string(out)


def call(function_name: str, *args: Any) -> None:
    """Calls a fallible C function whose last parameter is ``aa_error **error_out``."""
    lib = library()
    error = c_void_p()
    status = getattr(lib, function_name)(*args, ctypes.byref(error))
    if status != Status.OK:
        raise exception_from(lib, status, error)


def call_string(function_name: str, *args: Any) -> str:
    """Calls a function whose last two parameters are ``char **out, aa_error **error_out``."""
    out = c_void_p()
    call(function_name, *args, ctypes.byref(out))
    return library().take_string(out)


def call_optional_string(function_name: str, *args: Any) -> Optional[str]:
    """As :func:`call_string`, with ``None`` for ``AA_STATUS_NOT_AVAILABLE``."""
    lib = library()
    out = c_void_p()
    error = c_void_p()
    status = getattr(lib, function_name)(*args, ctypes.byref(out), ctypes.byref(error))
    if status == Status.NOT_AVAILABLE:
        lib.aa_error_free(error.value)
        return None
    if status != Status.OK:
        raise exception_from(lib, status, error)
    return lib.take_string(out)


def call_json(function_name: str, *args: Any) -> Any:
    return json.loads(call_string(function_name, *args))


def written(out: c_void_p, function_name: str) -> int:
    """The handle a successful call wrote to its out-parameter."""
    if out.value is None:
        raise InternalError(f"{function_name} succeeded without writing its handle", status=Status.PANIC)
    return out.value


def check_free(function_name: str, handle: int, what: str, lib: Optional[NativeLibrary] = None) -> None:
    """Frees a handle; a failure here means the binding lost track of it, which must not pass."""
    owner = library() if lib is None else lib
    status = getattr(owner, function_name)(handle)
    if status != Status.OK:
        raise status_error(status, f"freeing the {what} failed: {owner.failure_text(status)}")
