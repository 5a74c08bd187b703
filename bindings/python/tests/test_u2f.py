"""U2F logons with the virtual key against the simulator: the seed's flow, a chain, prompts,
cancellation from another thread, key failures and exceptions raised by prompt callbacks.

Nothing here sleeps to wait for a state: tests wait on prompt callbacks and on the key's own
"waiting for a touch" state, and assert outcomes (which exception, which status), not durations.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections import Counter
from ctypes import c_size_t
from typing import List

import pytest
from conftest import EVENT, PASSWORD, USER, Simulator, calls_besides_string_free

from aa_logon import (
    Cancelled,
    Client,
    ClosedError,
    DeviceInfo,
    HandleBusyError,
    LogonFailed,
    MalformedServerDataError,
    NoDeviceError,
    NoMatchingKeyError,
    Prompt,
    ServerStatus,
    SignRequest,
    UserPresenceTimeout,
)
from aa_logon._calls import call, call_string
from aa_logon._generated import SignRequestField
from aa_logon.testing import Presence, VirtualKey


def test_u2f_logon_reaches_ok_with_session_and_user(client: Client, virtual_key: VirtualKey) -> None:
    counter_before = virtual_key.counter
    with client.logon(USER, EVENT, "U2F:1") as logon:
        assert (logon.status, logon.current_method, logon.login_session_id) == (ServerStatus.MORE_DATA, "U2F:1", None)

        requests = logon.gather_sign_request()
        assert len(requests) >= 1
        assert all(isinstance(request, SignRequest) for request in requests)
        assert requests[0].version == "U2F_V2"
        assert requests[0].app_id == "https://aa-sim.local"
        assert requests[0].challenge and requests[0].key_handle

        assert logon.sign_response is None
        assert logon.sign_with_device(timeout=10) is ServerStatus.OK
        assert logon.status is ServerStatus.OK
        sent = logon.sign_response
        assert sent is not None and sent["keyHandle"] == requests[0].key_handle
        assert sent["clientData"] and sent["signatureData"]
        session_id = logon.login_session_id
        assert session_id
        user = logon.user
        assert user.name is not None and user.name.endswith("denis")
        assert user.id
        assert user.fields["user_name"] == user.name
        assert logon.user_field("user_id") == user.id
        assert logon.user_field("user_no_such_field") is None
        assert logon.completed_methods == ("U2F:1",)
        assert logon.response["status"] == "OK"
        assert logon.process_id
    assert virtual_key.counter == counter_before + 1

    session = client.login_session(session_id)
    assert session.login_session_id == session_id
    assert session.user_name is not None and session.user_name.endswith("denis")
    assert session.event_name == EVENT
    client.logout(session_id)


def test_devices_lists_the_plugged_in_key(client: Client, virtual_key: VirtualKey) -> None:
    devices = client.devices()
    assert len(devices) == 1
    device = devices[0]
    assert isinstance(device, DeviceInfo)
    assert device.path.startswith("virtual:")
    assert device.vendor_id > 0 and device.product_id > 0
    assert device.product


def test_ldap_password_then_u2f_chain(client: Client, virtual_key: VirtualKey) -> None:
    with client.logon(USER, EVENT, "LDAP_PASSWORD:1") as logon:
        assert logon.answer(PASSWORD) is ServerStatus.NEXT
        assert (logon.completed_methods, logon.login_session_id) == (("LDAP_PASSWORD:1",), None)

        assert logon.next("U2F:1") is ServerStatus.MORE_DATA
        assert logon.current_method == "U2F:1"
        assert logon.sign_with_device(timeout=10) is ServerStatus.OK
        assert logon.completed_methods == ("LDAP_PASSWORD:1", "U2F:1")
        assert logon.login_session_id
        chain_names = {chain.name for chain in logon.chains}
        assert "LDAP + U2F" in chain_names


def test_prompt_callback_sees_touch_key_then_touched(client: Client, virtual_key: VirtualKey) -> None:
    prompts: List[Prompt] = []
    with client.logon(USER, EVENT, "U2F:1") as logon:
        logon.sign_with_device(timeout=10, prompt=prompts.append)
    assert Prompt.TOUCH_KEY in prompts
    assert Prompt.TOUCHED in prompts
    assert prompts.index(Prompt.TOUCH_KEY) < prompts.index(Prompt.TOUCHED)
    assert all(isinstance(prompt, Prompt) for prompt in prompts)


def test_touch_on_demand_from_another_thread(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.set_presence(Presence.ON_DEMAND)
    touched: List[bool] = []

    def touch_once_the_key_waits() -> None:
        # As a user would: when the key asks for it, not after a guessed delay.
        touched.append(virtual_key.wait_for_touch_request(10))
        virtual_key.touch()

    toucher = threading.Thread(target=touch_once_the_key_waits)

    def touch_when_asked(prompt: Prompt) -> None:
        if prompt is Prompt.TOUCH_KEY:
            toucher.start()

    with client.logon(USER, EVENT, "U2F:1") as logon:
        assert logon.sign_with_device(timeout=10, prompt=touch_when_asked) is ServerStatus.OK
    toucher.join(10)
    assert touched == [True]


def test_cancel_from_another_thread_then_complete(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.set_presence(Presence.NEVER)
    touch_prompted = threading.Event()
    with client.logon(USER, EVENT, "U2F:1") as logon:
        cancelled_at: List[float] = []
        key_was_waiting: List[bool] = []

        def cancel_while_the_key_waits() -> None:
            touch_prompted.wait(10)
            key_was_waiting.append(virtual_key.wait_for_touch_request(10))
            cancelled_at.append(time.monotonic())
            logon.cancel()

        canceller = threading.Thread(target=cancel_while_the_key_waits)
        canceller.start()
        # The timeout is far off: only the cancel can end this wait with Cancelled.
        with pytest.raises(Cancelled) as raised:
            logon.sign_with_device(
                timeout=60, prompt=lambda prompt: touch_prompted.set() if prompt is Prompt.TOUCH_KEY else None
            )
        returned_at = time.monotonic()
        canceller.join()
        print(f"cancel took effect after {(returned_at - cancelled_at[0]) * 1000:.0f} ms")
        assert key_was_waiting == [True]
        assert raised.value.message

        # The logon stays usable: with a touch it completes.
        virtual_key.set_presence(Presence.ALWAYS)
        assert logon.sign_with_device(timeout=10) is ServerStatus.OK
        assert logon.login_session_id


def test_other_calls_during_a_wait_are_busy_and_close_cancels_it(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.set_presence(Presence.NEVER)
    waiting = threading.Event()
    outcome: List[BaseException] = []
    logon = client.logon(USER, EVENT, "U2F:1")

    def sign() -> None:
        try:
            logon.sign_with_device(timeout=20, prompt=lambda prompt: waiting.set())
        except BaseException as error:
            outcome.append(error)

    signer = threading.Thread(target=sign)
    signer.start()
    assert waiting.wait(10)
    with pytest.raises(HandleBusyError):
        logon.answer(PASSWORD)
    logon.close()  # from this thread: cancels the wait, then frees the handle
    signer.join(5)
    assert not signer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    with pytest.raises(ClosedError):
        logon.status


def test_untouched_key_times_out(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.set_presence(Presence.NEVER)
    with client.logon(USER, EVENT, "U2F:1") as logon:
        with pytest.raises(UserPresenceTimeout) as raised:
            logon.sign_with_device(timeout=0.5)
        assert isinstance(raised.value, TimeoutError)
        assert virtual_key.is_waiting_for_touch  # it timed out waiting for the touch, as it should


def test_key_of_another_seed_is_no_matching_key(client: Client) -> None:
    with VirtualKey("not enrolled") as stranger, client.logon(USER, EVENT, "U2F:1") as logon:
        stranger.attach(client)
        with pytest.raises(NoMatchingKeyError):
            logon.sign_with_device(timeout=1)


def test_unplugged_key_is_no_device_until_plugged_back(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.detach(client)
    prompts: List[Prompt] = []
    with client.logon(USER, EVENT, "U2F:1") as logon:
        with pytest.raises(NoDeviceError):
            logon.sign_with_device(timeout=0.5, prompt=prompts.append)
        assert prompts == [Prompt.INSERT_KEY]

        virtual_key.attach(client)
        assert logon.sign_with_device(timeout=10) is ServerStatus.OK


class CallbackBug(Exception):
    pass


def test_exception_in_prompt_callback_is_reraised_after_the_call(client: Client, virtual_key: VirtualKey) -> None:
    virtual_key.set_presence(Presence.NEVER)

    def broken(prompt: Prompt) -> None:
        raise CallbackBug(f"bug at {prompt.name}")

    with client.logon(USER, EVENT, "U2F:1") as logon:
        with pytest.raises(CallbackBug, match="bug at TOUCH_KEY") as raised:
            logon.sign_with_device(timeout=60, prompt=broken)
        # The callback's failure cancelled the wait instead of leaving it to the timeout.
        assert isinstance(raised.value.__cause__, Cancelled)

        # Nothing was left broken: the same logon completes.
        virtual_key.set_presence(Presence.ALWAYS)
        assert logon.sign_with_device(timeout=10) is ServerStatus.OK


def test_exception_after_the_touch_still_completes_the_logon(client: Client, virtual_key: VirtualKey) -> None:
    def broken_after_touch(prompt: Prompt) -> None:
        if prompt is Prompt.TOUCHED:
            raise CallbackBug("after the touch")

    with client.logon(USER, EVENT, "U2F:1") as logon:
        with pytest.raises(CallbackBug):
            logon.sign_with_device(timeout=10, prompt=broken_after_touch)
        assert logon.status is ServerStatus.OK
        assert logon.login_session_id


def test_forged_sign_response_is_rejected(client: Client) -> None:
    with client.logon(USER, EVENT, "U2F:1") as logon:
        key_handle = logon.gather_sign_request()[0].key_handle
        forged = {"keyHandle": key_handle, "clientData": "e30", "signatureData": "AQ"}
        with pytest.raises(LogonFailed) as raised:
            logon.forward_sign_response(forged)
        assert raised.value.message
        assert logon.status is ServerStatus.FAILED


def test_gather_sign_request_is_one_c_call(client: Client, c_calls: "Counter[str]") -> None:
    with client.logon(USER, EVENT, "U2F:1") as logon:
        c_calls.clear()
        requests = logon.gather_sign_request()
        assert calls_besides_string_free(c_calls) == {"aa_logon_gather_sign_request": 1}
        assert c_calls["aa_string_free"] == 1

        # The parsed JSON says what the library's per-field accessors say.
        handle = logon._handle.get()
        count = c_size_t()
        call("aa_logon_sign_request_count", handle, ctypes.byref(count))
        assert len(requests) == count.value >= 1
        for index, request in enumerate(requests):
            assert request == SignRequest(
                version=call_string("aa_logon_sign_request_field", handle, index, SignRequestField.VERSION),
                challenge=call_string("aa_logon_sign_request_field", handle, index, SignRequestField.CHALLENGE),
                key_handle=call_string("aa_logon_sign_request_field", handle, index, SignRequestField.KEY_HANDLE),
                app_id=call_string("aa_logon_sign_request_field", handle, index, SignRequestField.APP_ID),
            )


def test_an_app_id_of_another_host_is_refused_unless_allowed(simulator: Simulator, demo_key: VirtualKey) -> None:
    demo_key.set_presence(Presence.ALWAYS)
    counter_before = demo_key.counter
    with simulator.client(allowed_app_id_hosts=()) as strict:
        demo_key.attach(strict)
        with strict.logon(USER, EVENT, "U2F:1") as logon:
            with pytest.raises(MalformedServerDataError, match="aa-sim.local"):
                logon.gather_sign_request()
            with pytest.raises(MalformedServerDataError):
                logon.sign_with_device(timeout=10)
    assert demo_key.counter == counter_before  # refused before any key was used
    with simulator.client(allowed_app_id_hosts=(), danger_disable_app_id_check=True) as lab:
        demo_key.attach(lab)
        with lab.logon(USER, EVENT, "U2F:1") as logon:
            assert logon.sign_with_device(timeout=10) is ServerStatus.OK
    assert demo_key.counter == counter_before + 1
