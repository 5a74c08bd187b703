"""1,000 logons in a loop neither grow the process's memory nor leak library objects.

Figures are printed (run pytest with -s to see them); the asserted bounds are generous so the
test catches leaks, not noise.
"""

from __future__ import annotations

import gc
import os
import time

import pytest
from conftest import EVENT, PASSWORD, USER

from aa_logon import Client, LogonFailed, ServerStatus
from aa_logon import testing as aa_testing
from aa_logon.hid import installed_python_ios
from aa_logon.testing import VirtualDevices, VirtualKey, live_objects

LOGONS = 1000
WARM_UP = 100
# A leak of one small buffer per logon stays far below this; a leaked handle, response or
# string per logon (kilobytes each) goes far above it.
MAX_RSS_GROWTH_BYTES = 8 * 1024 * 1024


def resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def one_logon(client: Client, index: int) -> None:
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        if index % 10 == 9:  # every tenth attempt fails, exercising the error path too
            with pytest.raises(LogonFailed):
                logon.answer("wrong")
            return
        assert logon.answer(PASSWORD) is ServerStatus.OK
        assert logon.login_session_id
        assert logon.user.name


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_thousand_logons_do_not_grow_memory_or_leak_handles(client: Client) -> None:
    for index in range(WARM_UP):
        one_logon(client, index)
    gc.collect()
    objects_before = live_objects()
    rss_before = resident_bytes()
    started = time.monotonic()

    for index in range(LOGONS):
        one_logon(client, index)

    elapsed = time.monotonic() - started
    gc.collect()
    rss_after = resident_bytes()
    objects_after = live_objects()
    growth = rss_after - rss_before
    print(
        f"\n{LOGONS} password logons in {elapsed:.1f} s ({elapsed / LOGONS * 1000:.1f} ms each); "
        f"RSS {rss_before / 1048576:.1f} MiB -> {rss_after / 1048576:.1f} MiB "
        f"(growth {growth / 1024:+.0f} KiB, {growth / LOGONS:+.0f} B per logon); "
        f"live library objects {objects_before} -> {objects_after}"
    )
    assert objects_after == objects_before
    assert growth < MAX_RSS_GROWTH_BYTES


def test_every_object_kind_is_freed(client: Client, virtual_key: VirtualKey) -> None:
    gc.collect()
    baseline = live_objects()
    testkit_baseline = aa_testing.live_testkit_objects()
    with client.logon(USER, EVENT, "U2F:1") as logon:
        logon.gather_sign_request()
        logon.sign_with_device(timeout=10)
        _ = (logon.user, logon.chains, logon.response, logon.message, logon.msgid, logon.reason)
    with pytest.raises(LogonFailed):
        with client.logon(USER, EVENT, "PASSWORD:1") as failing:
            failing.answer("wrong")
    # Objects dropped without close() are freed by garbage collection.
    client.logon(USER, EVENT, "PASSWORD:1").abort()
    VirtualKey("demo")
    VirtualDevices().hid_io()  # an io never given to a client drops its reference when collected
    gc.collect()
    assert live_objects() == baseline
    assert aa_testing.live_testkit_objects() == testkit_baseline
    assert installed_python_ios() == 0
