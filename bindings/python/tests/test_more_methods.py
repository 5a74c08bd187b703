"""SMARTPHONE:1 (approved, rejected, timed out, cancelled, offline code), VOICE:1, SECQUEST:1,
EMERG_PASSWORD:1, RADIUS:1 with its Access-Challenge, VOICE_OTP:1, a PASSWORD:1 -> SMARTPHONE:1
chain chosen with ``next_methods``, and CARD:1 / FINGER:1 through ``answer_json``.

The waits end by events: the prompt callback plays the phone through the simulator's
``/sim/v1/approvals`` route, or wakes the thread that cancels."""

from __future__ import annotations

import threading
from typing import List

import pytest
from conftest import EVENT, USER, Simulator

from aa_logon import (
    Cancelled,
    Client,
    InvalidArgumentError,
    InvalidStateError,
    LogonFailed,
    LogonStopped,
    Prompt,
    ServerStatus,
)

USER_PHONE_APPROVES = "JAGUAR\\approver"
USER_PHONE_APPROVES_PASSWORD = "approve-me"
USER_PHONE_REJECTS = "JAGUAR\\rejecter"
EVENT_REMOTE_ACCESS = "Remote Access"
SECURITY_ANSWERS = {"6": "blue", "7": "Ada Lovelace", "9": "Jaguar Bay"}
FINGERPRINT_ISO = "Rk1SACAyMAAQERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
FAST_POLL = 0.02
GENEROUS = 60.0


def test_a_push_approved_on_the_phone_logs_on(simulator: Simulator, client: Client) -> None:
    told: List[Prompt] = []

    def approve_on_phone(prompt: Prompt) -> None:
        told.append(prompt)
        assert simulator.decide_approval("approve") == 1

    with client.logon(USER, EVENT, "SMARTPHONE:1") as logon:
        status = logon.wait_for_approval(timeout=GENEROUS, poll_interval=FAST_POLL, prompt=approve_on_phone)
        assert status is ServerStatus.OK
        assert logon.login_session_id
    assert told == [Prompt.APPROVE_ON_PHONE]


def test_a_rejected_push_is_logon_stopped(client: Client) -> None:
    with client.logon(USER_PHONE_REJECTS, EVENT, "SMARTPHONE:1") as logon:
        with pytest.raises(LogonStopped) as raised:
            logon.wait_for_approval(timeout=GENEROUS, poll_interval=FAST_POLL)
        assert raised.value.reason == "AUTH_REJECTED"
        assert logon.status is ServerStatus.STOP
        assert logon.message == "Auth rejected"


def test_no_approval_in_time_is_a_timeout_error_and_the_logon_lives_on(simulator: Simulator, client: Client) -> None:
    with client.logon(USER, EVENT, "SMARTPHONE:1") as logon:
        with pytest.raises(TimeoutError):
            logon.wait_for_approval(timeout=0.1, poll_interval=FAST_POLL)
        assert logon.status is ServerStatus.MORE_DATA

        # Still pending on the server: a second wait sees the phone's answer.
        def approve_on_phone(_prompt: Prompt) -> None:
            simulator.decide_approval("approve")

        status = logon.wait_for_approval(timeout=GENEROUS, poll_interval=FAST_POLL, prompt=approve_on_phone)
        assert status is ServerStatus.OK


def test_cancel_from_another_thread_ends_the_wait(client: Client) -> None:
    prompted = threading.Event()
    with client.logon(USER, EVENT, "SMARTPHONE:1") as logon:

        def cancel_once_prompted() -> None:
            assert prompted.wait(GENEROUS), "the wait never prompted"
            logon.cancel()

        canceller = threading.Thread(target=cancel_once_prompted)
        canceller.start()
        try:
            with pytest.raises(Cancelled):
                logon.wait_for_approval(timeout=GENEROUS, poll_interval=FAST_POLL, prompt=lambda _: prompted.set())
        finally:
            prompted.set()
            canceller.join()
        assert logon.status is ServerStatus.MORE_DATA, "a cancel leaves the logon usable"


def test_a_raising_prompt_cancels_the_wait_and_is_re_raised(client: Client) -> None:
    class Refused(Exception):
        pass

    def refuse(_prompt: Prompt) -> None:
        raise Refused()

    with client.logon(USER, EVENT, "SMARTPHONE:1") as logon:
        with pytest.raises(Refused) as raised:
            logon.wait_for_approval(timeout=GENEROUS, poll_interval=FAST_POLL, prompt=refuse)
        assert isinstance(raised.value.__cause__, Cancelled)
        with pytest.raises(TypeError):
            logon.wait_for_approval(prompt="not callable")  # type: ignore[arg-type]


def test_voice_call_and_only_out_of_band_methods_are_waited_for(client: Client) -> None:
    told: List[Prompt] = []
    with client.logon(USER_PHONE_APPROVES, EVENT, "VOICE:1") as logon:
        assert logon.wait_for_approval(poll_interval=FAST_POLL, prompt=told.append) is ServerStatus.OK
    assert told == [Prompt.ANSWER_CALL]
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(InvalidStateError):
            logon.wait_for_approval(poll_interval=FAST_POLL)
        with pytest.raises(ValueError):
            logon.wait_for_approval(poll_interval=0)


def test_the_smartphone_offline_code(simulator: Simulator, client: Client) -> None:
    with client.logon(USER, EVENT, "SMARTPHONE:1") as logon:
        assert logon.answer_offline_totp(simulator.smartphone_totp()) is ServerStatus.OK


def test_security_questions_then_all_answers_in_one_call(client: Client) -> None:
    with client.logon(USER, EVENT, "SECQUEST:1") as logon:
        questions = logon.questions
        assert questions == {
            "6": "What hue are your shoes?",
            "7": "Who is your hero?",
            "9": "Where were you born?",
        }
        with pytest.raises(InvalidArgumentError):
            logon.answer_questions({"6": "blue"})
        assert logon.answer_questions({**SECURITY_ANSWERS, "9": bytearray(b"Jaguar Bay")}) is ServerStatus.OK
    with client.logon(USER, EVENT, "SECQUEST:1") as logon:
        with pytest.raises(LogonFailed) as raised:
            logon.answer_questions({**SECURITY_ANSWERS, "7": 'Grace "Amazing" Hopper\\'})
        assert raised.value.reason == "SECQUEST_WRONG_ANSWERS"
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        with pytest.raises(InvalidStateError):
            logon.questions


def test_emergency_password_radius_challenge_and_voice_otp(simulator: Simulator, client: Client) -> None:
    with client.logon(USER, EVENT, "EMERG_PASSWORD:1") as logon:
        assert logon.answer("in-case-of-fire") is ServerStatus.OK
    with client.logon(USER, EVENT, "RADIUS:1") as logon:
        # The Access-Challenge is no verdict: MORE_DATA with the challenge's prompt.
        assert logon.answer("radius-novell") is ServerStatus.MORE_DATA
        assert logon.message == "Enter the code shown on your token"
        assert logon.answer("424242") is ServerStatus.OK
    with client.logon(USER, EVENT, "VOICE_OTP:1") as logon:
        assert logon.request_challenge() is ServerStatus.MORE_DATA
        assert logon.answer(simulator.sent_otps()[-1]) is ServerStatus.OK


def test_a_password_then_smartphone_chain_with_next_methods(client: Client) -> None:
    with client.logon(USER_PHONE_APPROVES, EVENT_REMOTE_ACCESS, "PASSWORD:1") as logon:
        before = logon.next_methods
        assert before == (), "nothing comes next before NEXT"
        assert logon.answer(USER_PHONE_APPROVES_PASSWORD) is ServerStatus.NEXT
        after = logon.next_methods
        assert after == ("SMARTPHONE:1", "VOICE:1")
        logon.next(after[0])
        assert logon.wait_for_approval(poll_interval=FAST_POLL) is ServerStatus.OK
        assert logon.completed_methods == ("PASSWORD:1", "SMARTPHONE:1")


def test_card_and_fingerprint_through_answer_json(client: Client) -> None:
    with client.logon(USER, EVENT, "CARD:1") as logon:
        with pytest.raises(InvalidArgumentError):
            logon.answer_json('["04a1b2c3d4e5f6"]')
        with pytest.raises(TypeError):
            logon.answer_json(42)  # type: ignore[arg-type]
        assert logon.answer_json('{"card_uid": "04a1b2c3d4e5f6", "card_cert": ""}') is ServerStatus.OK
    with client.logon(USER, EVENT, "FINGER:1") as logon:
        capture = {"capture": {"ISO": FINGERPRINT_ISO, "captureStatus": "OK"}}
        assert logon.answer_json(capture) is ServerStatus.OK
        assert logon.response["score"] == 45
