"""Loading ``libaa_logon`` (and, for tests, ``libaa_logon_testkit``) and declaring their C
functions for ctypes.

Every signature comes from ``_generated.FUNCTIONS``, which ``cargo run -p xtask -- bindings``
writes from the two headers: explicit ``argtypes`` and ``restype`` for every function (never
ctypes' default ``int``); handles are ``c_void_p``; strings the library hands out through
``char **`` are received as ``c_void_p`` so the pointer survives, copied, then given back to
``aa_string_free``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from ctypes import c_size_t
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from ._generated import AA_LOGON_VERSION_MAJOR, FUNCTIONS, LIBRARY, TESTKIT_LIBRARY

LIBRARY_ENV_VAR = "AA_LOGON_LIBRARY"
"""Environment variable naming the libaa_logon shared library file to load."""

TESTKIT_LIBRARY_ENV_VAR = "AA_LOGON_TESTKIT_LIBRARY"
"""Environment variable naming the test-only libaa_logon_testkit shared library file to load."""

SUPPORTED_MAJOR_VERSION = AA_LOGON_VERSION_MAJOR
"""The library's major version this binding was generated for (``AA_LOGON_VERSION_MAJOR``)."""

BOUND_FUNCTIONS: Tuple[str, ...] = tuple(FUNCTIONS)
"""Every C function this binding declares, of both libraries (the header-coverage check reads this)."""


class LibraryLoadError(ImportError):
    """``libaa_logon`` could not be found or loaded, or is not a version this binding supports."""


@dataclass(frozen=True)
class _Spec:
    """How to find one of the two libraries."""

    library: str
    """Its name in ``FUNCTIONS`` (``"aa_logon"``), also the ``find_library`` name."""
    env_var: str

    @property
    def title(self) -> str:
        return f"lib{self.library}"

    def file_name(self) -> str:
        if sys.platform == "win32":
            return f"{self.library}.dll"
        if sys.platform == "darwin":
            return f"lib{self.library}.dylib"
        return f"lib{self.library}.so"

    def system_candidates(self) -> List[str]:
        candidates: List[str] = []
        found = ctypes.util.find_library(self.library)
        if found:
            candidates.append(found)
        if sys.platform not in ("win32", "darwin"):
            candidates.append(f"lib{self.library}.so.0")  # the SONAME ldconfig links (both libraries)
            candidates.append(f"lib{self.library}.so")
        else:
            candidates.append(self.file_name())
        return candidates


_LIBRARY_SPEC = _Spec(LIBRARY, LIBRARY_ENV_VAR)
_TESTKIT_SPEC = _Spec(TESTKIT_LIBRARY, TESTKIT_LIBRARY_ENV_VAR)


class NativeLibrary:
    """A loaded shared library with every function of its header declared.

    The declared functions are attributes (``lib.aa_client_new(...)``) looked up in
    :attr:`functions`, the one place they live (tests wrap entries there to count calls).
    """

    def __init__(self, cdll: ctypes.CDLL, path: str, spec: _Spec = _LIBRARY_SPEC) -> None:
        self.cdll = cdll
        self.path = path
        self.name = spec.title
        self.functions: Dict[str, Any] = {}
        missing = []
        for name, (library, restype, argtypes) in FUNCTIONS.items():
            if library != spec.library:
                continue
            function = getattr(cdll, name, None)
            if function is None:
                missing.append(name)
                continue
            function.restype = restype
            function.argtypes = argtypes
            self.functions[name] = function
        if missing:
            raise LibraryLoadError(f"{path} is not a compatible {spec.title}: it lacks the function {missing[0]}")

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set on the instance: the C functions.
        functions: Optional[Dict[str, Any]] = self.__dict__.get("functions")
        if functions is not None and name in functions:
            return functions[name]
        raise AttributeError(name)

    def failure_text(self, status: int) -> str:
        """A description of a failure ``status`` this library returned."""
        return f"status {status}"


class AaLogonLibrary(NativeLibrary):
    """``libaa_logon``."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        super().__init__(cdll, path, _LIBRARY_SPEC)
        version = self.version()
        major = version.split(".", 1)[0]
        if major != str(SUPPORTED_MAJOR_VERSION):
            raise LibraryLoadError(
                f"{path} is libaa_logon {version}; this binding needs major version {SUPPORTED_MAJOR_VERSION}"
            )

    def version(self) -> str:
        raw: bytes = self.functions["aa_version"]()
        return raw.decode("utf-8")

    def status_text(self, status: int) -> str:
        raw: bytes = self.functions["aa_status_str"](status)
        return raw.decode("utf-8", errors="replace")

    def failure_text(self, status: int) -> str:
        return self.status_text(status)

    def take_string(self, pointer: ctypes.c_void_p) -> str:
        """Copies a library-owned string out of ``pointer`` and frees it through the library."""
        address = pointer.value
        if address is None:
            return ""
        try:
            return ctypes.string_at(address).decode("utf-8")
        finally:
            self.functions["aa_string_free"](address)

    def live_objects(self) -> int:
        count = c_size_t()
        status = self.functions["aa_live_objects"](ctypes.byref(count))
        if status != 0:
            raise RuntimeError(f"aa_live_objects failed: {self.status_text(status)}")
        return count.value


class TestkitLibrary(NativeLibrary):
    """``libaa_logon_testkit``: its functions return aa_status numbers and leave the message of
    a failure for :meth:`last_error`."""

    __test__ = False  # not a pytest test class

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        super().__init__(cdll, path, _TESTKIT_SPEC)

    def last_error(self) -> str:
        """The message of this thread's last failed testkit call ("" before any)."""
        function = self.functions["aa_testkit_last_error"]
        length: int = function(None, 0)
        if length == 0:
            return ""
        buffer = ctypes.create_string_buffer(length + 1)
        function(buffer, len(buffer))
        return buffer.value.decode("utf-8", errors="replace")

    def failure_text(self, status: int) -> str:
        return self.last_error() or f"status {status}"

    def live_objects(self) -> int:
        count = c_size_t()
        status = self.functions["aa_testkit_live_objects"](ctypes.byref(count))
        if status != 0:
            raise RuntimeError(f"aa_testkit_live_objects failed: {self.failure_text(status)}")
        return count.value


_Library = TypeVar("_Library", bound=NativeLibrary)


def _load(spec: _Spec, make: Callable[[ctypes.CDLL, str], _Library]) -> _Library:
    attempts: List[str] = []

    def try_load(path: str, place: str) -> Optional[_Library]:
        try:
            return make(ctypes.CDLL(path), path)
        except OSError as error:
            attempts.append(f"  - {place}: {path}: {error}")
            return None

    configured = os.environ.get(spec.env_var)
    if configured:
        # An explicit choice is honoured or reported, never silently replaced by another copy.
        loaded = try_load(configured, f"${spec.env_var}")
        if loaded is not None:
            return loaded
    else:
        attempts.append(f"  - ${spec.env_var}: not set")
        bundled = Path(__file__).resolve().parent / spec.file_name()
        if bundled.exists():
            loaded = try_load(str(bundled), "next to the aa_logon package")
            if loaded is not None:
                return loaded
        else:
            attempts.append(f"  - next to the aa_logon package: {bundled}: no such file")
        for candidate in spec.system_candidates():
            loaded = try_load(candidate, "system library path")
            if loaded is not None:
                return loaded
    raise LibraryLoadError(
        f"cannot load {spec.title}. The aa_logon package looks in three places, in this order: "
        f"the file named by the environment variable {spec.env_var}, {spec.file_name()} next to the "
        "package, and the system library path (ld.so / ctypes.util.find_library). Tried:\n"
        + "\n".join(attempts)
    )


_lock = threading.Lock()
_library: Optional[AaLogonLibrary] = None
_testkit: Optional[TestkitLibrary] = None


def library() -> AaLogonLibrary:
    """The process-wide libaa_logon, loaded on first use."""
    global _library
    loaded = _library
    if loaded is not None:
        return loaded
    with _lock:
        if _library is None:
            _library = _load(_LIBRARY_SPEC, AaLogonLibrary)
        return _library


def load_testkit() -> TestkitLibrary:
    """The process-wide test-only libaa_logon_testkit, loaded on first use (raises
    :class:`LibraryLoadError` when it cannot be found)."""
    global _testkit
    loaded = _testkit
    if loaded is not None:
        return loaded
    with _lock:
        if _testkit is None:
            _testkit = _load(_TESTKIT_SPEC, TestkitLibrary)
        return _testkit
