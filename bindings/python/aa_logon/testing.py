"""Test-only API: virtual U2F security keys from the separate library ``libaa_logon_testkit``
(crate ``aa-logon-testkit``; never shipped). A client reaches them through libaa_logon's public
pluggable HID transport, exactly as it would reach keys of any other :class:`~aa_logon.HidIo`.

The testkit library is found like libaa_logon: the file named by ``$AA_LOGON_TESTKIT_LIBRARY``,
``libaa_logon_testkit.so`` next to this package, then the system library path. Without it every
use raises :class:`VirtualDeviceUnavailableError`.

Example::

    with VirtualKey("demo") as key:          # the simulator's demo user has this key enrolled
        key.attach(client)                   # the client's logons now use it instead of USB
        logon.sign_with_device(timeout=10)

``attach`` gives the client a :class:`VirtualDevices` set of its own on first use (through
``Client.set_hid_io``) and plugs the key into it; ``detach`` unplugs it. For other arrangements
use :class:`VirtualDevices` directly: ``client.set_hid_io(devices.hid_io())``.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
import weakref
from ctypes import c_bool, c_uint32, c_void_p
from typing import Any, Optional, Tuple, Union

from ._calls import encode, milliseconds, status_error, written
from ._generated import Presence, aa_hid_io
from ._handle import HandleOwner, NativeHandle
from ._native import LibraryLoadError, TestkitLibrary, library, load_testkit
from .client import Client
from .errors import InvalidStateError, Status
from .hid import NativeHidIo


class VirtualDeviceUnavailableError(RuntimeError):
    """The test-only libaa_logon_testkit library cannot be loaded."""


def _testkit() -> TestkitLibrary:
    try:
        return load_testkit()
    except LibraryLoadError as error:
        raise VirtualDeviceUnavailableError(
            f"virtual keys need the test-only libaa_logon_testkit (build it with "
            f"`cargo build -p aa-logon-testkit`): {error}"
        ) from error


def virtual_device_available() -> bool:
    """Whether libaa_logon_testkit can be loaded."""
    try:
        _testkit()
    except VirtualDeviceUnavailableError:
        return False
    return True


def _call(function_name: str, *args: Any) -> None:
    """Calls a testkit function; a failure raises the exception of its aa_status number with the
    testkit's message."""
    lib = _testkit()
    status = getattr(lib, function_name)(*args)
    if status != Status.OK:
        raise status_error(status, lib.last_error() or f"{function_name} failed with status {status}")


class VirtualKey(HandleOwner):
    """A software U2F key whose credentials all derive from ``seed``. Thread-safe.

    Presence starts as :attr:`Presence.ALWAYS`. :meth:`close` frees the handle; a key attached
    to a client stays plugged in until detached.

    With ``state_file``, the signature counter is kept in that file between processes (it
    continues from the saved one and is saved atomically before each signature), so successive
    test runs can use one seed against one server that checks counters; a file of another seed,
    or one that cannot be read or written, raises :class:`~aa_logon.InvalidArgumentError`.
    """

    def __init__(self, seed: str = "demo", state_file: Optional[Union[str, os.PathLike[str]]] = None) -> None:
        lib = _testkit()
        key = c_void_p()
        if state_file is None:
            function = "aa_virtual_key_new"
            _call(function, encode(seed, "seed"), ctypes.byref(key))
        else:
            function = "aa_virtual_key_new_with_state"
            _call(function, encode(seed, "seed"), encode(os.fspath(state_file), "state_file"), ctypes.byref(key))
        self._handle = NativeHandle(written(key, function), "aa_virtual_key_free", "VirtualKey", owner=lambda: lib)

    def native_handle(self) -> int:
        """The ``aa_virtual_key *`` handle (raises :class:`~aa_logon.ClosedError` once closed)."""
        return self._handle.get()

    def set_presence(self, presence: Presence, delay: float = 0.0) -> None:
        """Sets when the key reports a touch; ``delay`` (seconds) is for ``AFTER_DELAY``."""
        delay_ms = milliseconds(delay, "delay") if delay else 0
        _call("aa_virtual_key_set_presence", self._handle.get(), int(Presence(presence)), delay_ms)

    def touch(self) -> None:
        """Touches the key (for :attr:`Presence.ON_DEMAND`); callable from any thread."""
        _call("aa_virtual_key_touch", self._handle.get())

    @property
    def is_waiting_for_touch(self) -> bool:
        """Whether the key told the host "user presence required" and was not touched since."""
        waiting = c_bool()
        _call("aa_virtual_key_is_waiting_for_touch", self._handle.get(), ctypes.byref(waiting))
        return waiting.value

    def wait_for_touch_request(self, timeout: float) -> bool:
        """Waits until :attr:`is_waiting_for_touch` (polling it); ``False`` when ``timeout``
        seconds passed first. Lets a test touch when a real user would, without a fixed sleep."""
        deadline = time.monotonic() + timeout
        while not self.is_waiting_for_touch:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    @property
    def counter(self) -> int:
        """The key's signature counter."""
        value = c_uint32()
        _call("aa_virtual_key_counter", self._handle.get(), ctypes.byref(value))
        return value.value

    def attach(self, client: Client) -> None:
        """Plugs the key into ``client``: its logons use virtual keys instead of USB devices.
        The first attach gives the client its own :class:`VirtualDevices` (replacing any other
        transport the client had)."""
        devices = _devices_of(client, create=True)
        assert devices is not None
        devices.plug(self)

    def detach(self, client: Client) -> None:
        """Unplugs the key from ``client`` (as if pulled out, also mid-operation).

        Raises:
            InvalidStateError: the key is not attached to ``client``.
        """
        devices = _devices_of(client, create=False)
        if devices is None:
            raise InvalidStateError("no virtual key is attached to this client", status=Status.INVALID_STATE)
        devices.unplug(self)


class VirtualDevices(HandleOwner):
    """A set of plugged-in virtual keys that clients reach through :meth:`hid_io`. Thread-safe."""

    def __init__(self) -> None:
        lib = _testkit()
        devices = c_void_p()
        _call("aa_virtual_devices_new", ctypes.byref(devices))
        self._library = lib
        self._handle = NativeHandle(
            written(devices, "aa_virtual_devices_new"), "aa_virtual_devices_free", "VirtualDevices", owner=lambda: lib
        )

    def plug(self, key: VirtualKey) -> None:
        """Plugs ``key`` in (it appears in the next enumeration); a key unplugged earlier is
        plugged back in. Raises :class:`~aa_logon.InvalidStateError` when it is plugged in."""
        _call("aa_virtual_devices_plug", self._handle.get(), _key_handle(key))

    def unplug(self, key: VirtualKey) -> None:
        """Unplugs ``key``, as if pulled out of the USB port (also in the middle of an exchange).
        Raises :class:`~aa_logon.InvalidStateError` when it is not plugged in."""
        _call("aa_virtual_devices_unplug", self._handle.get(), _key_handle(key))

    def hid_io(self) -> NativeHidIo:
        """A new transport reaching the keys of this set, for ``Client.set_hid_io`` (or to call
        from Python). It keeps the set alive until released, so this object may be closed."""
        io = aa_hid_io()
        _call("aa_virtual_devices_hid_io", self._handle.get(), ctypes.byref(io))
        return NativeHidIo(io, owner=self._library)


def _key_handle(key: VirtualKey) -> int:
    if not isinstance(key, VirtualKey):
        raise TypeError(f"key must be an aa_logon.testing.VirtualKey, not {type(key).__name__}")
    return key.native_handle()


# The device set VirtualKey.attach gave each client, with the transport installed from it.
_attached: "weakref.WeakKeyDictionary[Client, Tuple[VirtualDevices, NativeHidIo]]" = weakref.WeakKeyDictionary()
_attached_lock = threading.Lock()


def _devices_of(client: Client, *, create: bool) -> Optional[VirtualDevices]:
    if not isinstance(client, Client):
        raise TypeError(f"client must be an aa_logon.Client, not {type(client).__name__}")
    client.native_handle()  # a closed client raises ClosedError
    with _attached_lock:
        entry = _attached.get(client)
        if entry is not None and client.hid_io is entry[1]:
            return entry[0]
        if not create:
            return None  # never attached, or the client was given another transport since
        devices = VirtualDevices()
        io = devices.hid_io()
        client.set_hid_io(io)
        _attached[client] = (devices, io)
        return devices


def live_objects() -> int:
    """The number of libaa_logon handles and strings allocated and not yet freed (process-wide),
    for leak checks: it returns to its earlier value once every object is freed."""
    return library().live_objects()


def live_testkit_objects() -> int:
    """The number of testkit handles (virtual keys and device sets) not yet freed."""
    return _testkit().live_objects()


__all__ = [
    "Presence",
    "VirtualDeviceUnavailableError",
    "VirtualDevices",
    "VirtualKey",
    "live_objects",
    "live_testkit_objects",
    "virtual_device_available",
]
