"""The library's log messages, delivered to a Python callable or to the ``logging`` module.

The library logs from any thread that uses it. One C callback is registered for the life of the
process (so it can never be collected while the library may still call it) and dispatches to
the handler currently set; exceptions in a handler are swallowed, never unwound into C.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Callable, Optional

from ._calls import status_error
from ._generated import aa_log_callback as LOG_CALLBACK
from ._native import library
from .errors import Status
from .types import LogLevel

LogHandler = Callable[[LogLevel, str], None]
"""Receives each log message with its level; must be thread-safe and return promptly."""

_LOGGING_LEVELS = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: logging.DEBUG - 5,
}

_lock = threading.Lock()
_handler: Optional[LogHandler] = None
"""The handler the C callback dispatches to; ``None`` while library logging is off."""


def _dispatch(_userdata: Optional[int], level: int, message: Optional[bytes]) -> None:
    handler = _handler
    if handler is None or message is None:
        return
    try:
        try:
            known = LogLevel(level)
        except ValueError:  # a level added by a newer library
            known = LogLevel.TRACE
        handler(known, message.decode("utf-8", errors="replace"))
    except BaseException:  # noqa: B902 — a failing handler must not unwind into the library
        pass


_CALLBACK = LOG_CALLBACK(_dispatch)


def set_log_handler(handler: Optional[LogHandler], max_level: LogLevel = LogLevel.INFO) -> None:
    """Sends the library's messages up to ``max_level`` to ``handler`` (process-wide);
    ``None`` turns library logging off."""
    global _handler
    if handler is not None and not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    level = LogLevel(max_level)
    lib = library()
    with _lock:
        if handler is None or level == LogLevel.OFF:
            _handler = None
            status = lib.aa_set_log_callback(LOG_CALLBACK(), None, LogLevel.OFF)
        else:
            _handler = handler  # before registering, so no message finds the old handler
            status = lib.aa_set_log_callback(_CALLBACK, None, level)
    if status != Status.OK:
        raise status_error(status, f"aa_set_log_callback failed: {lib.status_text(status)}")


def forward_to_logging(
    logger: Optional[logging.Logger] = None, max_level: LogLevel = LogLevel.INFO
) -> None:
    """Sends the library's messages to ``logger`` (default: the ``"aa_logon"`` logger) with the
    matching ``logging`` levels (TRACE becomes level 5)."""
    target = logger if logger is not None else logging.getLogger("aa_logon")

    def emit(level: LogLevel, message: str) -> None:
        target.log(_LOGGING_LEVELS.get(level, logging.DEBUG), "%s", message)

    set_log_handler(emit, max_level)


def level_name(level: LogLevel) -> str:
    """The library's name of ``level`` ("ERROR", "WARN"…)."""
    raw: bytes = library().aa_log_level_str(int(level))
    return raw.decode("utf-8")


@atexit.register
def _unregister_at_exit() -> None:
    # Library threads must not call into an interpreter that is shutting down.
    if _handler is not None:
        try:
            library().aa_set_log_callback(LOG_CALLBACK(), None, LogLevel.OFF)
        except Exception:  # the library may be unloadable at exit; nothing is registered then
            pass
