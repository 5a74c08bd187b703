"""Password, TOTP and SMS OTP logons, server errors, chains and login sessions."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import EVENT, PASSWORD, USER, Simulator, calls_besides_string_free

from aa_logon import AaError, Client, LogonFailed, ServerError, ServerStatus, Status


def test_password_logon_then_session_and_logout(client: Client) -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        assert logon.status is ServerStatus.MORE_DATA
        assert logon.answer(PASSWORD) is ServerStatus.OK
        session_id = logon.login_session_id
        assert session_id
        assert logon.user.name is not None and logon.user.name.endswith("denis")
    assert client.login_session(session_id).user_name is not None
    client.logout(session_id)
    with pytest.raises(ServerError) as raised:
        client.logout(session_id)
    assert raised.value.http_status == 434


def test_wrong_password_is_logon_failed_with_msgid_and_message(client: Client) -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(LogonFailed) as raised:
            logon.answer("not the password")
        error = raised.value
        assert error.status is Status.LOGON_FAILED
        assert error.msgid == "AUCORE-2007"
        assert error.reason == "PASSWORD_WRONG"
        assert error.message and str(error) == error.message
        assert "AUCORE-2007" in repr(error)
        # Not a security key's failure: no device code.
        assert (error.device_code_kind, error.device_code) == (None, None)
        # The logon records the same verdict.
        assert logon.status is ServerStatus.FAILED
        assert logon.msgid == "AUCORE-2007"
        assert logon.reason == "PASSWORD_WRONG"
        assert logon.message


def test_bytes_and_bytearray_secrets(client: Client) -> None:
    for secret in (PASSWORD.encode(), bytearray(PASSWORD.encode())):
        with client.logon(USER, EVENT, "PASSWORD:1") as logon:
            assert logon.answer(secret) is ServerStatus.OK


def test_unknown_user_is_server_error_400_aucore_1056(client: Client) -> None:
    with pytest.raises(ServerError) as raised:
        client.logon("JAGUAR\\nobody", EVENT, "PASSWORD:1")
    error = raised.value
    assert isinstance(error, AaError)
    assert error.status is Status.SERVER_ERROR
    assert error.http_status == 400
    assert error.msgid == "AUCORE-1056"
    assert error.reason == "USER_NOT_FOUND"
    assert error.message
    assert (error.device_code_kind, error.device_code) == (None, None)


def test_totp_logon_with_the_simulators_code(simulator: Simulator, client: Client) -> None:
    with client.logon(USER, EVENT, "TOTP:1") as logon:
        assert logon.answer(simulator.totp()) is ServerStatus.OK
        assert logon.login_session_id


def test_sms_otp_logon_in_two_steps(simulator: Simulator, client: Client) -> None:
    with client.logon(USER, EVENT, "SMS_OTP:1") as logon:
        assert logon.request_challenge() is ServerStatus.MORE_DATA
        sent = simulator.sent_otps()
        assert sent, "the simulator sent an OTP"
        assert logon.answer(sent[-1]) is ServerStatus.OK
        assert logon.completed_methods == ("SMS_OTP:1",)
        assert logon.login_session_id


def test_chains_of_the_demo_user(client: Client) -> None:
    info = client.chains(USER, EVENT)
    assert not info.user_is_locked
    names = {chain.name for chain in info.chains}
    assert {"U2F only", "LDAP + U2F", "Password", "TOTP Only", "SMS OTP"} <= names
    ldap_u2f = info.by_name("LDAP + U2F")
    assert ldap_u2f is not None
    assert ldap_u2f.methods == ("LDAP_PASSWORD:1", "U2F:1")
    u2f_only = info.by_name("U2F only")
    assert u2f_only is not None and u2f_only.methods == ("U2F:1",)
    assert info.by_name("no such chain") is None


def test_abort_ends_the_process_on_the_server(client: Client) -> None:
    with client.logon(USER, EVENT, "LDAP_PASSWORD:1") as logon:
        assert logon.answer(PASSWORD) is ServerStatus.NEXT
        logon.abort()
        with pytest.raises(AaError):
            logon.next("U2F:1")


def test_logon_outlives_its_client(simulator: Simulator) -> None:
    client = simulator.client()
    logon = client.logon(USER, EVENT, "PASSWORD:1")
    client.close()
    try:
        assert logon.answer(PASSWORD) is ServerStatus.OK
    finally:
        logon.close()


def test_user_is_one_c_call_with_every_field(client: Client, c_calls: "Counter[str]") -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        assert logon.answer(PASSWORD) is ServerStatus.OK
        c_calls.clear()
        user = logon.user
        assert calls_besides_string_free(c_calls) == {"aa_logon_user_json": 1}

        assert user.name is not None and user.name.endswith("denis")
        assert user.id and user.fields["user_id"] == user.id
        user_fields = {name: value for name, value in user.fields.items() if name.startswith("user_")}
        assert len(user_fields) >= 2
        # The one JSON answer holds what the per-field accessor gives, field by field.
        for name, value in user_fields.items():
            assert logon.user_field(name) == value
        sent = {name for name in logon.response if name.startswith("user_")}
        scalar = {name for name in sent if isinstance(logon.response[name], (str, int, float, bool))}
        assert scalar <= set(user_fields)
