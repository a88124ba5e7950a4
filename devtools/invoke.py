"""Invoke the handler locally with an event file and a fake Function Compute context.

    python3 dev.py invoke events/timer.json --emulator            # a seeded in-process emulator
    python3 dev.py invoke events/timer.json --endpoint 127.0.0.1:PORT \\
        --access-key-id ID --access-key-secret SECRET            # a running `dev.py emulator serve`
    python3 dev.py invoke events/manual-dry-run.json              # real ICE: ICE_REGION and the
                                                                  # credentials of your environment

Log lines (JSON) go to stdout, or to --log FILE; the summary is printed at the end on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from aws_lambda_powertools import Logger

from devtools.fc_context import FcContext, FcCredentials, FcFunction
from devtools.progress import TerminalProgress
from emulator import cli_options
from snapshot_purge.app import handle
from snapshot_purge.errors import PurgeError
from snapshot_purge.model import Result


def invoke(event: Any, *, env: Mapping[str, str], context: FcContext, log: TextIO,
           show_progress: bool = True) -> dict[str, Any]:
    """Run the handler once; the summary it returns."""
    logger = Logger(service=env.get("POWERTOOLS_SERVICE_NAME") or "ice-snapshot-purge",
                    stream=log)
    progress = TerminalProgress()
    counts: Counter[Result] = Counter()
    throttled = 0

    def track(snapshot: Counter[Result], throttled_so_far: int) -> None:
        nonlocal counts, throttled
        counts, throttled = snapshot, throttled_so_far
        progress(snapshot, throttled_so_far)

    try:
        return handle(event, context, logger=logger, env=env,
                      progress=track if show_progress and progress.enabled else None)
    finally:
        if show_progress:
            progress.finish(counts, throttled)


@contextmanager
def seeded_emulator(*, jobs: int, days: float, interval_s: int) -> Iterator[Any]:
    """An in-process emulator with `jobs` jobs of snapshots over the last `days` days."""
    from emulator.seed import seed
    from emulator.server import Emulator
    from emulator.store import Store

    store = Store()
    seed(store, jobs=jobs, interval_s=interval_s, days=days)
    with Emulator(store) as emulator:
        yield emulator


def emulator_context(emulator: Any, timeout: int) -> FcContext:
    credentials = emulator.credentials
    return FcContext(
        credentials=FcCredentials(credentials.access_key_id, credentials.access_key_secret,
                                  credentials.security_token),
        function=FcFunction(timeout=timeout),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev.py invoke", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="event file (see events/)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--emulator", action="store_true",
                        help="start a seeded in-process ICE emulator and use it")
    target.add_argument("--endpoint", help="a running emulator or ICE endpoint, host:port or URL")
    parser.add_argument("--access-key-id", help="with --endpoint: the emulator's key id")
    parser.add_argument("--access-key-secret", help="with --endpoint: the emulator's secret")
    parser.add_argument("--security-token", help="with --endpoint: an STS token, if any")
    # The same names and checks as `dev.py emulator serve` and `seed`.
    parser.add_argument("--jobs", type=cli_options.count, default=3, metavar="N",
                        help="with --emulator (default 3)")
    parser.add_argument("--days", type=cli_options.days, default=10, metavar="D",
                        help="with --emulator (default 10)")
    parser.add_argument("--interval", type=cli_options.interval, default=300, metavar="SECONDS",
                        help="with --emulator: seconds between snapshots (default 300)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set a function environment variable (repeatable)")
    parser.add_argument("--timeout", type=int, default=900,
                        help="the function timeout the fake context reports (default 900 s)")
    parser.add_argument("--log", type=Path, help="write the JSON log lines here, not to stdout")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    for assignment in args.env:
        name, sep, value = assignment.partition("=")
        if not sep:
            parser.error(f"--env {assignment!r}: use NAME=VALUE")
        env[name] = value
    event = args.event.read_bytes()
    log: TextIO = args.log.open("w") if args.log else sys.stdout
    try:
        if args.emulator:
            with seeded_emulator(jobs=args.jobs, days=args.days,
                                 interval_s=args.interval) as emulator:
                env["ICE_ENDPOINT"] = emulator.endpoint
                env.setdefault("SNAPSHOT_JOB_IDS", ",".join(j.job_id for j in
                                                            emulator.store.jobs()))
                summary = invoke(event, env=env, context=emulator_context(emulator, args.timeout),
                                 log=log)
        else:
            credentials = None
            if args.endpoint:
                env["ICE_ENDPOINT"] = args.endpoint
                if args.access_key_id and args.access_key_secret:
                    credentials = FcCredentials(args.access_key_id, args.access_key_secret,
                                                args.security_token)
            context = FcContext(credentials=credentials, function=FcFunction(timeout=args.timeout))
            summary = invoke(event, env=env, context=context, log=log)
    except PurgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if args.log:
            log.close()
    print(json.dumps(summary, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
