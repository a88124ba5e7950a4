"""The local Function Compute endpoint from the command line, beside the ICE emulator:

    python3 dev.py emulator serve --jobs 3                 # prints the ICE endpoint and its keys
    python3 dev.py emulator fc --ice-endpoint 127.0.0.1:PORT --access-key-id ID \\
        --access-key-secret SECRET [--security-token TOKEN] --env SNAPSHOT_JOB_IDS=*

It serves one function (by default this repository's `index.handler` as ice-snapshot-purge) until
Ctrl-C, and prints one JSON line on stdout once it listens: the endpoint, the function and the
credentials it accepts (those given, else random STS-style ones). The same keys are the role
credentials its invocations get, so give it the ICE emulator's. The function's environment has
ICE_ENDPOINT (from --ice-endpoint) and FANOUT_ENDPOINT (this endpoint) unless --env sets them.
Async tasks and their logs: GET http://ENDPOINT/_emulator/tasks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from emulator import cli_options
from emulator.fc.config import RUNTIMES, FunctionConfig
from emulator.fc.service import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, LOOPBACK, FunctionCompute
from emulator.signing import AccessKey

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FUNCTION = "ice-snapshot-purge"


class UsageError(Exception):
    """A wrong option value: one line for the user, exit code 2."""


def add_fc_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """The `fc` command on a parent parser's subcommands; run it with `run_fc(args)`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "fc", help="run a local Function Compute endpoint until Ctrl-C", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_fc_options(parser)
    return parser


def add_fc_options(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(prog=parser.prog)  # refusals name the command as it was called
    function = parser.add_argument_group("the function")
    function.add_argument("--function", default=DEFAULT_FUNCTION,
                          help=f"its name (default {DEFAULT_FUNCTION})")
    function.add_argument("--handler", default="index.handler",
                          help="module.function (default index.handler)")
    function.add_argument("--code-path", type=Path, action="append", metavar="DIR",
                          help="directory put first on the workers' sys.path (repeatable;"
                               " default: this repository's src/)")
    function.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                          help="an environment variable of the function (repeatable)")
    function.add_argument("--ice-endpoint", metavar="HOST:PORT",
                          help="the ICE emulator, given to the function as ICE_ENDPOINT")
    function.add_argument("--runtime", choices=sorted(RUNTIMES), default="python3.10",
                          help="python3.12 has no context.credentials (default python3.10)")
    function.add_argument("--timeout", type=float, default=900.0,
                          help="seconds an invocation may run (default 900)")
    function.add_argument("--memory", type=int, default=512, help="MB, reported only")
    function.add_argument("--instances", type=int, default=4,
                          help="instances (worker processes) at most (default 4)")
    function.add_argument("--max-async-retry-attempts", type=int, default=3,
                          help="retries of a failed async invocation, 0..8 (default 3)")
    function.add_argument("--max-async-event-age", type=float, default=86_400.0,
                          help="seconds an async event may wait before it expires"
                               " (default 86400)")
    function.add_argument("--retry-delay", type=float, default=0.5,
                          help="seconds before the first retry, doubling after (default 0.5)")
    function.add_argument("--python", default=sys.executable,
                          help="interpreter of the workers (default: this one)")
    endpoint = parser.add_argument_group("the endpoint")
    endpoint.add_argument("--host", default=LOOPBACK,
                          help="address to listen on (default 127.0.0.1)")
    endpoint.add_argument("--port", type=cli_options.port, default=0,
                          help="port (default 0: a free one)")
    endpoint.add_argument("--region", default=DEFAULT_REGION)
    endpoint.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    endpoint.add_argument("--access-key-id", help="the key id to accept (default: random)")
    endpoint.add_argument("--access-key-secret", help="its secret")
    endpoint.add_argument("--security-token", help="its STS token, if it has one")


def run_fc(args: argparse.Namespace) -> int:
    try:
        fc = FunctionCompute(credentials=_credentials(args), account_id=args.account_id,
                             region=args.region, host=args.host, port=args.port)
    except UsageError as error:
        return _usage(args, str(error))
    except OSError as error:
        return _usage(args, f"cannot listen on {args.host}:{args.port}: {error.strerror}")
    try:
        fc.add_function(_config(args, fc.endpoint))
    except (UsageError, ValueError) as error:
        fc.stop()
        return _usage(args, str(error))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fc:
        key = fc.credentials
        print(json.dumps({"endpoint": fc.endpoint, "function": args.function,
                          "access_key_id": key.access_key_id,
                          "access_key_secret": key.access_key_secret,
                          "security_token": key.security_token}), flush=True)
        print(f"Function Compute endpoint on http://{fc.endpoint} serving {args.function}"
              f" (Ctrl-C stops it); tasks: http://{fc.endpoint}/_emulator/tasks",
              file=sys.stderr, flush=True)
        if args.host != LOOPBACK:
            print(f"warning: listening on {args.host}, not only on loopback", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def _usage(args: argparse.Namespace, message: str) -> int:
    print(f"{args.prog}: {message}", file=sys.stderr)
    return 2


def _credentials(args: argparse.Namespace) -> AccessKey | None:
    if bool(args.access_key_id) != bool(args.access_key_secret):
        raise UsageError("give both --access-key-id and --access-key-secret, or neither")
    if not args.access_key_id:
        if args.security_token:
            raise UsageError("--security-token goes with --access-key-id and"
                             " --access-key-secret")
        return None
    return AccessKey(args.access_key_id, args.access_key_secret, args.security_token or None)


def _config(args: argparse.Namespace, endpoint: str) -> FunctionConfig:
    environment = {"FANOUT_ENDPOINT": endpoint}
    if args.ice_endpoint:
        environment["ICE_ENDPOINT"] = args.ice_endpoint
    for assignment in args.env:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise UsageError(f"--env {assignment!r}: use NAME=VALUE")
        environment[name] = value
    return FunctionConfig(
        name=args.function, code_paths=tuple(args.code_path or (ROOT / "src",)),
        handler=args.handler, environment=environment, timeout_s=args.timeout,
        memory_mb=args.memory, runtime=args.runtime, instances=args.instances,
        max_async_retry_attempts=args.max_async_retry_attempts,
        max_async_event_age_s=args.max_async_event_age, retry_delay_s=args.retry_delay,
        python=args.python,
    )
