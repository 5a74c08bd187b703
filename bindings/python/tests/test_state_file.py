"""``VirtualKey(seed, state_file=...)``: the counter is kept in a file, so keys made one after
another (as successive test processes make them) log on against one simulator that checks
counters. Uses a simulator of its own: the session's one has seen the demo key's counters."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import KEY_SEED, u2f_logon

from aa_logon import Client, InvalidArgumentError, ServerStatus
from aa_logon.testing import VirtualKey




def test_keys_made_one_after_another_keep_logging_on(fresh_client: Client, tmp_path: Path) -> None:
    state = tmp_path / "demo.state"
    for run in range(1, 4):
        with VirtualKey(KEY_SEED, state_file=state) as key:
            assert key.counter == run - 1
            assert u2f_logon(fresh_client, key) is ServerStatus.OK
            assert key.counter == run
    assert state.read_text(encoding="utf-8").endswith("counter 3\n")


def test_a_state_file_of_another_seed_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "other.state"
    VirtualKey("someone-else", state_file=state).close()
    with pytest.raises(InvalidArgumentError, match="another seed"):
        VirtualKey(KEY_SEED, state_file=state)
