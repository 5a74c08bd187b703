"""AA clusters (issue 15): ``Client(failover_urls=…, server_backoff=…, max_connections=…)``,
``Client.current_server`` and ``Logon.server`` against a real two-instance aa-sim cluster whose
instances are taken down for real (listener closed, 503 answers) through /sim/v1/instances.
Every test gets a cluster of its own (the ``cluster`` fixture), so its outages touch no other."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import ENDPOINT_ID, ENDPOINT_SECRET, EVENT, PASSWORD, USER, Cluster, calls_besides_string_free

from aa_logon import Client, InvalidArgumentError, NetworkError, ServerStatus, Status
from aa_logon._calls import milliseconds_or_zero
from aa_logon.testing import Presence, VirtualKey

THREADS = 8
LOGONS_PER_THREAD = 10
MAX_CONNECTIONS = 4
HANG_GUARD_SECONDS = 300.0
"""How long the threaded test waits for its threads before calling it a hang (not a bound)."""


def password_logon(client: Client) -> str:
    """One PASSWORD:1 logon, which must end OK; the server that answered it."""
    with client.logon(USER, EVENT, "PASSWORD:1") as logon:
        assert logon.answer(PASSWORD) is ServerStatus.OK
        assert logon.login_session_id
        return logon.server


# -- failover ------------------------------------------------------------------------------


def test_preferred_server_refusing_moves_a_u2f_logon_to_the_second(cluster: Cluster, demo_key: VirtualKey) -> None:
    first, second = cluster.urls
    cluster.set_outage(0, "refuse")
    with cluster.client() as client:
        assert client.current_server == first, "before any call: the preferred server"
        demo_key.set_presence(Presence.ALWAYS)
        demo_key.attach(client)
        try:
            with client.logon(USER, EVENT, "U2F:1") as logon:
                assert logon.server == second
                assert logon.sign_with_device(timeout=10) is ServerStatus.OK
                assert logon.login_session_id
                assert logon.server == second
        finally:
            demo_key.detach(client)
        assert client.current_server == second
    assert cluster.stats()[0]["connections_accepted"] == 0, "instance 0 was down: nothing reached it"


def test_preferred_server_answering_503_moves_a_password_logon_to_the_second(cluster: Cluster) -> None:
    first, second = cluster.urls
    cluster.set_outage(0, "unavailable")
    with cluster.client() as client:
        assert password_logon(client) == second
        assert client.current_server == second
    stats = cluster.stats()
    assert stats[0]["outage"] == "unavailable"
    assert stats[0]["requests"] >= 1, f"the preferred server {first} was not tried first"


def test_all_servers_down_gives_one_error_naming_both(cluster: Cluster) -> None:
    first, second = cluster.urls
    cluster.set_outage(0, "refuse")
    cluster.set_outage(1, "unavailable")  # its /sim/v1 routes keep working: it can restore itself
    with cluster.client() as client:
        with pytest.raises(NetworkError) as raised:
            client.logon(USER, EVENT, "PASSWORD:1")
        message = raised.value.message
        assert "none of the 2 AA servers could serve the call: " in message, message
        assert f"{first} refused the connection" in message, message
        assert f"{second}: HTTP 503" in message, message
        assert raised.value.status is Status.NETWORK

        # Both are in their back-off now; with nothing else left they are still tried.
        cluster.restore(1)
        assert password_logon(client) == second
        assert client.current_server == second


def test_a_zero_backoff_tries_the_preferred_server_on_every_call(cluster: Cluster) -> None:
    first, second = cluster.urls
    cluster.set_outage(0, "unavailable")
    with cluster.client() as skipping:  # the cluster clients' back-off: an hour
        for _ in range(3):
            assert password_logon(skipping) == second
    assert cluster.stats()[0]["requests"] == 1, "skipped during its back-off"

    with cluster.client(server_backoff=0) as eager:
        assert password_logon(eager) == second
        assert password_logon(eager) == second
        assert cluster.stats()[0]["requests"] == 3, "one 503 per logon"
        cluster.restore(0)
        assert password_logon(eager) == first
        assert eager.current_server == first


# -- configuration ---------------------------------------------------------------------------


def test_an_invalid_failover_url_is_refused_before_any_network(cluster: Cluster, c_calls: "Counter[str]") -> None:
    for bad in ("not a url", "ftp://127.0.0.1:1", "https://", " "):
        c_calls.clear()
        with pytest.raises(InvalidArgumentError) as raised:
            cluster.client(failover_urls=[cluster.urls[1], bad])
        assert raised.value.status is Status.INVALID_ARGUMENT
        assert isinstance(raised.value, ValueError)
        assert raised.value.message
        assert c_calls["aa_client_options_add_failover_url"] == 2
        assert c_calls["aa_client_new"] == 0
        assert c_calls["aa_client_options_free"] == 1, "the options are freed after the failure"
    assert [instance["connections_accepted"] for instance in cluster.stats()][0] == 0


def test_a_server_already_in_the_list_is_refused(cluster: Cluster) -> None:
    first, second = cluster.urls
    for duplicated in ([first], [second, second], [second, second.upper() + "/"]):
        with pytest.raises(InvalidArgumentError, match="already in the list") as raised:
            cluster.client(failover_urls=duplicated)
        assert raised.value.status is Status.INVALID_ARGUMENT


def test_bad_cluster_settings_raise_before_any_c_call(cluster: Cluster, c_calls: "Counter[str]") -> None:
    first, second = cluster.urls
    value_errors: list[dict[str, Any]] = [
        {"max_connections": 0},
        {"max_connections": -1},
        {"max_connections": 2**32},
        {"server_backoff": -1},
        {"server_backoff": -0.001},
        {"server_backoff": float("nan")},
        {"server_backoff": float("inf")},
        {"failover_urls": [second, "https://a\0b"]},
    ]
    type_errors: list[dict[str, Any]] = [
        {"max_connections": True},
        {"max_connections": 4.0},
        {"server_backoff": "30"},
        {"server_backoff": False},
        {"failover_urls": second},  # one string, not a sequence of URLs
        {"failover_urls": [second.encode()]},
    ]
    for options, error in [(o, ValueError) for o in value_errors] + [(o, TypeError) for o in type_errors]:
        c_calls.clear()
        with pytest.raises(error):
            Client(first, ENDPOINT_ID, ENDPOINT_SECRET, **options)
        assert not calls_besides_string_free(c_calls), f"{options}: {dict(c_calls)}"


def test_the_settings_reach_the_library_once_each(cluster: Cluster, c_calls: "Counter[str]") -> None:
    with cluster.client(server_backoff=0.25, max_connections=1) as client:
        assert client.current_server == cluster.urls[0]
        assert password_logon(client) == cluster.urls[0]
    assert c_calls["aa_client_options_add_failover_url"] == 1
    assert c_calls["aa_client_options_set_server_backoff_ms"] == 1
    assert c_calls["aa_client_options_set_max_connections"] == 1
    assert c_calls["aa_client_current_server"] == 1
    assert c_calls["aa_logon_server"] == 1


def test_a_backoff_below_a_millisecond_is_not_zero() -> None:
    # 0 means "never skipped": a tiny positive back-off must not turn into it.
    assert milliseconds_or_zero(0, "server_backoff") == 0
    assert milliseconds_or_zero(0.0001, "server_backoff") == 1
    assert milliseconds_or_zero(2.5, "server_backoff") == 2500


def test_a_client_without_failover_urls_names_its_one_server(cluster: Cluster) -> None:
    with cluster.instances[1].client() as single:
        assert single.current_server == cluster.urls[1]
        assert password_logon(single) == cluster.urls[1]


# -- threads ---------------------------------------------------------------------------------


def test_eight_threads_share_one_client_within_its_connection_limit(cluster: Cluster) -> None:
    first, _ = cluster.urls
    start = threading.Barrier(THREADS, timeout=HANG_GUARD_SECONDS)

    def worker(client: Client) -> list[str]:
        start.wait()
        return [password_logon(client) for _ in range(LOGONS_PER_THREAD)]

    # Calls wait for a free connection up to the request timeout: a generous one, a hang guard.
    with cluster.client(max_connections=MAX_CONNECTIONS, request_timeout=120.0) as client:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(worker, client) for _ in range(THREADS)]
            servers = [server for future in futures for server in future.result(timeout=HANG_GUARD_SECONDS)]
        assert servers == [first] * (THREADS * LOGONS_PER_THREAD)
        assert client.current_server == first
        # Read while the client still keeps its connections alive.
        preferred = cluster.stats()[0]
    print(
        f"\n{THREADS} threads × {LOGONS_PER_THREAD} logons, max_connections={MAX_CONNECTIONS}: "
        f"{preferred['connections_accepted']} connections accepted, "
        f"peak {preferred['peak_open_connections']} open at once, {preferred['requests']} requests"
    )
    assert 1 <= preferred["peak_open_connections"] <= MAX_CONNECTIONS, preferred
    assert preferred["requests"] >= 2 * THREADS * LOGONS_PER_THREAD, preferred
