"""Plain, serialisable values shared by planning, execution and reporting."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

DAY_MS = 86_400_000
SECOND_MS = 1000
MAX_TIMESTAMPS_PER_DELETE = 200
MAX_FILES_PER_PAGE = 100


class Trigger(str, Enum):
    TIMER = "timer"
    OSS = "oss"
    MANUAL = "manual"


class Result(str, Enum):
    OK = "OK"
    NOT_FOUND = "NotFound"
    DRY_RUN = "DryRun"
    SKIPPED = "Skipped"
    FAILED = "Failed"


@dataclass(frozen=True)
class Slice:
    """The unit of work: one job and one window [start_ms, end_ms) of at most one day.

    Boundaries are whole seconds, because ListLiveSnapshotFiles takes second-precision times; a
    sweep is a list of slices and a resume cursor is the list of slices not yet done.
    """

    job_id: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class SliceTask:
    """List a slice and delete what is due in it.

    With `only_objects`, only the records of those OSS objects are due (an OSS event names them);
    the ones not found are reported as such once the slice has been listed.
    """

    slice: Slice
    delete_original_file: bool
    only_objects: frozenset[str] | None = None

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "JobId": self.slice.job_id,
            "StartTimestamp": self.slice.start_ms,
            "EndTimestamp": self.slice.end_ms,
            "DeleteOriginalFile": self.delete_original_file,
        }
        if self.only_objects is not None:
            entry["OssObjects"] = sorted(self.only_objects)
        return entry


@dataclass(frozen=True)
class ExplicitTask:
    """Delete the named files of one job; no listing (the person named them)."""

    job_id: str
    timestamps: tuple[int, ...]
    delete_original_file: bool


Task = SliceTask | ExplicitTask


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
class FileOutcome:
    """What happened to one file; becomes one `snapshot_file` log line."""

    file: SnapshotFile
    result: Result
    delete_original_file: bool
    reason: str | None = None
    api_request_id: str | None = None
