"""Shared fixtures: one aa-sim simulator (HTTPS, generated CA) per test session, clients that
trust its CA, a fresh two-instance cluster per test that wants one, the demo user's virtual key,
and a counter of C calls.

Environment (set by the Rust driver libaa_logon/tests/python_bindings.rs):
    AA_SIM_BIN                 the aa-sim binary
    AA_LOGON_LIBRARY           libaa_logon.so
    AA_LOGON_TESTKIT_LIBRARY   libaa_logon_testkit.so (the virtual keys)
"""

from __future__ import annotations

import json
import os
import queue
import ssl
import subprocess
import threading
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import pytest

from aa_logon import Client, ServerStatus
from aa_logon._native import library
from aa_logon.testing import Presence, VirtualKey

ENDPOINT_ID = "178fa64ebafe11eaa1fb0242ac110003"
ENDPOINT_SECRET = "hVqFAFfQmfUqfrLMRf6y86Heslm3GtGt"
USER = "JAGUAR\\denis"
PASSWORD = "novell"
EVENT = "Search Card"
KEY_SEED = "demo"
APP_ID_HOST = "aa-sim.local"
"""The host of the simulator's U2F appId (https://aa-sim.local), which is not the host of its base
URL (127.0.0.1): clients must allow it to sign."""

STARTUP_TIMEOUT_SECONDS = 30.0
CLUSTER_BACKOFF_SECONDS = 3600.0
"""The cluster clients' back-off: a server that failed stays skipped for the whole test."""


@dataclass(frozen=True)
class Simulator:
    """A running aa-sim: its base URL, the CA file clients must trust, and its /sim/v1 routes."""

    base_url: str
    ca_file: Path

    def client(self, **options: Any) -> Client:
        options.setdefault("ca_file", self.ca_file)
        options.setdefault("request_timeout", 10.0)
        options.setdefault("allowed_app_id_hosts", (APP_ID_HOST,))
        return Client(self.base_url, ENDPOINT_ID, ENDPOINT_SECRET, **options)

    def sim_get(self, route: str, **query: str) -> Any:
        """GET /sim/v1/<route> (simulator-only inspection routes) over HTTPS with the CA."""
        url = f"{self.base_url}/sim/v1/{route}?{urllib.parse.urlencode(query)}"
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(url, context=context, timeout=10) as answer:
            return json.loads(answer.read().decode("utf-8"))

    def sim_post(self, route: str, body: dict[str, Any]) -> Any:
        """POST /sim/v1/<route> with a JSON body (simulator-only control routes)."""
        return self._sim_send("POST", route, body)

    def sim_delete(self, route: str) -> Any:
        """DELETE /sim/v1/<route> (e.g. ends an instance's outage)."""
        return self._sim_send("DELETE", route, None)

    def _sim_send(self, method: str, route: str, body: Optional[dict[str, Any]]) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}/sim/v1/{route}",
            data=None if body is None else json.dumps(body).encode("utf-8"),
            headers={} if body is None else {"Content-Type": "application/json"},
            method=method,
        )
        context = ssl.create_default_context(cafile=str(self.ca_file))
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read().decode("utf-8"))

    def decide_approval(self, decision: str, user_name: str = USER) -> int:
        """Plays the user's phone: "approve" or "reject" every push and call that waits for it."""
        return int(self.sim_post("approvals", {"user_name": user_name, "decision": decision})["decided"])

    def smartphone_totp(self, user_name: str = USER) -> str:
        """The code the user's smartphone app shows offline now."""
        return str(self.sim_get("smartphone_totp", user_name=user_name)["code"])

    def totp(self, user_name: str = USER) -> str:
        return str(self.sim_get("totp", user_name=user_name)["code"])

    def sent_otps(self, user_name: str = USER) -> list[str]:
        return [str(otp) for otp in self.sim_get("otps", user_name=user_name)["otps"]]


@dataclass(frozen=True)
class Cluster:
    """A running two-instance aa-sim cluster (one state, like the servers of an AA cluster share
    one database): ``instances[i]`` reaches instance ``i`` and its /sim/v1 routes."""

    instances: Sequence[Simulator]

    @property
    def urls(self) -> list[str]:
        return [instance.base_url for instance in self.instances]

    def client(self, **options: Any) -> Client:
        """A client of instance 0 with the other instances as failover URLs (unless given)."""
        options.setdefault("failover_urls", self.urls[1:])
        options.setdefault("server_backoff", CLUSTER_BACKOFF_SECONDS)
        return self.instances[0].client(**options)

    def set_outage(self, index: int, kind: str, via: int = -1) -> None:
        """Takes instance ``index`` down ("refuse", "reset", "unavailable", "hang"), asking
        instance ``via`` (default: the last), which must be up; in force once this returns."""
        self.instances[via].sim_post(f"instances/{index}/outage", {"kind": kind})

    def restore(self, index: int, via: int = -1) -> None:
        """Brings instance ``index`` back up, asking instance ``via``."""
        self.instances[via].sim_delete(f"instances/{index}/outage")

    def stats(self, via: int = -1) -> list[dict[str, Any]]:
        """GET /sim/v1/instances: each instance's outage and counters (``requests``,
        ``connections_accepted``, ``open_connections``, ``peak_open_connections``)."""
        answer: list[dict[str, Any]] = self.instances[via].sim_get("instances")
        return answer


def _first_lines(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """The first ``count`` lines the process prints (fewer if it ends or ``timeout`` passes)."""
    lines: queue.Queue[Optional[str]] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for _ in range(count):
            line = process.stdout.readline()
            lines.put(line or None)
            if not line:
                return

    threading.Thread(target=read, daemon=True).start()
    read_lines: list[str] = []
    try:
        while len(read_lines) < count:
            line = lines.get(timeout=timeout)
            if line is None:
                break
            read_lines.append(line.strip())
    except queue.Empty:
        pass
    return read_lines


@contextmanager
def running_simulator(ca_file: Path, instances: int = 1) -> Iterator[list[str]]:
    """Runs the aa-sim binary ($AA_SIM_BIN) with ``instances`` instances on free loopback ports,
    writing its CA to ``ca_file``; yields each instance's base URL; stops it on exit."""
    binary = os.environ.get("AA_SIM_BIN")
    if not binary:
        pytest.fail(
            "AA_SIM_BIN is not set: point it at the aa-sim binary "
            "(`cargo build -p aa-sim`; tests/python_bindings.rs sets it for `cargo test`)"
        )
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--ca-out", str(ca_file), "--instances", str(instances)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # Line 1: instance 0's bare URL; then `aa-sim instance I listening on URL` for each other.
        lines = _first_lines(process, instances, STARTUP_TIMEOUT_SECONDS)
        urls = lines[:1] + [line.rpartition(" listening on ")[2] for line in lines[1:]]
        if len(urls) != instances or not all(url.startswith("https://") for url in urls):
            pytest.fail(f"aa-sim did not print its {instances} URL(s) (got {lines!r}, exit code {process.poll()})")
        yield urls
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    ca_file = tmp_path_factory.mktemp("aa-sim") / "ca.pem"
    with running_simulator(ca_file) as urls:
        yield Simulator(base_url=urls[0], ca_file=ca_file)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A two-instance cluster started for this test alone, so its outages touch no other test."""
    ca_file = tmp_path / "ca.pem"
    with running_simulator(ca_file, instances=2) as urls:
        yield Cluster(instances=tuple(Simulator(base_url=url, ca_file=ca_file) for url in urls))


@pytest.fixture
def client(simulator: Simulator) -> Iterator[Client]:
    with simulator.client() as made:
        yield made


@pytest.fixture(scope="session")
def demo_key() -> Iterator[VirtualKey]:
    # One key for the whole session: the simulator rejects a signature counter that does not
    # grow (replay detection), and every new key of the same seed starts counting at zero.
    with VirtualKey(KEY_SEED) as key:
        yield key


@pytest.fixture
def virtual_key(client: Client, demo_key: VirtualKey) -> VirtualKey:
    """The demo user's enrolled key, touched at once, plugged into ``client``."""
    demo_key.set_presence(Presence.ALWAYS)
    demo_key.attach(client)
    return demo_key


@pytest.fixture
def c_calls(monkeypatch: pytest.MonkeyPatch) -> "Counter[str]":
    """Counts every call of a libaa_logon function from now on (by name), by wrapping the
    function objects the binding calls through; ``clear()`` it to start counting afresh."""
    lib = library()
    counts: Counter[str] = Counter()
    for name, function in list(lib.functions.items()):

        def counting(*args: Any, _name: str = name, _function: Any = function) -> Any:
            counts[_name] += 1
            return _function(*args)

        monkeypatch.setitem(lib.functions, name, counting)
    return counts


def calls_besides_string_free(counts: "Counter[str]") -> dict[str, int]:
    """The C calls counted, without the aa_string_free that goes with every string received."""
    return {name: count for name, count in counts.items() if name != "aa_string_free" and count}


@pytest.fixture
def fresh_client(tmp_path: Path) -> Iterator[Client]:
    """A client of a simulator started for this test alone (it has seen no counter yet)."""
    ca_file = tmp_path / "ca.pem"
    with running_simulator(ca_file) as urls:
        with Client(
            urls[0], ENDPOINT_ID, ENDPOINT_SECRET, ca_file=ca_file, allowed_app_id_hosts=(APP_ID_HOST,)
        ) as client:
            yield client


# One U2F logon with `key` plugged into `client` for the logon only.
def u2f_logon(client: Client, key: VirtualKey) -> ServerStatus:
    key.attach(client)
    try:
        with client.logon(USER, EVENT, "U2F:1") as logon:
            return logon.sign_with_device(timeout=10)
    finally:
        key.detach(client)
