"""Invoke the handler locally with an event file and a fake Function Compute context.

    python3 dev.py invoke events/timer.json --emulator            # an emulator seeded for the event
    python3 dev.py invoke events/timer.json --emulator --fanout   # ... through a local FC endpoint
    python3 dev.py invoke events/timer.json --endpoint 127.0.0.1:PORT \\
        --access-key-id ID --access-key-secret SECRET            # a running `dev.py emulator serve`
    python3 dev.py invoke events/manual-dry-run.json              # real ICE: ICE_REGION and the
                                                                  # credentials of your environment

With --emulator the emulator is seeded around the event's own time, with its jobs, object keys,
named timestamps and ranges, so every sample shows its path working. Log lines (JSON) go to
stdout, or to --log FILE; progress (on a terminal) and the summary go to stderr.

Exit codes: 0 the run finished with no failed file; 1 it did not finish, files failed, or jobs
were not found (the summary's level is WARNING or ERROR); 2 the event, a flag or a variable is
invalid (nothing was deleted); 3 permission or credentials were refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from devtools.fc_context import FcContext, FcCredentials, FcFunction
from devtools.progress import TerminalProgress
from snapshot_purge.app import handle
from snapshot_purge.config import Settings
from snapshot_purge.errors import BadRequest, PermissionDenied, PurgeError
from snapshot_purge.events import parse_event
from snapshot_purge.logs import make_logger

OK, INCOMPLETE, INVALID, DENIED = 0, 1, 2, 3


def invoke(event: Any, *, env: Mapping[str, str], context: FcContext, log: TextIO,
           show_progress: bool = True, wall_clock: Callable[[], float] = time.time
           ) -> dict[str, Any]:
    """Run the handler once; the summary it returns."""
    logger = make_logger(env.get("POWERTOOLS_SERVICE_NAME") or "ice-snapshot-purge", log)
    progress = TerminalProgress()
    try:
        return handle(event, context, logger=logger, env=env, wall_clock=wall_clock,
                      progress=progress if show_progress and progress.enabled else None)
    finally:
        progress.close()


def exit_code(summary: Mapping[str, Any]) -> int:
    healthy = (summary["complete"] and not summary["files"]["Failed"] and not summary["errors"]
               and not summary["jobs_not_found"])
    return OK if healthy else INCOMPLETE


def emulator_context(emulator: Any, timeout: int) -> FcContext:
    credentials = emulator.credentials
    return FcContext(
        credentials=FcCredentials(credentials.access_key_id, credentials.access_key_secret,
                                  credentials.security_token),
        function=FcFunction(timeout=timeout),
    )


def bounded(kind: Callable[[str], float], low: float, high: float, what: str
            ) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} must be {what} from {low:g} to {high:g}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py invoke", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="event file (see events/)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--emulator", action="store_true",
                        help="start an in-process ICE emulator seeded for the event and use it")
    target.add_argument("--endpoint", help="a running emulator or ICE endpoint, host:port or URL")
    parser.add_argument("--fanout", action="store_true",
                        help="with --emulator: run on a local FC endpoint with FANOUT on, so a"
                             " sweep of many jobs becomes a coordinator and shards")
    parser.add_argument("--access-key-id", help="with --endpoint: the emulator's key id")
    parser.add_argument("--access-key-secret", help="with --endpoint: the emulator's secret")
    parser.add_argument("--security-token", help="with --endpoint: an STS token, if any")
    parser.add_argument("--jobs", type=bounded(int, 1, 100_000, "a whole number"), default=3,
                        help="with --emulator: jobs to seed when the event names none (default 3)")
    parser.add_argument("--days", type=bounded(float, 0.01, 3650, "a number of days"),
                        default=10.0, help="with --emulator: at least this many days of"
                        " snapshots before the event's time (default 10)")
    parser.add_argument("--interval", type=bounded(int, 5, 3600, "seconds"), default=300,
                        help="with --emulator: seconds between snapshots, 5..3600 (default 300)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set a function environment variable (repeatable)")
    parser.add_argument("--timeout", type=bounded(int, 1, 86_400, "seconds"), default=900,
                        help="the function timeout the fake context reports (default 900 s)")
    parser.add_argument("--log", type=Path, help="write the JSON log lines here, not to stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.fanout and not args.emulator:
        parser.error("--fanout runs on the local FC endpoint: give --emulator too")
    overrides: dict[str, str] = {}
    for assignment in args.env:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            parser.error(f"--env {assignment!r}: use NAME=VALUE")
        overrides[name] = value
    try:
        event = args.event.read_bytes()
    except OSError as err:
        parser.exit(INVALID, f"dev.py invoke: {args.event}: {err.strerror}\n")
    log: TextIO = args.log.open("w") if args.log else sys.stdout
    try:
        summaries = run(args, event, overrides, log)
    except BadRequest as err:
        print(f"dev.py invoke: {err} (nothing was deleted)", file=sys.stderr)
        return INVALID
    except PermissionDenied as err:
        print(f"dev.py invoke: permission denied: {err}", file=sys.stderr)
        return DENIED
    except PurgeError as err:
        print(f"dev.py invoke: {err}", file=sys.stderr)
        return INCOMPLETE
    finally:
        if args.log:
            log.close()
    for summary in summaries:
        print(json.dumps(summary, indent=2), file=sys.stderr)
    return max(exit_code(summary) for summary in summaries)


def run(args: argparse.Namespace, event: bytes, overrides: dict[str, str], log: TextIO
        ) -> list[dict[str, Any]]:
    """`overrides` are the function's variables given with --env."""
    env = {**os.environ, **overrides}
    if not args.emulator:
        credentials = None
        if args.endpoint:
            env["ICE_ENDPOINT"] = args.endpoint
            if args.access_key_id and args.access_key_secret:
                credentials = FcCredentials(args.access_key_id, args.access_key_secret,
                                            args.security_token)
        context = FcContext(credentials=credentials, function=FcFunction(timeout=args.timeout))
        return [invoke(event, env=env, context=context, log=log)]
    from devtools.samples import seed_for_event
    from emulator.store import Store

    store = Store()
    parsed = parse_event(event)
    # The emulator's jobs are found as a deployed function finds them; its metadata service is
    # not there to ask for credentials.
    overrides = {"SNAPSHOT_JOB_IDS": "*", **overrides}
    env = {"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", **env, **overrides}
    print("Seeding the ICE emulator for the event ...", file=sys.stderr, flush=True)
    seeded = seed_for_event(store, parsed, Settings.from_env(env),
                            now_ms=int(time.time() * 1000), jobs=args.jobs, days=args.days,
                            interval_s=args.interval)
    print(describe(seeded, store), file=sys.stderr, flush=True)
    if args.fanout:
        return run_fanned_out(store, event, overrides, args.timeout, log)
    from emulator.server import Emulator

    with Emulator(store) as emulator:
        env["ICE_ENDPOINT"] = emulator.endpoint
        return [invoke(event, env=env, context=emulator_context(emulator, args.timeout),
                       log=log)]


def run_fanned_out(store: Any, event: bytes, function_env: dict[str, str], timeout: int,
                   log: TextIO) -> list[dict[str, Any]]:
    """The event as a trigger sends it to FC; every invocation it leads to, to its end."""
    from devtools.fleet import local_fleet

    with local_fleet(store, environment=function_env, timeout_s=timeout) as fleet:
        fleet.invoke_async(json.loads(event))
        fleet.wait(timeout_s=max(600.0, 4.0 * timeout))
        lines = fleet.log_lines()
    for line in lines:
        log.write(json.dumps(line) + "\n")
    summaries = [line for line in lines if line["message"] == "purge_summary"]
    if not summaries:
        raise PurgeError("no invocation logged a summary; see the log lines above")
    return summaries


def describe(seeded: Any, store: Any) -> str:
    from emulator.cli import utc_time

    removed = f"; removed {len(seeded.removed_objects)} object(s) from OSS as the event says" \
        if seeded.removed_objects else ""
    return (f"Seeded the ICE emulator for the event: {len(seeded.jobs)} job(s), snapshots from"
            f" {utc_time(seeded.start_ms)} to {utc_time(seeded.end_ms)} UTC,"
            f" {store.count_records():,} records, {seeded.named_records} the event names"
            f"{removed}.")


if __name__ == "__main__":
    sys.exit(main())
