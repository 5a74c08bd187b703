"""``Client``: the connection to one AA server, or to the servers of one AA cluster, for one
endpoint."""

from __future__ import annotations

import ctypes
import os
from ctypes import c_void_p
from typing import Iterable, List, Optional, Sequence, Union

from ._calls import (
    call,
    call_json,
    call_string,
    check_free,
    encode,
    encode_path,
    milliseconds,
    milliseconds_or_zero,
    positive_uint32,
    secret_buffer,
    wipe,
    written,
)
from ._handle import HandleOwner, NativeHandle
from .hid import HidIo, NativeHidIo, set_hid_io
from .logon import Logon
from .types import Chain, DeviceInfo, LoginSession, UserChains

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection when only ``request_timeout`` is given."""
DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds to wait for an answer when only ``connect_timeout`` is given."""


class Client(HandleOwner):
    """A client of one AA server, or of the servers of one AA cluster, for one endpoint.

    Thread-safe: any number of threads and logons may share it; its HTTPS connections are kept
    alive between calls (at most ``max_connections`` open at once). :meth:`close` (or leaving a
    ``with`` block) frees it; logons it started keep working after that.

    A cluster: ``base_url`` is the preferred server and ``failover_urls`` the others, in order of
    preference (same database, same endpoint id and secret). A call goes to the preferred server
    (a logon's calls: to the server the logon talked to last) and moves to the next one when

    - the server cannot be reached (connect or TLS handshake failure): for every call;
    - it answers HTTP 502/503/504 or fails mid-request (timeout, reset): only for calls that are
      safe to repeat. A call carrying an answer or a signature (:meth:`Logon.answer`,
      :meth:`Logon.sign_with_device`…) or :meth:`Logon.next` moves on only when it provably never
      reached the first server, so that no OTP is counted twice and no signature replayed.

    Any other answer is the server's verdict. A server that failed is skipped for
    ``server_backoff`` seconds. When every server fails, the error's message names each server's
    failure (``"none of the 2 AA servers could serve the call: …"``). :attr:`current_server` and
    :attr:`Logon.server` tell which server answered.

    Args:
        base_url: the AA server, e.g. ``"https://aa.example.com"`` (of a cluster: the preferred
            one).
        endpoint_id: the endpoint's id (32 hex digits).
        endpoint_secret: the endpoint's secret (copied into a C buffer that is wiped after use).
        ca_file: a PEM file of CA certificates to trust in addition to the system's.
        pinned_public_key_sha256: hex SHA-256 of the server certificate's SubjectPublicKeyInfo,
            checked in addition to normal verification.
        connect_timeout: seconds (default 10).
        request_timeout: seconds per request (default 30).
        proxy: a proxy URL such as ``"http://proxy:3128"``.
        user_agent: the User-Agent header (default ``"aa-logon/<version>"``).
        max_response_bytes: cap on the size of any server answer (default 1 MiB).
        danger_disable_tls_verification: DANGER, lab setups only: anybody on the network path
            can then impersonate the server and read secrets. The library logs a warning.
        allowed_app_id_hosts: hosts (e.g. ``"aa-sim.local"``; no scheme, port or path) whose
            https U2F appIds are signed besides those of the server's own host. A sign request
            with any other appId fails with ``MalformedServerDataError`` before a key is used.
        danger_disable_app_id_check: DANGER, lab setups only: signs any appId the server
            sends, so a hostile server can obtain assertions for other sites. Logged as a warning.
        failover_urls: further servers of the same cluster, tried after ``base_url`` in this
            order. Each is checked like ``base_url``; a server already in the list is refused.
        server_backoff: seconds a server that failed is skipped before calls try it again
            (default 30); 0: never skipped, every call tries the servers in order of preference.
        max_connections: the most connections the client has open at once, in use or kept
            alive, over all its servers (default 32). A call that finds them all in use waits for
            one, up to ``request_timeout`` (then :class:`NetworkTimeoutError`).

    Raises:
        ConfigError: the configuration is not usable (bad URL, unreadable CA file, bad pin…).
        InvalidArgumentError: a failover URL is not a usable https URL, or names a server
            already in the list.
        ValueError: ``server_backoff`` is negative or ``max_connections`` below 1 (before
            anything reaches the library).
    """

    def __init__(
        self,
        base_url: str,
        endpoint_id: str,
        endpoint_secret: Union[str, bytes, bytearray],
        *,
        ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        pinned_public_key_sha256: Optional[str] = None,
        connect_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        proxy: Optional[str] = None,
        user_agent: Optional[str] = None,
        max_response_bytes: Optional[int] = None,
        danger_disable_tls_verification: bool = False,
        allowed_app_id_hosts: Iterable[str] = (),
        danger_disable_app_id_check: bool = False,
        failover_urls: Sequence[str] = (),
        server_backoff: Optional[float] = None,
        max_connections: Optional[int] = None,
    ) -> None:
        url = encode(base_url, "base_url")
        endpoint = encode(endpoint_id, "endpoint_id")
        if isinstance(allowed_app_id_hosts, (str, bytes)):
            raise TypeError("allowed_app_id_hosts must be an iterable of host names, not a single string")
        app_id_hosts = [encode(host, "allowed_app_id_hosts entry") for host in allowed_app_id_hosts]
        if isinstance(failover_urls, (str, bytes)):
            raise TypeError("failover_urls must be a sequence of URLs, not a single string")
        failover = [encode(failover_url, "failover_urls entry") for failover_url in failover_urls]
        backoff_ms = None if server_backoff is None else milliseconds_or_zero(server_backoff, "server_backoff")
        connections = None if max_connections is None else positive_uint32(max_connections, "max_connections")
        for name, flag in (
            ("danger_disable_tls_verification", danger_disable_tls_verification),
            ("danger_disable_app_id_check", danger_disable_app_id_check),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool")
        secret = secret_buffer(endpoint_secret, "endpoint_secret")
        options = c_void_p()
        try:
            call("aa_client_options_new", url, endpoint, secret, ctypes.byref(options))
        finally:
            wipe(secret)
        try:
            if ca_file is not None:
                call("aa_client_options_set_ca_file", options, encode_path(ca_file, "ca_file"))
            if pinned_public_key_sha256 is not None:
                pin = encode(pinned_public_key_sha256, "pinned_public_key_sha256")
                call("aa_client_options_set_pinned_public_key", options, pin)
            if connect_timeout is not None or request_timeout is not None:
                call(
                    "aa_client_options_set_timeouts",
                    options,
                    milliseconds(DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout, "connect_timeout"),
                    milliseconds(DEFAULT_REQUEST_TIMEOUT if request_timeout is None else request_timeout, "request_timeout"),
                )
            if proxy is not None:
                call("aa_client_options_set_proxy", options, encode(proxy, "proxy"))
            if user_agent is not None:
                call("aa_client_options_set_user_agent", options, encode(user_agent, "user_agent"))
            if max_response_bytes is not None:
                if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
                    raise TypeError(f"max_response_bytes must be an int, not {type(max_response_bytes).__name__}")
                if not 1 <= max_response_bytes <= 0xFFFF_FFFF_FFFF_FFFF:
                    raise ValueError(f"max_response_bytes must be positive, not {max_response_bytes}")
                call("aa_client_options_set_max_response_bytes", options, max_response_bytes)
            if danger_disable_tls_verification:
                call("aa_client_options_danger_disable_tls_verification", options)
            for host in app_id_hosts:
                call("aa_client_options_allow_app_id_host", options, host)
            if danger_disable_app_id_check:
                call("aa_client_options_danger_disable_app_id_check", options)
            for failover_url in failover:
                call("aa_client_options_add_failover_url", options, failover_url)
            if backoff_ms is not None:
                call("aa_client_options_set_server_backoff_ms", options, backoff_ms)
            if connections is not None:
                call("aa_client_options_set_max_connections", options, connections)
            client = c_void_p()
            call("aa_client_new", options, ctypes.byref(client))
        finally:
            check_free("aa_client_options_free", written(options, "aa_client_options_new"), "client options")
        self._handle = NativeHandle(written(client, "aa_client_new"), "aa_client_free", "Client")
        self._hid_io: Optional[Union[HidIo, NativeHidIo]] = None

    # -- lifecycle (closed, close(), context manager: HandleOwner) ---------------------------

    def __repr__(self) -> str:
        return "<Client closed>" if self.closed else "<Client>"

    def native_handle(self) -> int:
        """The ``aa_client *`` handle, for code that calls the C API directly (raises
        :class:`ClosedError` once closed)."""
        return self._handle.get()

    @property
    def current_server(self) -> str:
        """The base URL of the server that answered this client's last call (any logon's): with
        ``failover_urls``, the server in use now; ``base_url`` before the first call."""
        return call_string("aa_client_current_server", self._handle.get())

    # -- security keys ----------------------------------------------------------------------

    def set_hid_io(self, io: Optional[Union[HidIo, NativeHidIo]]) -> None:
        """Makes the client reach its security keys through ``io`` instead of the operating
        system's USB HID devices, for every later sign and device listing of the client and of
        the logons made from it (a sign already running keeps its devices). ``None`` switches
        back to USB HID.

        ``io`` is a :class:`~aa_logon.HidIo` implemented in Python (it may be given to several
        clients; its ``release()`` is called once per client when that client and its logons
        are done with it) or a :class:`~aa_logon.NativeHidIo` filled in by a C library (given to
        one client only: the client takes over its reference).
        """
        if io is not None and not isinstance(io, (HidIo, NativeHidIo)):
            raise TypeError(f"io must be an aa_logon.HidIo, a NativeHidIo or None, not {type(io).__name__}")
        set_hid_io(self._handle.get(), io)
        self._hid_io = io

    @property
    def hid_io(self) -> Optional[Union[HidIo, NativeHidIo]]:
        """The transport last given to :meth:`set_hid_io`; ``None`` for USB HID."""
        return self._hid_io

    # -- operations ------------------------------------------------------------------------

    def logon(self, user_name: str, event: str, method_id: str) -> Logon:
        """Starts a logon of ``user_name`` (``"JAGUAR\\\\denis"`` or a bare name) at ``event``
        with the chain's first method ``method_id`` (e.g. ``"U2F:1"``).

        Raises:
            ServerError: e.g. HTTP 400 with msgid ``AUCORE-1056`` for an unknown user.
        """
        user = encode(user_name, "user_name")
        event_name = encode(event, "event")
        method = encode(method_id, "method_id")
        logon = c_void_p()
        call("aa_logon_new", self._handle.get(), user, event_name, method, ctypes.byref(logon))
        return Logon(written(logon, "aa_logon_new"))

    def chains(self, user_name: str, event: str) -> UserChains:
        """The chains ``user_name`` may use for ``event``."""
        data = call_json(
            "aa_client_chains_json", self._handle.get(), encode(user_name, "user_name"), encode(event, "event")
        )
        return UserChains(
            chains=tuple(Chain.from_json(chain) for chain in data.get("chains") or ()),
            user_is_locked=bool(data.get("user_is_locked", False)),
        )

    def login_session(self, login_session_id: str) -> LoginSession:
        """Information about a login session (user, event, creation time, chain)."""
        session_id = encode(login_session_id, "login_session_id")
        data = call_json("aa_client_login_session_json", self._handle.get(), session_id)
        return LoginSession.from_json(login_session_id, data)

    def logout(self, login_session_id: str) -> None:
        """Ends a login session.

        Raises:
            ServerError: HTTP 434 when the session is unknown or expired.
        """
        call("aa_client_logout", self._handle.get(), encode(login_session_id, "login_session_id"))

    def devices(self) -> List[DeviceInfo]:
        """The FIDO security keys present now."""
        return [DeviceInfo.from_json(device) for device in call_json("aa_client_devices_json", self._handle.get())]
