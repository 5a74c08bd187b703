"""``VirtualKey(seed, state_file=...)``: the counter is kept in a file, so keys made one after
another (as successive test processes make them) log on against one simulator that checks
counters. Uses a simulator of its own: the session's one has seen the demo key's counters."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from conftest import APP_ID_HOST, ENDPOINT_ID, ENDPOINT_SECRET, EVENT, KEY_SEED, USER, _first_line

from aa_logon import Client, InvalidArgumentError, ServerStatus
from aa_logon.testing import VirtualKey


@pytest.fixture
def fresh_simulator(tmp_path: Path) -> Iterator[Client]:
    binary = os.environ.get("AA_SIM_BIN")
    if not binary:
        pytest.fail("AA_SIM_BIN is not set: point it at the aa-sim binary")
    ca_file = tmp_path / "ca.pem"
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--ca-out", str(ca_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = _first_line(process, 30.0)
        assert line and line.startswith("https://"), f"aa-sim printed {line!r}"
        with Client(
            line.strip(), ENDPOINT_ID, ENDPOINT_SECRET, ca_file=ca_file, allowed_app_id_hosts=(APP_ID_HOST,)
        ) as client:
            yield client
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _logon(client: Client, key: VirtualKey) -> ServerStatus:
    key.attach(client)
    try:
        with client.logon(USER, EVENT, "U2F:1") as logon:
            return logon.sign_with_device(timeout=10)
    finally:
        key.detach(client)


def test_keys_made_one_after_another_keep_logging_on(fresh_simulator: Client, tmp_path: Path) -> None:
    state = tmp_path / "demo.state"
    for run in range(1, 4):
        with VirtualKey(KEY_SEED, state_file=state) as key:
            assert key.counter == run - 1
            assert _logon(fresh_simulator, key) is ServerStatus.OK
            assert key.counter == run
    assert state.read_text(encoding="utf-8").endswith("counter 3\n")


def test_a_state_file_of_another_seed_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "other.state"
    VirtualKey("someone-else", state_file=state).close()
    with pytest.raises(InvalidArgumentError, match="another seed"):
        VirtualKey(KEY_SEED, state_file=state)
