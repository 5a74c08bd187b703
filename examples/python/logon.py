#!/usr/bin/env python3
"""Log a user on to NetIQ / OpenText Advanced Authentication with a U2F security key.

    export AA_ENDPOINT_SECRET=...            # never on the command line: it would show in `ps`
    python3 logon.py https://aa.example.com 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\\denis'
    python3 logon.py ... --method LDAP_PASSWORD:1     # the "LDAP + U2F" chain
    python3 logon.py --failover-url https://aa2.example.com https://aa1.example.com ...  # a cluster

Without a key, against the simulator (docs/testing-without-a-key.md): the test-only virtual key
of libaa_logon_testkit, the simulator's CA and its appId host:

    python3 logon.py --ca-file /tmp/aa-sim-ca.pem --allow-app-id-host aa-sim.local \\
        --virtual-key demo https://127.0.0.1:8443 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\\denis'

Passwords and codes are asked for on the terminal (read from standard input when it is not a
terminal). Needs the aa_logon package (`pip install ./bindings/python`) and libaa_logon (found
through $AA_LOGON_LIBRARY, next to the package, or on the system library path); --virtual-key
also needs libaa_logon_testkit ($AA_LOGON_TESTKIT_LIBRARY, next to the package, or the system
library path).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

import aa_logon
from aa_logon import AaError, Client, Logon, Prompt, ServerStatus
from aa_logon.testing import VirtualDeviceUnavailableError

PROMPT_TEXT = {
    Prompt.INSERT_KEY: "Insert your security key…",
    Prompt.TOUCH_KEY: "Touch your security key…",
    Prompt.TOUCHED: "Key touched, checking with the server…",
}
PASSWORD_METHODS = ("PASSWORD:1", "LDAP_PASSWORD:1")
CODE_METHODS = ("TOTP:1", "HOTP:1")
SENT_CODE_METHODS = ("SMS_OTP:1", "EMAIL_OTP:1")


def show_prompt(prompt: Prompt) -> None:
    print(PROMPT_TEXT[prompt], file=sys.stderr, flush=True)


def ask(question: str, secret: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(question) if secret else input(question)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Log a user on to an Advanced Authentication server (U2F security key).",
        epilog="The endpoint secret is read from the environment variable AA_ENDPOINT_SECRET.",
    )
    parser.add_argument("url", help="base URL of the (preferred) AA server, e.g. https://aa.example.com")
    parser.add_argument("endpoint_id", help="id of the endpoint registered on the AA server")
    parser.add_argument("user", help='user name, e.g. "JAGUAR\\denis"')
    parser.add_argument("--event", default="Search Card", help="authentication event (default: %(default)s)")
    parser.add_argument("--method", default="U2F:1", help="first method of the chain (default: %(default)s)")
    parser.add_argument("--ca-file", help="PEM file of extra CA certificates to trust")
    parser.add_argument(
        "--allow-app-id-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also sign U2F requests whose appId names HOST (repeatable; the simulator's is aa-sim.local)",
    )
    parser.add_argument(
        "--failover-url",
        action="append",
        default=[],
        metavar="URL",
        help="another server of the same AA cluster (repeatable), tried in order when url cannot be "
        "reached or answers 502/503/504",
    )
    parser.add_argument(
        "--virtual-key",
        metavar="SEED",
        help="use the test-only virtual key SEED (libaa_logon_testkit) instead of USB keys",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a touch (default: 30)")
    return parser.parse_args()


def run_method(logon: Logon, timeout: float) -> ServerStatus:
    """Answers the method the server expects now; returns the server's verdict."""
    method = logon.current_method
    if method == "U2F:1":
        return logon.sign_with_device(timeout=timeout, prompt=show_prompt)
    if method in PASSWORD_METHODS:
        return logon.answer(ask("Password: ", secret=True))
    if method in CODE_METHODS:
        return logon.answer(ask("One-time code: ", secret=True))
    if method in SENT_CODE_METHODS:
        logon.request_challenge()
        return logon.answer(ask(f"{logon.message or 'Code sent'}. Code: ", secret=True))
    raise SystemExit(f"{method} is not supported by this example")


def next_method(logon: Logon) -> str:
    """The method after the completed ones in a chain the server offers."""
    done = logon.completed_methods
    for chain in logon.chains:
        if chain.methods[: len(done)] == done and len(chain.methods) > len(done):
            return chain.methods[len(done)]
    raise SystemExit(f"no chain continues after {', '.join(done)}")


def main() -> int:
    arguments = parse_arguments()
    secret = os.environ.get("AA_ENDPOINT_SECRET")
    if not secret:
        print("error: set AA_ENDPOINT_SECRET to the endpoint's secret", file=sys.stderr)
        return 2
    try:
        with Client(
            arguments.url,
            arguments.endpoint_id,
            secret,
            ca_file=arguments.ca_file,
            allowed_app_id_hosts=arguments.allow_app_id_host,
            failover_urls=arguments.failover_url,
        ) as client:
            if arguments.virtual_key is not None:
                attach_virtual_key(client, arguments.virtual_key)
            with client.logon(arguments.user, arguments.event, arguments.method) as logon:
                status = logon.status
                while status in (ServerStatus.MORE_DATA, ServerStatus.NEXT):
                    if status is ServerStatus.NEXT:
                        print(f"{logon.completed_methods[-1]} passed", file=sys.stderr)
                        status = logon.next(next_method(logon))
                    else:
                        status = run_method(logon, arguments.timeout)
                if status is not ServerStatus.OK:
                    print(f"logon ended with {status.name}: {logon.message}", file=sys.stderr)
                    return 1
                user = logon.user
                print(f"Welcome, {user.name} (id {user.id})")
                print(f"login session: {logon.login_session_id}")
                print(f"server: {logon.server}")  # with --failover-url: the one that answered
                return 0
    except (aa_logon.LibraryLoadError, VirtualDeviceUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
    except AaError as error:
        # The message is complete (what failed, the server's msgid and reason, what to try);
        # error.msgid, error.reason and error.http_status are there for code that acts on them.
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    return 1


def attach_virtual_key(client: Client, seed: str) -> None:
    """Makes the client's logons use the test-only virtual key of ``seed`` instead of USB keys
    (through the public HID transport, ``Client.set_hid_io``)."""
    from aa_logon.testing import VirtualKey

    with VirtualKey(seed) as key:
        key.attach(client)  # stays plugged into the client after the handle is closed


if __name__ == "__main__":
    sys.exit(main())
