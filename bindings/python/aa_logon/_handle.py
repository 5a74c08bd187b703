"""Ownership of library handles: freed exactly once, refused after that."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Callable, Optional, Type, TypeVar

from ._calls import check_free
from ._native import NativeLibrary, library
from .errors import ClosedError

_Owner = TypeVar("_Owner", bound="HandleOwner")


class NativeHandle:
    """Owns one library handle: frees it exactly once (``close()`` or garbage collection) and
    refuses use after that with :class:`ClosedError` instead of passing a stale handle on.
    ``owner`` gives the library that issued the handle (libaa_logon unless told otherwise)."""

    __slots__ = ("_value", "_free_function", "_what", "_lock", "_owner", "__weakref__")

    def __init__(
        self, value: int, free_function: str, what: str, owner: Callable[[], NativeLibrary] = library
    ) -> None:
        self._value: Optional[int] = value
        self._lock = threading.Lock()
        self._free_function = free_function
        self._what = what
        self._owner = owner

    @property
    def closed(self) -> bool:
        return self._value is None

    def get(self) -> int:
        value = self._value
        if value is None:
            raise ClosedError(self._what)
        return value

    def peek(self) -> Optional[int]:
        """The handle, or ``None`` once closed (for calls that must never raise)."""
        return self._value

    def close(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None:
            check_free(self._free_function, value, self._what, self._owner())

    def __del__(self) -> None:
        value, self._value = self._value, None
        if value is not None:
            try:
                getattr(self._owner(), self._free_function)(value)
            except Exception:  # interpreter shutdown: the library may already be unloaded
                pass


class HandleOwner:
    """Base of the public classes that own one library handle (``self._handle``): ``closed``,
    an idempotent ``close()``, and use as a context manager that closes on exit."""

    _handle: NativeHandle

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; every further use raises :class:`ClosedError`."""
        return self._handle.closed

    def close(self) -> None:
        """Frees the native object. Idempotent."""
        self._handle.close()

    def __enter__(self: _Owner) -> _Owner:
        self._handle.get()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()
