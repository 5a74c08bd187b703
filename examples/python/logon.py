#!/usr/bin/env python3
"""Log a user on to NetIQ / OpenText Advanced Authentication with a U2F security key.

    export AA_ENDPOINT_SECRET=...            # never on the command line: it would show in `ps`
    python3 logon.py https://aa.example.com 178fa64ebafe11eaa1fb0242ac110003 'JAGUAR\\denis'

Needs the aa_logon package (`pip install ./bindings/python`) and libaa_logon (found through
$AA_LOGON_LIBRARY, next to the package, or on the system library path).
"""

from __future__ import annotations

import argparse
import os
import sys

import aa_logon
from aa_logon import AaError, Client, Prompt, ServerStatus

PROMPT_TEXT = {
    Prompt.INSERT_KEY: "Insert your security key…",
    Prompt.TOUCH_KEY: "Touch your security key…",
    Prompt.TOUCHED: "Key touched, checking with the server…",
}


def show_prompt(prompt: Prompt) -> None:
    print(PROMPT_TEXT[prompt], file=sys.stderr, flush=True)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="U2F logon to an Advanced Authentication server.",
        epilog="The endpoint secret is read from the environment variable AA_ENDPOINT_SECRET.",
    )
    parser.add_argument("url", help="base URL of the AA server, e.g. https://aa.example.com")
    parser.add_argument("endpoint_id", help="id of the endpoint registered on the AA server")
    parser.add_argument("user", help='user name, e.g. "JAGUAR\\denis"')
    parser.add_argument("--event", default="Search Card", help="authentication event (default: %(default)s)")
    parser.add_argument("--method", default="U2F:1", help="first method of the chain (default: %(default)s)")
    parser.add_argument("--ca-file", help="PEM file of extra CA certificates to trust")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a touch (default: 30)")
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    secret = os.environ.get("AA_ENDPOINT_SECRET")
    if not secret:
        print("error: set AA_ENDPOINT_SECRET to the endpoint's secret", file=sys.stderr)
        return 2
    try:
        with Client(arguments.url, arguments.endpoint_id, secret, ca_file=arguments.ca_file) as client:
            with client.logon(arguments.user, arguments.event, arguments.method) as logon:
                status = logon.status
                while status is ServerStatus.MORE_DATA or status is ServerStatus.NEXT:
                    if status is ServerStatus.NEXT:
                        print(f"{logon.completed_methods[-1]} passed", file=sys.stderr)
                        status = logon.next(next_method(logon))
                        continue
                    if logon.current_method != "U2F:1":
                        print(f"{logon.current_method} is not supported by this example", file=sys.stderr)
                        return 1
                    status = logon.sign_with_device(timeout=arguments.timeout, prompt=show_prompt)
                user = logon.user
                print(f"Welcome, {user.name} (id {user.id})")
                print(f"login session: {logon.login_session_id}")
                return 0
    except aa_logon.LibraryLoadError as error:
        print(f"error: {error}", file=sys.stderr)
    except AaError as error:
        details = ", ".join(
            f"{name} {value}"
            for name, value in (("msgid", error.msgid), ("reason", error.reason), ("HTTP", error.http_status))
            if value is not None
        )
        print(f"logon failed: {error}" + (f" ({details})" if details else ""), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    return 1


def next_method(logon: aa_logon.Logon) -> str:
    """The method after the completed ones in the chain the server is running."""
    done = logon.completed_methods
    for chain in logon.chains:
        if chain.methods[: len(done)] == done and len(chain.methods) > len(done):
            return chain.methods[len(done)]
    raise SystemExit(f"no chain continues after {', '.join(done)}")


if __name__ == "__main__":
    sys.exit(main())
