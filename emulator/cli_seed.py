"""The seeding options `serve` and `seed` share, and seeding from them with a word first: a big
seed takes seconds, and silence looks like a hang."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emulator import cli_options
from emulator.seed import DEFAULT_BUCKET, DEFAULT_OVERWRITE_FORMAT, DEFAULT_SEQUENCE_FORMAT, seed
from emulator.store import Store


def add_options(parser: argparse.ArgumentParser, *, jobs_default: int, db_required: bool
                ) -> None:
    parser.add_argument("--db", type=Path, required=db_required,
                        help="SQLite file to keep state in (serve's default: memory)")
    parser.add_argument("--jobs", type=cli_options.count, default=jobs_default, metavar="N",
                        help=f"number of snapshot jobs to add (default {jobs_default})")
    parser.add_argument("--days", type=cli_options.days, default=3.0, metavar="D",
                        help="days of snapshots before now (default 3)")
    parser.add_argument("--interval", type=cli_options.interval, default=60, metavar="SECONDS",
                        help="seconds between snapshots, 5..3600 (default 60)")
    parser.add_argument("--no-overlay", dest="overlay", action="store_false",
                        help="no overlay file (the one a job overwrites in place)")
    parser.add_argument("--key-format", default=DEFAULT_SEQUENCE_FORMAT,
                        help=f"the template's SequenceFormat (default {DEFAULT_SEQUENCE_FORMAT})")
    parser.add_argument("--overwrite-format", default=DEFAULT_OVERWRITE_FORMAT,
                        help=f"the template's OverwriteFormat (default {DEFAULT_OVERWRITE_FORMAT})")
    parser.add_argument("--bucket", default=DEFAULT_BUCKET,
                        help=f"the OSS bucket (default {DEFAULT_BUCKET})")


def seed_from(store: Store, args: argparse.Namespace) -> None:
    if not args.jobs:
        return
    print(cli_options.seeding_message(args.jobs, args.days, args.interval), file=sys.stderr,
          flush=True)
    started = time.monotonic()
    try:
        jobs = seed(store, jobs=args.jobs, interval_s=args.interval, days=args.days,
                    overlay=args.overlay, sequence_format=args.key_format,
                    overwrite_format=args.overwrite_format, bucket=args.bucket)
    except ValueError as error:
        cli_options.fail(f"--key-format: {error}")
    print(f"seeded {len(jobs)} job(s), {store.count_records():,} records in"
          f" {time.monotonic() - started:.1f} s", file=sys.stderr)
