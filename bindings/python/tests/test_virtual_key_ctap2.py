"""The CTAP2 settings of ``aa_logon.testing.VirtualKey``: the protocols a key speaks, its PIN and
PIN retries, built-in user verification and the cancels it saw; and U2F:1 logons through keys
that speak only U2F or only CTAP2.

Each logon uses a simulator of its own: a new key starts its signature counter at 0, and the
session's simulator has already accepted higher counters from the demo key of the same seed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import KEY_SEED, u2f_logon

from aa_logon import Client, InvalidArgumentError, ServerStatus
from aa_logon.testing import KeyProtocols, VirtualKey




@pytest.mark.parametrize("protocols", list(KeyProtocols))
def test_a_key_of_each_protocol_setting_reports_its_settings(protocols: KeyProtocols) -> None:
    with VirtualKey(KEY_SEED, protocols=protocols) as key:
        assert key.protocols is protocols
        assert key.counter == 0
        assert key.pin_retries == 8
        assert key.cancels_seen == 0
        assert not key.is_waiting_for_touch
        key.set_pin("4711")
        key.set_uv(available=True, succeeds=False)
        key.set_uv(available=False)


def test_the_default_key_speaks_both_protocols() -> None:
    with VirtualKey(KEY_SEED) as key:
        assert key.protocols is KeyProtocols.BOTH


def test_protocols_that_are_not_key_protocols_are_refused() -> None:
    with pytest.raises(ValueError, match="protocols must be one of"):
        VirtualKey(KEY_SEED, protocols=7)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="protocols must be"):
        VirtualKey(KEY_SEED, protocols="BOTH")  # type: ignore[arg-type]


def test_a_state_file_goes_with_both_protocols_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="state_file"):
        VirtualKey(KEY_SEED, protocols=KeyProtocols.U2F_ONLY, state_file=tmp_path / "demo.state")


def test_pin_retries_round_trip() -> None:
    with VirtualKey(KEY_SEED) as key:
        assert key.pin_retries == 8
        key.pin_retries = 3
        assert key.pin_retries == 3
        key.pin_retries = 0  # blocked
        assert key.pin_retries == 0
        key.pin_retries = 200  # more than a key has: counts as 8
        assert key.pin_retries == 8
        key.set_pin_retries(2)
        assert key.pin_retries == 2
        key.set_pin("4711")  # setting (or removing) the PIN resets the retries
        assert key.pin_retries == 8
        key.pin_retries = 5
        key.set_pin(None)
        assert key.pin_retries == 8
        with pytest.raises(ValueError, match="negative"):
            key.pin_retries = -1
        with pytest.raises(TypeError):
            key.pin_retries = True


def test_an_empty_pin_is_refused_with_the_testkit_message() -> None:
    with VirtualKey(KEY_SEED) as key:
        with pytest.raises(InvalidArgumentError, match="(?i)pin"):
            key.set_pin("")
        with pytest.raises(TypeError):
            key.set_pin(4711)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="NUL"):
            key.set_pin("47\x0011")


def test_a_u2f_logon_through_a_u2f_only_key_succeeds(fresh_client: Client) -> None:
    with VirtualKey(KEY_SEED, protocols=KeyProtocols.U2F_ONLY) as key:
        assert u2f_logon(fresh_client, key) is ServerStatus.OK
        assert key.counter == 1


def test_a_u2f_logon_through_a_ctap2_only_key_succeeds(fresh_client: Client) -> None:
    # A CTAP2-only key refuses CTAPHID_MSG: the library signs the U2F:1 request with CTAP2
    # getAssertion (the appid extension) instead.
    with VirtualKey(KEY_SEED, protocols=KeyProtocols.CTAP2_ONLY) as key:
        assert u2f_logon(fresh_client, key) is ServerStatus.OK
        # At least the signature sent; a silent (no-touch) credential probe may count as well.
        assert key.counter >= 1
