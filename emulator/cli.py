"""The emulator from the command line (`ice-emulator`, or `python3 dev.py emulator` here).

    ice-emulator serve --jobs 3 --days 10 --interval 300   # seeded, in memory, port printed
    ice-emulator serve --db build/ice.db --qps 20 --deny DeleteLiveSnapshotFiles=Forbidden
    ice-emulator serve --jobs 2 --interval 5 --live --notify-url http://127.0.0.1:9000/events
    ice-emulator seed --db build/ice.db --jobs 100 --days 7 --interval 5
    ice-emulator state --db build/ice.db                   # or --endpoint 127.0.0.1:PORT
    ice-emulator delete-object --endpoint 127.0.0.1:PORT --bucket snapshot-bucket KEY ...
    ice-emulator fc --ice-endpoint 127.0.0.1:PORT --access-key-id ID --access-key-secret SECRET
                                                           # a local Function Compute endpoint

`serve` prints one JSON line on stdout once it listens: endpoint and the credentials it accepts
(random ones unless given), for scripts; and on stderr how to point a client at it.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from emulator import cli_options, cli_seed, cli_serve
from emulator.fc.cli import add_fc_parser, run_fc
from emulator.server import LOOPBACK
from emulator.store import JobState, StoreState


def build_parser() -> argparse.ArgumentParser:
    parser = cli_options.Parser(prog="ice-emulator", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True,
                                     parser_class=cli_options.Parser)

    serve = commands.add_parser("serve", help="run the emulator until Ctrl-C or SIGTERM")
    serve.add_argument("--host", default=LOOPBACK,
                       help="address to listen on (default 127.0.0.1; anything else exposes it)")
    serve.add_argument("--port", type=cli_options.port, default=0,
                       help="port (default 0: a free one)")
    cli_seed.add_options(serve, jobs_default=0, db_required=False)
    cli_serve.add_options(serve)

    seed_command = commands.add_parser("seed", help="add sample jobs and snapshots to a --db")
    cli_seed.add_options(seed_command, jobs_default=3, db_required=True)

    state = commands.add_parser("state", help="show what a --db or a running emulator holds")
    source = state.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=cli_options.existing_file)
    source.add_argument("--endpoint", help="a running emulator, host:port")
    state.add_argument("--json", action="store_true", help="print JSON instead of a table")

    delete = commands.add_parser("delete-object",
                                 help="delete OSS objects of a running emulator by hand"
                                      " (records stay; OSS event notifications go out)")
    delete.add_argument("--endpoint", required=True, help="a running emulator, host:port")
    delete.add_argument("--bucket", required=True)
    delete.add_argument("keys", nargs="+", metavar="KEY")

    add_fc_parser(commands)
    return parser


def utc_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def state_table(state: StoreState) -> list[str]:
    rows = [f"{'job':34} {'records':>9} {'overlay':>7}  {'oldest (UTC)':19}  {'newest (UTC)':19}"]
    rows += [
        f"{job.job_id:34} {job.records:>9,} {job.overlay_records:>7}  {utc_time(job.oldest_ms):19}"
        f"  {utc_time(job.newest_ms):19}"
        for job in state.jobs
    ]
    rows.append(f"\nOSS objects: {state.objects:,}")
    rows.append(f"objects without records: {state.objects_without_records:,}"
                + "".join(f"\n  {key}" for key in state.sample_objects_without_records))
    rows.append(f"records without objects: {state.records_without_objects:,}"
                + "".join(f"\n  {key}" for key in state.sample_records_without_objects))
    return rows


def _admin(endpoint: str, page: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An emulator's admin page, or a one-line failure naming --endpoint."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{endpoint}/_emulator/{page}", data=data,
                                     method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            loaded: dict[str, Any] = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        cli_options.fail(f"--endpoint {endpoint}: no emulator answered ({reason}); start one"
                         " with `serve` and use the endpoint it prints")
    return loaded


def show_state(args: argparse.Namespace) -> int:
    if args.db is not None:
        state = cli_options.open_store(args.db).state()
    else:
        raw = _admin(args.endpoint, "state")
        state = StoreState(**{
            **raw,
            "jobs": tuple(JobState(**job) for job in raw["jobs"]),
            "sample_objects_without_records": tuple(raw["sample_objects_without_records"]),
            "sample_records_without_objects": tuple(raw["sample_records_without_objects"]),
        })
    if args.json:
        print(json.dumps(asdict(state), indent=2))
    else:
        print("\n".join(state_table(state)))
    return 0


def delete_objects(args: argparse.Namespace) -> int:
    answer = _admin(args.endpoint, "objects/delete", {"bucket": args.bucket, "keys": args.keys})
    for key in answer["deleted"]:
        print(f"deleted {args.bucket}/{key}")
    for key in answer["missing"]:
        print(f"not found: {args.bucket}/{key}", file=sys.stderr)
    return 0 if not answer["missing"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return cli_serve.serve(args)
    if args.command == "seed":
        store = cli_options.open_store(args.db)
        cli_seed.seed_from(store, args)
        store.close()
        return 0
    if args.command == "delete-object":
        return delete_objects(args)
    if args.command == "fc":
        return run_fc(args)
    return show_state(args)
