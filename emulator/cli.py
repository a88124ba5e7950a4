"""The emulator from the command line: serve, seed, state.

    python3 dev.py emulator serve --seed-jobs 3 --days 10       # seeded, in memory, port printed
    python3 dev.py emulator serve --db build/ice.db --qps 20 --latency-ms 5
    python3 dev.py emulator seed --db build/ice.db --jobs 100 --days 7 --interval 5
    python3 dev.py emulator state --db build/ice.db             # or --endpoint 127.0.0.1:PORT

`serve` prints one JSON line on stdout once it listens: endpoint and the credentials it accepts
(random ones unless given), for scripts; and how to point the function at it on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import urllib.request
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emulator.faults import EVERY_ACTION, Faults
from emulator.seed import DEFAULT_BUCKET, DEFAULT_OVERWRITE_FORMAT, DEFAULT_SEQUENCE_FORMAT, seed
from emulator.server import LOOPBACK, Emulator
from emulator.signing import AccessKey
from emulator.store import JobState, Store, StoreState


def _add_seed_options(parser: argparse.ArgumentParser, jobs_flag: str, jobs_default: int) -> None:
    parser.add_argument(jobs_flag, dest="jobs", type=int, default=jobs_default, metavar="N",
                        help=f"number of snapshot jobs to add (default {jobs_default})")
    parser.add_argument("--days", type=float, default=3.0,
                        help="days of snapshots before now (default 3)")
    parser.add_argument("--interval", type=int, default=60,
                        help="seconds between snapshots, 5..3600 (default 60)")
    parser.add_argument("--no-overlay", dest="overlay", action="store_false",
                        help="no overlay file (the one a job overwrites in place)")
    parser.add_argument("--key-format", default=DEFAULT_SEQUENCE_FORMAT,
                        help=f"the template's SequenceFormat (default {DEFAULT_SEQUENCE_FORMAT})")
    parser.add_argument("--overwrite-format", default=DEFAULT_OVERWRITE_FORMAT,
                        help=f"the template's OverwriteFormat (default {DEFAULT_OVERWRITE_FORMAT})")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET,
                        help=f"the OSS bucket (default {DEFAULT_BUCKET})")


def _qps(value: str) -> tuple[str, float]:
    action, sep, cap = value.rpartition("=")
    try:
        return (action if sep else EVERY_ACTION), float(cap)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use N or ACTION=N") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulator until Ctrl-C")
    serve.add_argument("--db", type=Path, help="SQLite file to keep state in (default: memory)")
    serve.add_argument("--host", default=LOOPBACK,
                       help="address to listen on (default 127.0.0.1; anything else exposes it)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    _add_seed_options(serve, "--seed-jobs", 0)
    serve.add_argument("--access-key-id", help="the key id to accept (default: random)")
    serve.add_argument("--access-key-secret", help="the secret to accept (default: random)")
    serve.add_argument("--sts", action="store_true", help="require an STS security token")
    faults = serve.add_argument_group("fault injection (all off by default)")
    faults.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    faults.add_argument("--qps", type=_qps, action="append", default=[], metavar="[ACTION=]N",
                        help="cap per action and second, beyond it Throttling.User (repeatable;"
                             " N alone caps every action)")
    faults.add_argument("--error-rate", type=float, default=0.0,
                        help="share of requests answered 500 InternalError / 503")
    faults.add_argument("--drop-rate", type=float, default=0.0,
                        help="share of connections closed with no answer")
    faults.add_argument("--slow-rate", type=float, default=0.0,
                        help="share of answers held back --slow-ms after the action ran")
    faults.add_argument("--slow-ms", type=float, default=0.0)
    faults.add_argument("--fault-seed", type=int, help="seed for repeatable faults")

    seed_command = commands.add_parser("seed", help="add sample jobs and snapshots to a --db")
    seed_command.add_argument("--db", type=Path, required=True)
    _add_seed_options(seed_command, "--jobs", 3)

    state = commands.add_parser("state", help="show what a --db or a running emulator holds")
    source = state.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=Path)
    source.add_argument("--endpoint", help="a running emulator, host:port")
    state.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _seed(store: Store, args: argparse.Namespace) -> None:
    if args.jobs:
        jobs = seed(store, jobs=args.jobs, interval_s=args.interval, days=args.days,
                    overlay=args.overlay, sequence_format=args.key_format,
                    overwrite_format=args.overwrite_format, bucket=args.bucket)
        print(f"seeded {len(jobs)} job(s), {store.count_records():,} records", file=sys.stderr)


def _credentials(args: argparse.Namespace) -> AccessKey | None:
    if bool(args.access_key_id) != bool(args.access_key_secret):
        raise SystemExit("give both --access-key-id and --access-key-secret, or neither")
    if not args.access_key_id:
        return None
    if args.sts:
        raise SystemExit("--sts issues its own credentials; leave out the access key options")
    return AccessKey(args.access_key_id, args.access_key_secret)


def serve(args: argparse.Namespace) -> int:
    store = Store(args.db or ":memory:")
    _seed(store, args)
    faults = Faults(latency_ms=args.latency_ms, qps=dict(args.qps), error_rate=args.error_rate,
                    drop_rate=args.drop_rate, slow_rate=args.slow_rate, slow_ms=args.slow_ms,
                    seed=args.fault_seed)
    emulator = Emulator(store, faults=faults, credentials=_credentials(args), sts=args.sts,
                        host=args.host, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        key = emulator.credentials
        print(json.dumps({"endpoint": emulator.endpoint, **asdict(key)}), flush=True)
        if args.host != LOOPBACK:
            print(f"warning: listening on {args.host}, not only on loopback", file=sys.stderr)
        token = f" --security-token {key.security_token}" if key.security_token else ""
        print(
            f"ICE emulator on http://{emulator.endpoint} (Ctrl-C stops it). Point the function"
            f" at it:\n  python3 dev.py invoke events/timer.json --endpoint {emulator.endpoint}"
            f" --access-key-id {key.access_key_id} --access-key-secret {key.access_key_secret}"
            f"{token}\n  state: python3 dev.py emulator state --endpoint {emulator.endpoint}",
            file=sys.stderr, flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    store.close()
    return 0


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


def _fetch_state(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{endpoint}/_emulator/state", timeout=10) as answer:
        loaded: dict[str, Any] = json.load(answer)
    return loaded


def show_state(args: argparse.Namespace) -> int:
    if args.db is not None:
        if not args.db.exists():
            raise SystemExit(f"{args.db}: no such file; create it with `emulator seed --db`")
        state = Store(args.db).state()
    else:
        raw = _fetch_state(args.endpoint)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "seed":
        store = Store(args.db)
        _seed(store, args)
        store.close()
        return 0
    return show_state(args)
