"""examples/python/logon.py, as a user runs it, against the simulator (password chain; its U2F
path needs a USB key, which the example does not fake)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from conftest import ENDPOINT_ID, ENDPOINT_SECRET, EVENT, PASSWORD, USER, Simulator

PACKAGE_DIR = Path(__file__).resolve().parent.parent
EXAMPLE = PACKAGE_DIR.parent.parent / "examples" / "python" / "logon.py"


def run_example(arguments: List[str], stdin: str = "", secret: Optional[str] = ENDPOINT_SECRET) -> subprocess.CompletedProcess[str]:
    environment: Dict[str, str] = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR), environment.get("PYTHONPATH")]))
    environment.pop("AA_ENDPOINT_SECRET", None)
    if secret is not None:
        environment["AA_ENDPOINT_SECRET"] = secret
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *arguments],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: answers come from stdin
    )


def test_help_describes_the_arguments() -> None:
    result = run_example(["--help"])
    assert result.returncode == 0
    assert "AA_ENDPOINT_SECRET" in result.stdout
    assert "endpoint_id" in result.stdout


def test_missing_secret_is_reported() -> None:
    result = run_example(["https://127.0.0.1:9", ENDPOINT_ID, USER], secret=None)
    assert result.returncode == 2
    assert "AA_ENDPOINT_SECRET" in result.stderr


def test_password_logon_prints_user_and_session(simulator: Simulator) -> None:
    arguments = [simulator.base_url, ENDPOINT_ID, USER, "--event", EVENT, "--method", "PASSWORD:1"]
    result = run_example([*arguments, "--ca-file", str(simulator.ca_file)], stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "Welcome, " in result.stdout and "denis" in result.stdout
    assert "login session: " in result.stdout


def test_wrong_password_prints_the_servers_msgid(simulator: Simulator) -> None:
    arguments = [simulator.base_url, ENDPOINT_ID, USER, "--method", "PASSWORD:1"]
    result = run_example([*arguments, "--ca-file", str(simulator.ca_file)], stdin="wrong\n")
    assert result.returncode == 1
    assert "AUCORE-2007" in result.stderr
    assert "PASSWORD_WRONG" in result.stderr
