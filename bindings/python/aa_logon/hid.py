"""Pluggable HID transports: how a :class:`~aa_logon.Client` reaches its security keys.

By default a client talks to the operating system's USB HID devices. ``Client.set_hid_io(io)``
(``aa_client_set_hid_io``) replaces them, for every later sign and device listing of the client
and of the logons made from it, with either

- a :class:`HidIo` written in Python — a bridge to another HID stack, a key reached over the
  network, a recorded session, a fake key in a test — whose methods the library calls through
  ctypes callbacks; or
- a :class:`NativeHidIo`: an ``aa_hid_io`` filled in by a C library, such as the virtual keys of
  ``aa_logon.testing`` (``aa_virtual_devices_hid_io``). Its functions are called directly, without
  Python in between; its methods also let Python code call them (e.g. to forward to it).

Reports are CTAPHID packets of :data:`REPORT_LEN` (64) bytes without the HID report-id byte.
"""

from __future__ import annotations

import abc
import ctypes
import itertools
import logging
import threading
from ctypes import c_uint8, c_void_p
from typing import Any, Dict, Iterable, List, Optional, Union

from ._calls import call, encode
from ._generated import (
    AA_HID_REPORT_LEN,
    aa_hid_close_fn,
    aa_hid_device_info,
    aa_hid_device_sink,
    aa_hid_enumerate_fn,
    aa_hid_io,
    aa_hid_open_fn,
    aa_hid_read_fn,
    aa_hid_release_fn,
    aa_hid_write_fn,
)
from .errors import ClosedError, DeviceError, Status
from .types import DeviceInfo

_logger = logging.getLogger("aa_logon")

REPORT_LEN = AA_HID_REPORT_LEN
"""The size of every report written to and read from a device (``AA_HID_REPORT_LEN``)."""


class HidIo(abc.ABC):
    """A HID transport implemented in Python, for :meth:`aa_logon.Client.set_hid_io`.

    The library calls these methods from the threads that call into it with the client (a sign,
    a device listing) — possibly several at once for different devices, so they must be
    thread-safe; one open device is used by one thread at a time. Blocking in :meth:`read` is
    expected (the library calls it with short timeouts and keeps polling).

    Failures are reported by raising: an exception from :meth:`enumerate` fails the listing
    (``DeviceError``), one from :meth:`open`, :meth:`write` or :meth:`read` makes the library
    treat that device as gone. Exceptions never unwind into the library; they are logged to the
    ``"aa_logon"`` logger at DEBUG level.

    One instance may be given to several clients; :meth:`release` is then called once per client.
    """

    @abc.abstractmethod
    def enumerate(self) -> Iterable[Union[DeviceInfo, str]]:
        """The FIDO devices present now: a :class:`DeviceInfo` per device (or just its path).
        Paths must be unique; they are what :meth:`open` receives."""

    @abc.abstractmethod
    def open(self, path: str) -> Any:
        """Opens the device ``path`` for exclusive use and returns any object (not ``None``)
        that stands for it in the calls below."""

    @abc.abstractmethod
    def close(self, device: Any) -> None:
        """Closes a device returned by :meth:`open`; called exactly once per successful open."""

    @abc.abstractmethod
    def write(self, device: Any, report: bytes) -> None:
        """Sends one report of :data:`REPORT_LEN` bytes."""

    @abc.abstractmethod
    def read(self, device: Any, timeout: float) -> Optional[bytes]:
        """Waits up to ``timeout`` seconds for one report and returns it (1 to :data:`REPORT_LEN`
        bytes; shorter ones are zero-padded), or ``None`` (or ``b""``) when none came in time."""

    def release(self) -> None:
        """Called once when the client it was given to, and every logon and device of that
        client, no longer use it (e.g. after ``Client.close()`` and the logons' ``close()``).
        Does nothing by default."""


class NativeHidIo:
    """An ``aa_hid_io`` filled in by a C library, holding one reference on its ``userdata``.

    Give it to :meth:`aa_logon.Client.set_hid_io` — once: the client then owns that reference
    and calls ``release`` when done — or call its functions from Python with :meth:`enumerate`,
    :meth:`open`, :meth:`close`, :meth:`write` and :meth:`read` (which a :class:`HidIo` may
    forward to), and :meth:`release` it when done. An unused one is released when collected.
    """

    def __init__(self, io: aa_hid_io, owner: object = None) -> None:
        if not isinstance(io, aa_hid_io):
            raise TypeError(f"io must be an aa_hid_io structure, not {type(io).__name__}")
        missing = [name for name in ("enumerate", "open", "close", "write", "read") if not getattr(io, name)]
        if missing:
            raise ValueError(f"the aa_hid_io lacks the {missing[0]} function")
        self._io = io
        self._owner = owner  # keeps the library that filled the structure loaded
        self._lock = threading.Lock()
        self._state = "usable"  # → "given" (to a client) or "released"

    def __repr__(self) -> str:
        return f"<NativeHidIo {self._state}>"

    @property
    def structure(self) -> aa_hid_io:
        """The ``aa_hid_io`` itself (its functions stay usable while this object is usable)."""
        return self._io

    def _usable(self) -> aa_hid_io:
        if self._state != "usable":
            raise ClosedError(f"NativeHidIo ({'given to a client' if self._state == 'given' else 'released'})")
        return self._io

    def enumerate(self) -> List[DeviceInfo]:
        """Calls the io's enumerate function and returns the devices it reported."""
        io = self._usable()
        found: List[DeviceInfo] = []

        def collect(_list: Optional[int], info_pointer: Any) -> int:
            try:
                info = info_pointer.contents
                found.append(
                    DeviceInfo(
                        path=(info.path or b"").decode("utf-8"),
                        vendor_id=info.vendor_id,
                        product_id=info.product_id,
                        manufacturer=_decoded(info.manufacturer),
                        product=_decoded(info.product),
                        serial_number=_decoded(info.serial_number),
                    )
                )
                return int(Status.OK)
            except BaseException:  # noqa: B902 — nothing may unwind into C
                _logger.debug("a device reported by a native enumerate was unreadable", exc_info=True)
                return int(Status.INVALID_ARGUMENT)

        sink = aa_hid_device_sink(collect)
        result = io.enumerate(io.userdata, sink, None)
        if result != 0:
            raise DeviceError(f"the native enumerate function failed ({result})", status=Status.DEVICE_ERROR)
        return found

    def open(self, path: str) -> int:
        """Opens ``path``; returns the io's device pointer (an ``int``)."""
        io = self._usable()
        device = io.open(io.userdata, encode(path, "path"))
        if not device:
            raise DeviceError(f"the native open function failed for {path!r}", status=Status.DEVICE_ERROR)
        return int(device)

    def close(self, device: int) -> None:
        io = self._usable()
        io.close(io.userdata, device)

    def write(self, device: int, report: bytes) -> None:
        io = self._usable()
        if len(report) != REPORT_LEN:
            raise ValueError(f"a report has {REPORT_LEN} bytes, not {len(report)}")
        buffer = (c_uint8 * REPORT_LEN).from_buffer_copy(report)
        result = io.write(io.userdata, device, buffer, REPORT_LEN)
        if result != 0:
            raise DeviceError(f"the native write function failed ({result})", status=Status.DEVICE_ERROR)

    def read(self, device: int, timeout: float) -> Optional[bytes]:
        io = self._usable()
        buffer = (c_uint8 * REPORT_LEN)()
        result = io.read(io.userdata, device, buffer, REPORT_LEN, max(0, round(timeout * 1000)))
        if result < 0:
            raise DeviceError(f"the native read function failed ({result})", status=Status.DEVICE_ERROR)
        return bytes(buffer)[:result] if result else None

    def release(self) -> None:
        """Drops this object's reference (calls the io's release function) unless it was given
        to a client. Idempotent; the io is unusable afterwards."""
        with self._lock:
            if self._state != "usable":
                return
            self._state = "released"
        if self._io.release:
            self._io.release(self._io.userdata)

    def _give(self) -> aa_hid_io:
        with self._lock:
            self._usable()
            self._state = "given"
            return self._io

    def _take_back(self) -> None:
        with self._lock:
            self._state = "usable"

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # interpreter shutdown: the library may already be unloaded
            pass


def _decoded(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.decode("utf-8", errors="replace")


def _optional_c_string(value: Optional[str], name: str) -> Optional[bytes]:
    return None if value is None else encode(value, name)


class _PythonIo:
    """The ``aa_hid_io`` through which the library calls one :class:`HidIo` for one client.

    Its ctypes callbacks must outlive every call the library makes: the object stays in
    ``_installed`` until the library calls ``release``, then in ``_released`` until the next
    ``set_hid_io`` — never dropped from inside its own callback."""

    def __init__(self, io: HidIo, key: int) -> None:
        self.io = io
        self.key = key
        self._devices: Dict[int, Any] = {}
        self._device_ids = itertools.count(1)
        self.structure = aa_hid_io(
            userdata=key,
            enumerate=aa_hid_enumerate_fn(self._enumerate),
            open=aa_hid_open_fn(self._open),
            close=aa_hid_close_fn(self._close),
            write=aa_hid_write_fn(self._write),
            read=aa_hid_read_fn(self._read),
            release=aa_hid_release_fn(self._release),
        )

    def _failed(self, what: str) -> None:
        _logger.debug("%s of the Python HID io %r failed", what, self.io, exc_info=True)

    def _enumerate(self, _userdata: Optional[int], sink: Any, device_list: Optional[int]) -> int:
        try:
            for entry in self.io.enumerate():
                device = DeviceInfo(path=entry, vendor_id=0, product_id=0) if isinstance(entry, str) else entry
                if not isinstance(device, DeviceInfo):
                    raise TypeError(f"enumerate must yield DeviceInfo or str, not {type(entry).__name__}")
                for number, name in ((device.vendor_id, "vendor_id"), (device.product_id, "product_id")):
                    if not 0 <= number <= 0xFFFF:
                        raise ValueError(f"{name} {number} does not fit 16 bits")
                info = aa_hid_device_info(
                    path=encode(device.path, "path"),
                    vendor_id=device.vendor_id,
                    product_id=device.product_id,
                    manufacturer=_optional_c_string(device.manufacturer, "manufacturer"),
                    product=_optional_c_string(device.product, "product"),
                    serial_number=_optional_c_string(device.serial_number, "serial_number"),
                )
                status = sink(device_list, ctypes.byref(info))
                if status != Status.OK:
                    _logger.debug("the library refused the device %r (status %d)", device.path, status)
                    return -1
            return 0
        except BaseException:  # noqa: B902 — nothing may unwind into the library
            self._failed("enumerate")
            return -1

    def _open(self, _userdata: Optional[int], path: Optional[bytes]) -> Optional[int]:
        try:
            device = self.io.open((path or b"").decode("utf-8"))
            if device is None:
                return None
            number = next(self._device_ids)
            self._devices[number] = device
            return number
        except BaseException:  # noqa: B902
            self._failed("open")
            return None

    def _close(self, _userdata: Optional[int], number: Optional[int]) -> None:
        device = self._devices.pop(number or 0, None)
        if device is None:
            return
        try:
            self.io.close(device)
        except BaseException:  # noqa: B902
            self._failed("close")

    def _write(self, _userdata: Optional[int], number: Optional[int], report: Any, length: int) -> int:
        try:
            device = self._devices[number or 0]
            self.io.write(device, ctypes.string_at(report, length))
            return 0
        except BaseException:  # noqa: B902
            self._failed("write")
            return -1

    def _read(self, _userdata: Optional[int], number: Optional[int], report: Any, length: int, timeout_ms: int) -> int:
        try:
            device = self._devices[number or 0]
            data = self.io.read(device, max(0, timeout_ms) / 1000)
            if not data:
                return 0
            if len(data) > length:
                raise ValueError(f"read returned {len(data)} bytes; a report has at most {length}")
            address = ctypes.cast(report, c_void_p).value
            if address is None:
                return -1
            ctypes.memmove(address, bytes(data), len(data))
            ctypes.memset(address + len(data), 0, length - len(data))
            return len(data)
        except BaseException:  # noqa: B902
            self._failed("read")
            return -1

    def _release(self, _userdata: Optional[int]) -> None:
        try:
            _released.append(_installed.pop(self.key, self))
            self.io.release()
        except BaseException:  # noqa: B902
            self._failed("release")


# Plain dict and list operations (atomic under the GIL) rather than a lock: release may be
# called from a garbage-collected client's __del__ while this thread holds such a lock.
_installed: Dict[int, _PythonIo] = {}
_released: List[_PythonIo] = []
_keys = itertools.count(1)


def installed_python_ios() -> int:
    """How many :class:`HidIo` installations the library has not released yet (for leak checks)."""
    return len(_installed)


def set_hid_io(client_handle: int, io: Union[HidIo, NativeHidIo, None]) -> None:
    """``aa_client_set_hid_io`` for a :class:`HidIo`, a :class:`NativeHidIo` or ``None`` (USB)."""
    # Whatever was released before this call has returned from its release callback.
    del _released[:]
    if io is None:
        call("aa_client_set_hid_io", client_handle, None)
    elif isinstance(io, NativeHidIo):
        structure = io._give()
        try:
            call("aa_client_set_hid_io", client_handle, ctypes.byref(structure))
        except BaseException:
            io._take_back()  # not taken over: its reference is still the caller's
            raise
    elif isinstance(io, HidIo):
        key = next(_keys)
        python_io = _PythonIo(io, key)
        _installed[key] = python_io
        try:
            call("aa_client_set_hid_io", client_handle, ctypes.byref(python_io.structure))
        except BaseException:
            _installed.pop(key, None)
            raise
    else:
        raise TypeError(f"io must be an aa_logon.HidIo, a NativeHidIo or None, not {type(io).__name__}")


__all__ = ["REPORT_LEN", "HidIo", "NativeHidIo", "installed_python_ios"]
