"""Loading ``libaa_logon`` and declaring every C function of ``aa_logon.h`` for ctypes.

Every function gets explicit ``argtypes`` and ``restype`` (never ctypes' default ``int``):
handles are ``c_void_p``; strings the library hands out through ``char **`` are received as
``c_void_p`` so the pointer survives, copied, then given back to ``aa_string_free``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_size_t, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

LIBRARY_ENV_VAR = "AA_LOGON_LIBRARY"
"""Environment variable naming the shared library file to load."""

SUPPORTED_MAJOR_VERSION = 0
"""The library's major version this binding was written for (``AA_LOGON_VERSION_MAJOR``)."""

#: ``aa_status`` is a ``uint32_t`` on every compiler.
STATUS = c_uint32
#: Any handle (``aa_client *``, ``aa_logon *``…) or library string.
HANDLE = c_void_p
#: ``T **`` out-parameters for handles and strings.
OUT_POINTER = POINTER(c_void_p)

#: ``void (*aa_prompt_callback)(void *userdata, aa_prompt prompt)``
PROMPT_CALLBACK = CFUNCTYPE(None, c_void_p, c_uint32)
#: ``void (*aa_log_callback)(void *userdata, aa_log_level level, const char *message)``
LOG_CALLBACK = CFUNCTYPE(None, c_void_p, c_uint32, c_char_p)

_Signature = Tuple[Any, Sequence[Any]]

_FUNCTIONS: Dict[str, _Signature] = {
    # Library-wide.
    "aa_live_objects": (STATUS, [POINTER(c_size_t)]),
    "aa_string_free": (STATUS, [c_void_p]),
    "aa_status_str": (c_char_p, [c_uint32]),
    "aa_version": (c_char_p, []),
    "aa_set_log_callback": (STATUS, [LOG_CALLBACK, c_void_p, c_uint32]),
    "aa_log_level_str": (c_char_p, [c_uint32]),
    # Client options.
    "aa_client_options_new": (STATUS, [c_char_p, c_char_p, c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_client_options_set_ca_file": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_client_options_set_pinned_public_key": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_client_options_set_timeouts": (STATUS, [HANDLE, c_uint32, c_uint32, OUT_POINTER]),
    "aa_client_options_set_proxy": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_client_options_set_user_agent": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_client_options_set_max_response_bytes": (STATUS, [HANDLE, c_uint64, OUT_POINTER]),
    "aa_client_options_danger_disable_tls_verification": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_client_options_free": (STATUS, [HANDLE]),
    # Client.
    "aa_client_new": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_client_free": (STATUS, [HANDLE]),
    "aa_client_chains_json": (STATUS, [HANDLE, c_char_p, c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_client_login_session_json": (STATUS, [HANDLE, c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_client_logout": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_client_devices_json": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    # Errors.
    "aa_error_status": (STATUS, [HANDLE, POINTER(c_uint32)]),
    "aa_error_message": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_error_http_status": (STATUS, [HANDLE, POINTER(c_uint16)]),
    "aa_error_msgid": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_error_reason": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_error_free": (STATUS, [HANDLE]),
    # Logon.
    "aa_logon_new": (STATUS, [HANDLE, c_char_p, c_char_p, c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_logon_free": (STATUS, [HANDLE]),
    "aa_logon_gather_sign_request": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_sign_request_count": (STATUS, [HANDLE, POINTER(c_size_t), OUT_POINTER]),
    "aa_logon_sign_request_field": (STATUS, [HANDLE, c_size_t, c_uint32, OUT_POINTER, OUT_POINTER]),
    "aa_logon_sign_with_device": (STATUS, [HANDLE, c_uint32, PROMPT_CALLBACK, c_void_p, OUT_POINTER]),
    "aa_logon_forward_sign_response": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_logon_sign_response_json": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_answer": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_logon_request_challenge": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_logon_next": (STATUS, [HANDLE, c_char_p, OUT_POINTER]),
    "aa_logon_abort": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_logon_cancel": (STATUS, [HANDLE]),
    "aa_logon_server_status": (STATUS, [HANDLE, POINTER(c_uint32), OUT_POINTER]),
    "aa_logon_message": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_reason": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_msgid": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_current_method": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_process_id": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_login_session_id": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_user_field": (STATUS, [HANDLE, c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_logon_completed_methods_json": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_chains_json": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
    "aa_logon_response_json": (STATUS, [HANDLE, OUT_POINTER, OUT_POINTER]),
}

# Present only in libraries built with the test-only `virtual-device` feature.
_VIRTUAL_DEVICE_FUNCTIONS: Dict[str, _Signature] = {
    "aa_virtual_key_new": (STATUS, [c_char_p, OUT_POINTER, OUT_POINTER]),
    "aa_virtual_key_set_presence": (STATUS, [HANDLE, c_uint32, c_uint32, OUT_POINTER]),
    "aa_virtual_key_touch": (STATUS, [HANDLE, OUT_POINTER]),
    "aa_virtual_key_counter": (STATUS, [HANDLE, POINTER(c_uint32), OUT_POINTER]),
    "aa_virtual_key_free": (STATUS, [HANDLE]),
    "aa_client_attach_virtual_key": (STATUS, [HANDLE, HANDLE, OUT_POINTER]),
    "aa_client_detach_virtual_key": (STATUS, [HANDLE, HANDLE, OUT_POINTER]),
}

BOUND_FUNCTIONS: Tuple[str, ...] = tuple(_FUNCTIONS) + tuple(_VIRTUAL_DEVICE_FUNCTIONS)
"""Every C function this binding declares (the header-coverage check reads this)."""


class LibraryLoadError(ImportError):
    """``libaa_logon`` could not be found or loaded, or is not a version this binding supports."""


class NativeLibrary:
    """The loaded shared library with every function declared."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        missing = _declare(cdll, _FUNCTIONS)
        if missing:
            raise LibraryLoadError(f"{path} is not a compatible libaa_logon: it lacks the function {missing[0]}")
        self.has_virtual_device = not _declare(cdll, _VIRTUAL_DEVICE_FUNCTIONS)
        version = self.version()
        major = version.split(".", 1)[0]
        if major != str(SUPPORTED_MAJOR_VERSION):
            raise LibraryLoadError(
                f"{path} is libaa_logon {version}; this binding needs major version {SUPPORTED_MAJOR_VERSION}"
            )

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set on the instance: the C functions.
        if name in _FUNCTIONS or (name in _VIRTUAL_DEVICE_FUNCTIONS and self.has_virtual_device):
            return getattr(self.cdll, name)
        raise AttributeError(name)

    def version(self) -> str:
        raw: bytes = self.cdll.aa_version()
        return raw.decode("utf-8")

    def status_text(self, status: int) -> str:
        raw: bytes = self.cdll.aa_status_str(status)
        return raw.decode("utf-8", errors="replace")

    def take_string(self, pointer: c_void_p) -> str:
        """Copies a library-owned string out of ``pointer`` and frees it through the library."""
        address = pointer.value
        if address is None:
            return ""
        try:
            return ctypes.string_at(address).decode("utf-8")
        finally:
            self.cdll.aa_string_free(address)

    def live_objects(self) -> int:
        count = c_size_t()
        status = self.cdll.aa_live_objects(ctypes.byref(count))
        if status != 0:
            raise RuntimeError(f"aa_live_objects failed: {self.status_text(status)}")
        return count.value


def _declare(cdll: ctypes.CDLL, functions: Dict[str, _Signature]) -> List[str]:
    """Sets the signature of each function ``cdll`` exports; returns the names it lacks."""
    missing = []
    for name, (restype, argtypes) in functions.items():
        function = getattr(cdll, name, None)
        if function is None:
            missing.append(name)
            continue
        function.restype = restype
        function.argtypes = list(argtypes)
    return missing


def _file_name() -> str:
    if sys.platform == "win32":
        return "aa_logon.dll"
    if sys.platform == "darwin":
        return "libaa_logon.dylib"
    return "libaa_logon.so"


def _system_candidates() -> List[str]:
    candidates: List[str] = []
    found = ctypes.util.find_library("aa_logon")
    if found:
        candidates.append(found)
    if sys.platform not in ("win32", "darwin"):
        candidates += ["libaa_logon.so.0", "libaa_logon.so"]
    else:
        candidates.append(_file_name())
    return candidates


def _load() -> NativeLibrary:
    attempts: List[str] = []

    def try_load(path: str, place: str) -> Optional[NativeLibrary]:
        try:
            return NativeLibrary(ctypes.CDLL(path), path)
        except OSError as error:
            attempts.append(f"  - {place}: {path}: {error}")
            return None

    configured = os.environ.get(LIBRARY_ENV_VAR)
    if configured:
        # An explicit choice is honoured or reported, never silently replaced by another copy.
        loaded = try_load(configured, f"${LIBRARY_ENV_VAR}")
        if loaded is not None:
            return loaded
    else:
        attempts.append(f"  - ${LIBRARY_ENV_VAR}: not set")
        bundled = Path(__file__).resolve().parent / _file_name()
        if bundled.exists():
            loaded = try_load(str(bundled), "next to the aa_logon package")
            if loaded is not None:
                return loaded
        else:
            attempts.append(f"  - next to the aa_logon package: {bundled}: no such file")
        for candidate in _system_candidates():
            loaded = try_load(candidate, "system library path")
            if loaded is not None:
                return loaded
    raise LibraryLoadError(
        "cannot load libaa_logon. The aa_logon package looks in three places, in this order: "
        f"the file named by the environment variable {LIBRARY_ENV_VAR}, {_file_name()} next to the "
        "package, and the system library path (ld.so / ctypes.util.find_library). Tried:\n"
        + "\n".join(attempts)
    )


_lock = threading.Lock()
_library: Optional[NativeLibrary] = None


def library() -> NativeLibrary:
    """The process-wide library, loaded on first use."""
    global _library
    loaded = _library
    if loaded is not None:
        return loaded
    with _lock:
        if _library is None:
            _library = _load()
        return _library
