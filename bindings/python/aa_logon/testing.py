"""Test-only API: virtual U2F/CTAP2 security keys from the separate library ``libaa_logon_testkit``
(crate ``aa-logon-testkit``; never shipped). A client reaches them through libaa_logon's public
pluggable HID transport, exactly as it would reach keys of any other :class:`~aa_logon.HidIo`.

The testkit library is found like libaa_logon: the file named by ``$AA_LOGON_TESTKIT_LIBRARY``,
``libaa_logon_testkit.so`` next to this package, then the system library path. Without it every
use raises :class:`VirtualDeviceUnavailableError`.

Example::

    with VirtualKey("demo") as key:          # the simulator's demo user has this key enrolled
        key.attach(client)                   # the client's logons now use it instead of USB
        logon.sign_with_device(timeout=10)

A key speaks U2F and CTAP2 by default (``protocols=KeyProtocols.U2F_ONLY`` or ``CTAP2_ONLY`` for
older or FIDO2-only keys); :meth:`VirtualKey.set_pin`, :attr:`VirtualKey.pin_retries` and
:meth:`VirtualKey.set_uv` set up its CTAP2 user verification as a user would have.

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
from ctypes import c_bool, c_uint8, c_uint32, c_void_p
from typing import Any, Optional, Tuple, Union

from ._calls import encode, milliseconds, secret_buffer, status_error, wipe, written
from ._generated import KeyProtocols, Presence, aa_hid_io
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


# The most PIN retries a key has (CTAP2 keys start with 8); larger settings count as this.
MAX_PIN_RETRIES = 8


class VirtualKey(HandleOwner):
    """A software security key whose credentials all derive from ``seed`` (whatever its
    ``protocols``: a U2F-only and a CTAP2-only key of one seed hold the same credentials).
    Thread-safe.

    It speaks ``protocols`` (:attr:`KeyProtocols.BOTH`, like most keys sold today, by default).
    Presence starts as :attr:`Presence.ALWAYS`; it has no PIN and no built-in user verification.
    :meth:`close` frees the handle; a key attached to a client stays plugged in until detached.

    With ``state_file``, the signature counter is kept in that file between processes (it
    continues from the saved one and is saved atomically before each signature), so successive
    test runs can use one seed against one server that checks counters; a file of another seed,
    or one that cannot be read or written, raises :class:`~aa_logon.InvalidArgumentError`. The C
    API makes a key either with a state file or with chosen protocols, so ``state_file`` goes
    with the default ``protocols`` only (:class:`ValueError` otherwise).
    """

    def __init__(
        self,
        seed: str = "demo",
        protocols: KeyProtocols = KeyProtocols.BOTH,
        state_file: Optional[Union[str, os.PathLike[str]]] = None,
    ) -> None:
        lib = _testkit()
        seed_bytes = encode(seed, "seed")
        protocols = _protocols(protocols)
        key = c_void_p()
        if state_file is not None:
            if protocols is not KeyProtocols.BOTH:
                raise ValueError("a key with a state_file speaks KeyProtocols.BOTH (the C API has no other)")
            function = "aa_virtual_key_new_with_state"
            _call(function, seed_bytes, encode(os.fspath(state_file), "state_file"), ctypes.byref(key))
        elif protocols is KeyProtocols.BOTH:
            function = "aa_virtual_key_new"
            _call(function, seed_bytes, ctypes.byref(key))
        else:
            function = "aa_virtual_key_new_with_protocols"
            _call(function, seed_bytes, int(protocols), ctypes.byref(key))
        self._handle = NativeHandle(written(key, function), "aa_virtual_key_free", "VirtualKey", owner=lambda: lib)
        self._protocols = protocols

    @property
    def protocols(self) -> KeyProtocols:
        """The protocols the key speaks (fixed when it is made)."""
        return self._protocols

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

    def set_pin(self, pin: Optional[str]) -> None:
        """Sets the key's CTAP2 client PIN, or removes it with ``None``, as if the user had done
        so; either way the PIN retries go back to 8 and PIN tokens issued before stop working.
        The binding's C copy of the PIN is wiped after the call.

        Raises:
            InvalidArgumentError: ``pin`` is empty.
        """
        handle = self._handle.get()
        if pin is None:
            _call("aa_virtual_key_set_pin", handle, None)
            return
        if not isinstance(pin, str):
            raise TypeError(f"pin must be a str or None, not {type(pin).__name__}")
        buffer = secret_buffer(pin, "pin")
        try:
            _call("aa_virtual_key_set_pin", handle, buffer)
        finally:
            wipe(buffer)

    @property
    def pin_retries(self) -> int:
        """The PIN retries left (8 at most; 0 means the PIN is blocked). Settable: values above 8
        count as 8, and 0 blocks the PIN."""
        retries = c_uint8()
        _call("aa_virtual_key_pin_retries", self._handle.get(), ctypes.byref(retries))
        return retries.value

    @pin_retries.setter
    def pin_retries(self, retries: int) -> None:
        self.set_pin_retries(retries)

    def set_pin_retries(self, retries: int) -> None:
        """Sets the PIN retries left (as assigning :attr:`pin_retries` does): values above 8
        count as 8, and 0 blocks the PIN."""
        if isinstance(retries, bool) or not isinstance(retries, int):
            raise TypeError(f"pin_retries must be an int, not {type(retries).__name__}")
        if retries < 0:
            raise ValueError(f"pin_retries must not be negative, not {retries}")
        _call("aa_virtual_key_set_pin_retries", self._handle.get(), min(retries, MAX_PIN_RETRIES))

    def set_uv(self, available: bool, succeeds: bool = True) -> None:
        """Built-in user verification (a fingerprint sensor): whether the key offers it and
        whether the user's verification succeeds. Resets the UV retries to 8."""
        for name, value in (("available", available), ("succeeds", succeeds)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
        _call("aa_virtual_key_set_uv", self._handle.get(), available, succeeds)

    @property
    def cancels_seen(self) -> int:
        """How many CTAPHID_CANCEL commands the key received (whether or not a request was
        pending): lets a test check that an abandoned operation was cancelled on the device."""
        count = c_uint32()
        _call("aa_virtual_key_cancels_seen", self._handle.get(), ctypes.byref(count))
        return count.value

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


def _protocols(value: object) -> KeyProtocols:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"protocols must be an aa_logon.testing.KeyProtocols, not {type(value).__name__}")
    try:
        return KeyProtocols(value)
    except ValueError:
        raise ValueError(f"protocols must be one of {[p.name for p in KeyProtocols]}, not {value!r}") from None


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
    "KeyProtocols",
    "Presence",
    "VirtualDeviceUnavailableError",
    "VirtualDevices",
    "VirtualKey",
    "live_objects",
    "live_testkit_objects",
    "virtual_device_available",
]
