"""FIDO2:1 through ``Logon.sign_with_device(pin=...)`` against the simulator, with the virtual
key speaking CTAP2: a logon, the PIN statuses as exceptions, and a PIN callable that raises.

The demo key (seed "demo", U2F and CTAP2) holds the demo user's FIDO2 credential; the user
"JAGUAR\\carol" has a policy that requires user verification, with the key of seed "demo-uv".
"""

from __future__ import annotations

from typing import Iterator, List, Optional

import pytest
from conftest import USER, Simulator

from aa_logon import (
    Client,
    DeviceCodeKind,
    PinBlockedError,
    PinInvalidError,
    PinRequiredError,
    SecurityKeyError,
    ServerStatus,
    Status,
)
from aa_logon.testing import VirtualKey

EVENT_FIDO2 = "FIDO2 Logon"
USER_UV = "JAGUAR\\carol"
UV_KEY_SEED = "demo-uv"
PIN = "4711"


@pytest.fixture(scope="module")
def uv_key() -> Iterator[VirtualKey]:
    # One key for the module: its counter must keep growing for the simulator.
    with VirtualKey(UV_KEY_SEED) as key:
        yield key


@pytest.fixture
def uv_client(simulator: Simulator, uv_key: VirtualKey) -> Iterator[Client]:
    with simulator.client() as client:
        uv_key.attach(client)
        yield client


def test_fido2_logon_never_asks_for_a_pin_it_does_not_need(client: Client, virtual_key: VirtualKey) -> None:
    asked: List[int] = []

    def pin(retries_left: int) -> Optional[str]:
        asked.append(retries_left)
        return PIN

    with client.logon(USER, EVENT_FIDO2, "FIDO2:1") as logon:
        assert logon.current_method == "FIDO2:1"
        assert logon.sign_with_device(timeout=10, pin=pin) is ServerStatus.OK
        assert logon.login_session_id
    assert asked == []


def test_required_verification_on_a_key_without_pin_is_pin_required(uv_client: Client) -> None:
    with uv_client.logon(USER_UV, EVENT_FIDO2, "FIDO2:1") as logon:
        with pytest.raises(PinRequiredError) as raised:
            logon.sign_with_device(timeout=10, pin=lambda retries: PIN)
    error = raised.value
    assert isinstance(error, SecurityKeyError)
    assert error.status == Status.PIN_REQUIRED
    assert (error.device_code_kind, error.device_code) == (DeviceCodeKind.CTAP2_STATUS, 0x35)


def test_the_pin_callable_gets_the_retries_and_a_wrong_pin_says_how_many_are_left(
    uv_client: Client, uv_key: VirtualKey
) -> None:
    uv_key.set_pin(PIN)
    try:
        asked: List[int] = []

        def wrong(retries_left: int) -> str:
            asked.append(retries_left)
            return "0000"

        with uv_client.logon(USER_UV, EVENT_FIDO2, "FIDO2:1") as logon:
            with pytest.raises(PinInvalidError) as raised:
                logon.sign_with_device(timeout=10, pin=wrong)
            assert "7 retries left" in str(raised.value)
            assert (raised.value.device_code_kind, raised.value.device_code) == (DeviceCodeKind.CTAP2_STATUS, 0x31)
            assert asked == [8]
            assert uv_key.pin_retries == 7
            assert logon.sign_with_device(timeout=10, pin=lambda retries: PIN) is ServerStatus.OK
            assert uv_key.pin_retries == 8
    finally:
        uv_key.set_pin(None)


def test_a_blocked_pin_and_a_raising_pin_callable(uv_client: Client, uv_key: VirtualKey) -> None:
    uv_key.set_pin(PIN)
    try:

        class Refused(Exception):
            pass

        def raising(retries_left: int) -> str:
            raise Refused("the user closed the PIN dialog")

        with uv_client.logon(USER_UV, EVENT_FIDO2, "FIDO2:1") as logon:
            with pytest.raises(Refused):
                logon.sign_with_device(timeout=10, pin=raising)
            with pytest.raises(PinRequiredError):
                logon.sign_with_device(timeout=10, pin=lambda retries: None)
            uv_key.set_pin_retries(0)
            with pytest.raises(PinBlockedError):
                logon.sign_with_device(timeout=10, pin=lambda retries: PIN)
    finally:
        uv_key.set_pin(None)


def test_the_pin_must_be_callable(client: Client, virtual_key: VirtualKey) -> None:
    with client.logon(USER, EVENT_FIDO2, "FIDO2:1") as logon:
        with pytest.raises(TypeError):
            logon.sign_with_device(timeout=10, pin="1234")  # type: ignore[arg-type]
