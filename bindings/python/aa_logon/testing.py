"""Test-only API: the virtual U2F security key of libraries built with the ``virtual-device``
feature (``cargo build --features virtual-device``). Release builds lack it, and every use
then raises :class:`VirtualDeviceUnavailableError`.

Example::

    with VirtualKey("demo") as key:          # the simulator's demo user has this key enrolled
        key.attach(client)                   # the client's logons now use it instead of USB
        logon.sign_with_device(timeout=10)
"""

from __future__ import annotations

import ctypes
from ctypes import c_uint32, c_void_p
from enum import IntEnum

from ._calls import call, encode, milliseconds, written
from ._handle import HandleOwner, NativeHandle
from ._native import library
from .client import Client


class VirtualDeviceUnavailableError(RuntimeError):
    """The loaded libaa_logon was built without the test-only ``virtual-device`` feature."""


class Presence(IntEnum):
    """When a virtual key reports user presence (``enum aa_presence``)."""

    ALWAYS = 1
    """Every signature request is touched at once."""
    AFTER_DELAY = 2
    """Touched ``delay`` seconds after the key first asked for a touch."""
    NEVER = 3
    """Never touched (timeouts and cancellation)."""
    ON_DEMAND = 4
    """Touched when :meth:`VirtualKey.touch` is called."""


def virtual_device_available() -> bool:
    """Whether the loaded library has the virtual-key functions."""
    return library().has_virtual_device


def _require_virtual_device() -> None:
    lib = library()
    if not lib.has_virtual_device:
        raise VirtualDeviceUnavailableError(
            f"{lib.path} was built without the test-only virtual-device feature; "
            "build it with `cargo build -p aa-logon --features virtual-device` to use aa_logon.testing"
        )


class VirtualKey(HandleOwner):
    """A software U2F key whose credentials all derive from ``seed``. Thread-safe.

    Presence starts as :attr:`Presence.ALWAYS`. :meth:`close` frees the handle; a key attached
    to a client stays plugged in until detached.
    """

    def __init__(self, seed: str = "demo") -> None:
        _require_virtual_device()
        key = c_void_p()
        call("aa_virtual_key_new", encode(seed, "seed"), ctypes.byref(key))
        self._handle = NativeHandle(written(key, "aa_virtual_key_new"), "aa_virtual_key_free", "VirtualKey")

    def set_presence(self, presence: Presence, delay: float = 0.0) -> None:
        """Sets when the key reports a touch; ``delay`` (seconds) is for ``AFTER_DELAY``."""
        delay_ms = milliseconds(delay, "delay") if delay else 0
        call("aa_virtual_key_set_presence", self._handle.get(), int(Presence(presence)), delay_ms)

    def touch(self) -> None:
        """Touches the key (for :attr:`Presence.ON_DEMAND`); callable from any thread."""
        call("aa_virtual_key_touch", self._handle.get())

    @property
    def counter(self) -> int:
        """The key's signature counter."""
        value = c_uint32()
        call("aa_virtual_key_counter", self._handle.get(), ctypes.byref(value))
        return value.value

    def attach(self, client: Client) -> None:
        """Plugs the key into ``client``: its logons use virtual keys instead of USB devices."""
        self._plug("aa_client_attach_virtual_key", client)

    def detach(self, client: Client) -> None:
        """Unplugs the key from ``client`` (as if pulled out, also mid-operation)."""
        self._plug("aa_client_detach_virtual_key", client)

    def _plug(self, function_name: str, client: Client) -> None:
        if not isinstance(client, Client):
            raise TypeError(f"client must be an aa_logon.Client, not {type(client).__name__}")
        call(function_name, client.native_handle(), self._handle.get())


def live_objects() -> int:
    """The number of library handles and strings allocated and not yet freed (process-wide),
    for leak checks: it returns to its earlier value once every object is freed."""
    return library().live_objects()


__all__ = ["Presence", "VirtualDeviceUnavailableError", "VirtualKey", "live_objects", "virtual_device_available"]
