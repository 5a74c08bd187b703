"""Misuse raises clear Python errors and never crashes: use after close, wrong types, bad
values, wrong states, configuration and TLS failures, a missing test library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENDPOINT_ID, ENDPOINT_SECRET, EVENT, PASSWORD, USER, Simulator

import aa_logon
from aa_logon import (
    Client,
    ClosedError,
    ConfigError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    MisuseError,
    NetworkError,
    TlsError,
)
from aa_logon.testing import Presence, VirtualDevices, VirtualKey

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def test_client_use_after_close_raises_closed_error(simulator: Simulator) -> None:
    client = simulator.client()
    client.close()
    client.close()  # idempotent
    assert client.closed
    with pytest.raises(ClosedError, match="Client is closed"):
        client.logon(USER, EVENT, "PASSWORD:1")
    with pytest.raises(ClosedError):
        client.chains(USER, EVENT)
    with pytest.raises(ClosedError):
        with client:
            pass


def test_logon_use_after_close_raises_closed_error(client: Client) -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        pass
    assert logon.closed
    for use in (
        lambda: logon.status,
        lambda: logon.message,
        lambda: logon.answer(PASSWORD),
        lambda: logon.sign_with_device(timeout=1),
        lambda: logon.next("U2F:1"),
        lambda: logon.abort(),
    ):
        with pytest.raises(ClosedError) as raised:
            use()
        assert isinstance(raised.value, InvalidHandleError)
        assert isinstance(raised.value, MisuseError)
    logon.cancel()  # cancelling a closed logon is a harmless no-op


def test_virtual_key_use_after_close(client: Client) -> None:
    key = VirtualKey("demo")
    key.close()
    with pytest.raises(ClosedError):
        key.attach(client)
    with pytest.raises(ClosedError):
        key.counter
    devices = VirtualDevices()
    devices.close()
    with pytest.raises(ClosedError):
        devices.hid_io()


def test_virtual_key_plug_states_are_checked(simulator: Simulator) -> None:
    with VirtualKey("not enrolled") as key, simulator.client() as client:
        with pytest.raises(InvalidStateError, match="no virtual key is attached"):
            key.detach(client)
        key.attach(client)
        with pytest.raises(InvalidStateError, match="already plugged"):
            key.attach(client)
        key.detach(client)
        with pytest.raises(InvalidStateError, match="not plugged"):
            key.detach(client)
    client.close()
    with pytest.raises(ClosedError):
        VirtualKey("not enrolled").attach(client)


def test_wrong_argument_types_raise_type_error(simulator: Simulator, client: Client) -> None:
    with pytest.raises(TypeError, match="base_url must be a str"):
        Client(42, ENDPOINT_ID, ENDPOINT_SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Client(simulator.base_url, ENDPOINT_ID, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="user_name must be a str"):
        client.logon(b"JAGUAR\\denis", EVENT, "PASSWORD:1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        simulator.client(request_timeout="10")
    with pytest.raises(TypeError):
        simulator.client(max_response_bytes=1.5)
    with pytest.raises(TypeError, match="allowed_app_id_hosts"):
        simulator.client(allowed_app_id_hosts="aa-sim.local")
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(TypeError):
            logon.answer(1234)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="prompt must be callable"):
            logon.sign_with_device(timeout=1, prompt="touch")  # type: ignore[arg-type]
    key = VirtualKey("demo")
    with pytest.raises(TypeError, match="aa_logon.Client"):
        key.attach("client")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="VirtualKey"):
        VirtualDevices().plug("key")  # type: ignore[arg-type]
    key.close()
    with pytest.raises(TypeError, match="HidIo"):
        client.set_hid_io(object())  # type: ignore[arg-type]


def test_values_c_cannot_carry_are_rejected(simulator: Simulator, client: Client) -> None:
    with pytest.raises(ValueError, match="NUL"):
        client.logon("JAGUAR\\denis\0admin", EVENT, "PASSWORD:1")
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(ValueError, match="NUL"):
            logon.answer("nov\0ell")
        with pytest.raises(ValueError, match="timeout"):
            logon.sign_with_device(timeout=0)
    with pytest.raises(ValueError):
        simulator.client(connect_timeout=-1)


def test_library_rejected_arguments_are_invalid_argument_errors(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        client.logon("", EVENT, "PASSWORD:1")
    assert isinstance(raised.value, ValueError)
    assert raised.value.message


def test_u2f_request_on_a_password_logon_is_invalid_state(client: Client) -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(InvalidStateError) as raised:
            logon.gather_sign_request()
        assert raised.value.message


def test_bad_configuration_is_config_error(simulator: Simulator, tmp_path: Path) -> None:
    with pytest.raises((ConfigError, InvalidArgumentError)):
        simulator.client(pinned_public_key_sha256="not hex")
    with pytest.raises(ConfigError) as raised:
        simulator.client(ca_file=tmp_path / "missing.pem")
    assert "missing.pem" in raised.value.message
    with pytest.raises((ConfigError, InvalidArgumentError)):
        Client("not a url", ENDPOINT_ID, ENDPOINT_SECRET)
    with pytest.raises(InvalidArgumentError):
        simulator.client(allowed_app_id_hosts=("https://aa-sim.local",))


def test_server_without_trusted_ca_is_tls_error(simulator: Simulator) -> None:
    with Client(simulator.base_url, ENDPOINT_ID, ENDPOINT_SECRET, request_timeout=10) as untrusting:
        with pytest.raises(TlsError) as raised:
            untrusting.logon(USER, EVENT, "PASSWORD:1")
    assert isinstance(raised.value, NetworkError)


def test_wrong_pin_is_tls_error(simulator: Simulator) -> None:
    with simulator.client(pinned_public_key_sha256="00" * 32) as pinned:
        with pytest.raises(TlsError):
            pinned.chains(USER, EVENT)


def test_closed_port_is_network_error(simulator: Simulator) -> None:
    with Client("https://127.0.0.1:9", ENDPOINT_ID, ENDPOINT_SECRET, connect_timeout=2) as unreachable:
        with pytest.raises(NetworkError):
            unreachable.chains(USER, EVENT)


def test_virtual_key_presence_must_be_known(client: Client) -> None:
    with VirtualKey("demo") as key:
        with pytest.raises(ValueError):
            key.set_presence(99)  # type: ignore[arg-type]
        key.set_presence(Presence.AFTER_DELAY, delay=0.1)


def test_missing_testkit_library_gives_a_clear_error_and_libaa_logon_still_works(tmp_path: Path) -> None:
    missing = tmp_path / "libaa_logon_testkit.so"
    environment = dict(os.environ, AA_LOGON_TESTKIT_LIBRARY=str(missing))
    script = (
        "import aa_logon\n"
        "from aa_logon import testing\n"
        "print('available:', testing.virtual_device_available())\n"
        "try:\n"
        "    testing.VirtualKey('demo')\n"
        "except testing.VirtualDeviceUnavailableError as e:\n"
        "    print(e)\n"
        "print('libaa_logon', aa_logon.library_version())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PACKAGE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert "available: False" in message
    assert "libaa_logon_testkit" in message and "aa-logon-testkit" in message
    assert "AA_LOGON_TESTKIT_LIBRARY" in message
    assert "next to the package" in message
    assert "system library path" in message
    assert str(missing) in message
    assert f"libaa_logon {aa_logon.library_version()}" in message


def test_missing_library_error_names_all_three_places(tmp_path: Path) -> None:
    environment = dict(os.environ, AA_LOGON_LIBRARY=str(tmp_path / "libaa_logon.so"))
    script = "import aa_logon\ntry:\n    aa_logon.library_version()\nexcept aa_logon.LibraryLoadError as e:\n    print(e)\n"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PACKAGE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert "AA_LOGON_LIBRARY" in message
    assert "next to the package" in message
    assert "system library path" in message
    assert str(tmp_path / "libaa_logon.so") in message
