"""Plain, serialisable values shared by planning, execution and reporting."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

DAY_MS = 86_400_000
SECOND_MS = 1000
MAX_TIMESTAMPS_PER_DELETE = 200
MAX_FILES_PER_PAGE = 100

Range = tuple[int, int]  # [start_ms, end_ms)


class Trigger(str, Enum):
    TIMER = "timer"
    OSS = "oss"
    MANUAL = "manual"
    SHARD = "shard"


class Result(str, Enum):
    OK = "OK"
    NOT_FOUND = "NotFound"
    DRY_RUN = "DryRun"
    SKIPPED = "Skipped"
    FAILED = "Failed"


@dataclass(frozen=True)
class JobWork:
    """What one run does for one job: the unit that plans, cursors and shards are made of.

    Either `ranges` to list (whole time ranges of any length, in ms; listing splits them into the
    API's one-day windows), or `timestamps`: the named files, deleted without listing. With
    `only_objects`, only the records of those OSS objects are due (an OSS removal event names
    them). `rule` is the retention rule that decided the job's window, when rules are in play.
    """

    job_id: str
    delete_original_file: bool
    ranges: tuple[Range, ...] = ()
    timestamps: tuple[int, ...] = ()
    only_objects: frozenset[str] | None = None
    rule: str | None = None


@dataclass(frozen=True)
class RunIdentity:
    """Which run a line belongs to: the run that started it, the shard, the continuation hop."""

    run_id: str
    shard: int | None = None
    hop: int = 0


@dataclass(frozen=True)
class SnapshotFile:
    job_id: str
    create_timestamp: int
    oss_object: str | None = None
    is_overlay: bool = False


@dataclass(frozen=True)
class FilePage:
    files: tuple[SnapshotFile, ...]
    next_start_ms: int | None
    request_id: str


@dataclass(frozen=True)
class JobInfo:
    """A live snapshot job as listing or getting it shows it."""

    job_id: str
    job_name: str


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one file; becomes one `snapshot_file` log line."""

    file: SnapshotFile
    result: Result
    delete_original_file: bool
    reason: str | None = None
    api_request_id: str | None = None
    rule: str | None = None
