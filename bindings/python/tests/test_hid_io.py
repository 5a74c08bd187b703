"""Pluggable HID transports: a Python ``HidIo`` forwarding to a virtual key completes a U2F
logon; keys that answer with an error code surface it as ``device_code``; device listings,
failures and the release of a transport through ``Client.set_hid_io``."""

from __future__ import annotations

import gc
import threading
from typing import Any, Dict, Iterator, List, Optional, Union

import pytest
from conftest import EVENT, USER, Simulator

from aa_logon import (
    REPORT_LEN,
    Client,
    ClosedError,
    DeviceCodeKind,
    DeviceError,
    DeviceInfo,
    HidIo,
    NativeHidIo,
    NoDeviceError,
    Prompt,
    ServerStatus,
)
from aa_logon import testing as aa_testing
from aa_logon.hid import installed_python_ios
from aa_logon.testing import Presence, VirtualDevices, VirtualKey

CTAPHID_MSG_REPLY = 0x83  # CTAPHID_MSG with the init-packet bit
CTAPHID_ERROR_REPLY = 0xBF  # CTAPHID_ERROR with the init-packet bit
SW_CONDITIONS_NOT_SATISFIED = b"\x69\x85"  # "touch me" (or, to a check-only request: "mine")


class ForwardingIo(HidIo):
    """A transport in Python that forwards every call to another one (here: the C functions of
    a virtual device set), counting the traffic; ``rewrite`` may change the replies."""

    def __init__(self, target: NativeHidIo) -> None:
        self.target = target
        self.lock = threading.Lock()
        self.calls: Dict[str, int] = {"enumerate": 0, "open": 0, "close": 0, "write": 0, "read": 0, "release": 0}
        self.open_devices = 0

    def count(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1

    def enumerate(self) -> List[DeviceInfo]:
        self.count("enumerate")
        return self.target.enumerate()

    def open(self, path: str) -> int:
        self.count("open")
        device = self.target.open(path)
        with self.lock:
            self.open_devices += 1
        return device

    def close(self, device: int) -> None:
        self.count("close")
        with self.lock:
            self.open_devices -= 1
        self.target.close(device)

    def write(self, device: int, report: bytes) -> None:
        self.count("write")
        assert len(report) == REPORT_LEN
        self.target.write(device, report)

    def read(self, device: int, timeout: float) -> Optional[bytes]:
        self.count("read")
        report = self.target.read(device, timeout)
        return None if report is None else self.rewrite(report)

    def rewrite(self, report: bytes) -> bytes:
        return report

    def release(self) -> None:
        self.count("release")
        self.target.release()


def is_presence_reply(report: bytes) -> bool:
    """A one-packet U2F reply that is just the status word 6985."""
    return report[4] == CTAPHID_MSG_REPLY and report[5:7] == b"\x00\x02" and report[7:9] == SW_CONDITIONS_NOT_SATISFIED


class StatusWordKey(ForwardingIo):
    """A key that answers its U2F requests with the ISO 7816 status word ``status_word``."""

    def __init__(self, target: NativeHidIo, status_word: int) -> None:
        super().__init__(target)
        self.status_word = status_word

    def rewrite(self, report: bytes) -> bytes:
        if is_presence_reply(report):
            return report[:7] + self.status_word.to_bytes(2, "big") + report[9:]
        return report


class CtaphidErrorKey(ForwardingIo):
    """A key that answers its U2F requests with the CTAPHID_ERROR ``code``."""

    def __init__(self, target: NativeHidIo, code: int) -> None:
        super().__init__(target)
        self.code = code

    def rewrite(self, report: bytes) -> bytes:
        if is_presence_reply(report):
            return (report[:4] + bytes([CTAPHID_ERROR_REPLY, 0, 1, self.code])).ljust(REPORT_LEN, b"\0")
        return report


@pytest.fixture
def demo_devices(demo_key: VirtualKey) -> Iterator[VirtualDevices]:
    """A device set with the session's demo key plugged in (touched at once)."""
    demo_key.set_presence(Presence.ALWAYS)
    with VirtualDevices() as devices:
        devices.plug(demo_key)
        yield devices


def test_python_transport_forwarding_to_a_virtual_key_completes_a_u2f_logon(
    simulator: Simulator, demo_key: VirtualKey, demo_devices: VirtualDevices
) -> None:
    gc.collect()
    testkit_before = aa_testing.live_testkit_objects()
    installs_before = installed_python_ios()
    io = ForwardingIo(demo_devices.hid_io())
    counter_before = demo_key.counter
    prompts: List[Prompt] = []
    with simulator.client() as client:
        client.set_hid_io(io)
        assert client.hid_io is io
        assert installed_python_ios() == installs_before + 1
        devices = client.devices()
        assert [device.path for device in devices] == [device.path for device in io.target.enumerate()]
        assert devices[0].path.startswith("virtual:") and devices[0].product
        with client.logon(USER, EVENT, "U2F:1") as logon:
            assert logon.sign_with_device(timeout=10, prompt=prompts.append) is ServerStatus.OK
            assert logon.login_session_id
    # Every exchange went through Python, and the key really signed.
    assert demo_key.counter == counter_before + 1
    assert io.calls["enumerate"] >= 2 and io.calls["open"] >= 1
    assert io.calls["write"] >= 3 and io.calls["read"] >= 3
    assert io.calls["close"] == io.calls["open"] and io.open_devices == 0
    assert prompts[-1] is Prompt.TOUCHED
    # The client and its logon are freed: the library released the transport, once.
    assert io.calls["release"] == 1
    assert installed_python_ios() == installs_before
    with pytest.raises(ClosedError):
        io.target.enumerate()  # released along with the Python transport
    demo_devices.close()
    gc.collect()
    assert aa_testing.live_testkit_objects() == testkit_before - 1  # only demo_devices was closed


@pytest.mark.parametrize(
    ("make_key", "kind", "code"),
    [
        (lambda target: StatusWordKey(target, 0x6F00), DeviceCodeKind.ISO7816_STATUS, 0x6F00),
        (lambda target: StatusWordKey(target, 0x6986), DeviceCodeKind.ISO7816_STATUS, 0x6986),
        (lambda target: CtaphidErrorKey(target, 0x7F), DeviceCodeKind.CTAPHID_ERROR, 0x7F),
    ],
    ids=["SW_UNKNOWN", "SW_COMMAND_NOT_ALLOWED", "CTAPHID_ERR_OTHER"],
)
def test_a_key_answering_an_error_code_gives_it_as_device_code(
    simulator: Simulator, demo_devices: VirtualDevices, make_key: Any, kind: DeviceCodeKind, code: int
) -> None:
    key: ForwardingIo = make_key(demo_devices.hid_io())
    with simulator.client() as client:
        client.set_hid_io(key)
        with client.logon(USER, EVENT, "U2F:1") as logon:
            with pytest.raises(DeviceError) as raised:
                logon.sign_with_device(timeout=10)
    error = raised.value
    assert error.device_code_kind is kind
    assert error.device_code == code
    assert f"device_code=0x{code:04X}" in repr(error) and kind.name in repr(error)
    assert error.message
    assert key.calls["release"] == 1


class FakeDevices(HidIo):
    """A transport listing devices that cannot be opened (enough for listings and failures)."""

    def __init__(self, devices: List[Union[DeviceInfo, str]], fail_enumerate: bool = False) -> None:
        self.devices = devices
        self.fail_enumerate = fail_enumerate
        self.released = 0
        self.opened: List[str] = []

    def enumerate(self) -> List[Union[DeviceInfo, str]]:
        if self.fail_enumerate:
            raise OSError("the HID stack is gone")
        return self.devices

    def open(self, path: str) -> Any:
        self.opened.append(path)
        raise OSError(f"{path} is busy")

    def close(self, device: Any) -> None:
        raise AssertionError("nothing was opened")

    def write(self, device: Any, report: bytes) -> None:
        raise AssertionError("nothing was opened")

    def read(self, device: Any, timeout: float) -> Optional[bytes]:
        raise AssertionError("nothing was opened")

    def release(self) -> None:
        self.released += 1


def test_device_listing_comes_from_the_python_transport(simulator: Simulator) -> None:
    io = FakeDevices(
        [
            DeviceInfo("fake:1", 0x1050, 0x0407, manufacturer="Yubico", product="YubiKey 5", serial_number="42"),
            "fake:2",
        ]
    )
    with simulator.client() as client:
        client.set_hid_io(io)
        assert client.devices() == [
            DeviceInfo("fake:1", 0x1050, 0x0407, manufacturer="Yubico", product="YubiKey 5", serial_number="42"),
            DeviceInfo("fake:2", 0, 0),
        ]
        # The same instance may serve a second client too; each releases it once.
        with simulator.client() as other:
            other.set_hid_io(io)
            assert len(other.devices()) == 2
        assert io.released == 1
    assert io.released == 2


def test_failing_transports_are_device_errors_not_crashes(simulator: Simulator) -> None:
    with simulator.client() as client:
        client.set_hid_io(FakeDevices([], fail_enumerate=True))
        with pytest.raises(DeviceError) as listing:
            client.devices()
        assert (listing.value.device_code_kind, listing.value.device_code) == (None, None)

        unopenable = FakeDevices(["fake:busy"])
        client.set_hid_io(unopenable)  # replaces (and so releases) the failing one
        with client.logon(USER, EVENT, "U2F:1") as logon:
            with pytest.raises(DeviceError) as signing:
                logon.sign_with_device(timeout=5)
        assert "fake:busy" in unopenable.opened
        assert signing.value.device_code is None

        client.set_hid_io(FakeDevices([]))
        with client.logon(USER, EVENT, "U2F:1") as logon:
            with pytest.raises(NoDeviceError):
                logon.sign_with_device(timeout=0.3)


def test_a_native_io_goes_to_one_client_only(simulator: Simulator, demo_devices: VirtualDevices) -> None:
    io = demo_devices.hid_io()
    with simulator.client() as first, simulator.client() as second:
        first.set_hid_io(io)
        with pytest.raises(ClosedError, match="given to a client"):
            second.set_hid_io(io)
        with pytest.raises(ClosedError):
            io.enumerate()  # the client owns it now
        assert [device.path for device in first.devices()] == [device.path for device in demo_devices.hid_io().enumerate()]
        first.set_hid_io(None)  # back to USB HID: the client releases the virtual io
        assert first.hid_io is None
