"""Command-line values checked where they are read, so that a wrong one is a one-line message
naming the flag (and exit code 2), never a traceback."""

from __future__ import annotations

import argparse
import math
import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

from emulator.store import Store

MIN_INTERVAL_S, MAX_INTERVAL_S = 5, 3600
DISCOVERY_DAYS = 400  # what the function looks back by default for SNAPSHOT_JOB_IDS=*


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line: `prog: message (see --help)`."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def fail(message: str) -> NoReturn:
    """A user mistake found after parsing: one line on stderr, exit code 2."""
    print(f"ice-emulator: {message}", file=sys.stderr)
    raise SystemExit(2)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def interval(text: str) -> int:
    """Seconds between snapshots: ICE's own range."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"{value} s is outside ICE's snapshot intervals, {MIN_INTERVAL_S}..{MAX_INTERVAL_S} s")
    return value


def days(text: str) -> float:
    value = _number(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} must be a number of days above 0")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def port(text: str) -> int:
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0..65535; 0: any free one)")
    return value


def factor(text: str) -> float:
    value = _number(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} must be above 0 (1: real time)")
    return value


def records_estimate(jobs: int, days_: float, interval_s: int) -> int:
    """Snapshot records that seeding writes (overlay records aside)."""
    return jobs * int(days_ * 86_400 // interval_s)


def seeding_message(jobs: int, days_: float, interval_s: int) -> str:
    span = f"{days_:g} day" + ("" if days_ == 1 else "s")
    return (f"seeding {jobs} job{'' if jobs == 1 else 's'} x {span} at {interval_s} s:"
            f" ~{records_estimate(jobs, days_, interval_s):,} records ...")


def open_store(path: Path | None) -> Store:
    """The store in `path` (made if missing), or in memory."""
    try:
        return Store(path or ":memory:")
    except sqlite3.Error as error:
        fail(f"--db {path}: {error}")


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file; create it with `seed --db {text}`")
    return path
