"""Pure planning: what a job's window is, the API's one-day windows, and paging one window.

Nothing here does I/O: listing answers come in as `FilePage` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar

from snapshot_purge.errors import ApiFailure
from snapshot_purge.model import (
    DAY_MS,
    SECOND_MS,
    FilePage,
    JobWork,
    Range,
    SnapshotFile,
)
from snapshot_purge.rules import RetentionRule, retention_for

T = TypeVar("T")


def floor_second(ms: int) -> int:
    return ms - ms % SECOND_MS


def ceil_second(ms: int) -> int:
    return -(-ms // SECOND_MS) * SECOND_MS


def day_windows(span: Range) -> list[Range]:
    """Windows covering [start, end), oldest first, each listed by one call of at most a day.

    A call asks in whole seconds, from the second a window starts in to the second it ends in,
    so the windows are cut at whole seconds a day apart: a range resumed at a millisecond still
    asks for no more than a day."""
    start, end = span
    if start >= end:
        return []
    return [(max(start, at), min(end, at + DAY_MS)) for at in range(floor_second(start), end,
                                                                       DAY_MS)]


def merge_ranges(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted, non-empty, with touching or overlapping ranges joined."""
    merged: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class RetentionPolicy:
    """Files older than the job's retention age, within `lookback_days` behind that cutoff.

    `as_of_ms` is the run's "now": kept in a cursor, so a resumed run sweeps the same windows.
    """

    as_of_ms: int
    retention_days: float
    lookback_days: float
    delete_original_file: bool
    rules: tuple[RetentionRule, ...] = ()

    @property
    def needs_job_names(self) -> bool:
        return bool(self.rules)

    def work_for(self, job_id: str, job_name: str | None) -> JobWork:
        retention = retention_for(
            job_name,
            self.rules,
            retention_days=self.retention_days,
            delete_original_file=self.delete_original_file,
        )
        cutoff = self.as_of_ms - round(retention.retention_days * DAY_MS)
        start = cutoff - round(self.lookback_days * DAY_MS)
        return JobWork(
            job_id,
            retention.delete_original_file,
            ranges=((floor_second(start), floor_second(cutoff)),),
            rule=retention.rule if self.rules else None,
        )

    @property
    def oldest_retention_days(self) -> float:
        """The longest retention any job has: objects older than this are past every cutoff."""
        return max([self.retention_days, *(rule.RetentionDays for rule in self.rules)])


@dataclass(frozen=True)
class RangePolicy:
    """Every file in [start_ms, end_ms), whatever its age (a back-fill)."""

    start_ms: int
    end_ms: int
    delete_original_file: bool

    needs_job_names = False

    def work_for(self, job_id: str, job_name: str | None) -> JobWork:
        return JobWork(job_id, self.delete_original_file, ranges=((self.start_ms, self.end_ms),))


Policy = RetentionPolicy | RangePolicy


class WindowPaging:
    """Pages through one window, oldest first, returning every file in it exactly once.

    `position` is exact to the millisecond: every file before it has been returned, none after
    it. A call asks from the second `position` falls in (the API takes whole seconds), and what
    comes back before `position` is dropped: the repeats at a page boundary, where
    `NextStartTime` (seconds) cuts into a second whose first files the last page held. Files
    outside [start, end) are dropped too, whatever the service's idea of an inclusive end.
    """

    def __init__(self, window: Range) -> None:
        self.position, self.end = window
        self.done = self.position >= self.end

    def request(self) -> Range:
        """The StartTime/EndTime of the next call, in whole seconds."""
        return floor_second(self.position), ceil_second(self.end)

    def accept(self, page: FilePage, job_id: str) -> list[SnapshotFile]:
        files = [f for f in page.files if self.position <= f.create_timestamp < self.end]
        next_start = page.next_start_ms
        if next_start is None or next_start >= self.end:
            self.position, self.done = self.end, True
            return files
        newest = max((f.create_timestamp for f in page.files), default=next_start - 1)
        advanced = max(next_start, newest + 1)
        if floor_second(advanced) <= floor_second(self.position) and not files:
            raise ApiFailure(
                "ListLiveSnapshotFiles",
                "NextStartTimeStalled",
                f"job {job_id}: NextStartTime {next_start} does not advance past"
                f" {self.position}; stopped to avoid an endless listing",
                request_id=page.request_id,
                hint="Report this to Alibaba Cloud support with the RequestId.",
            )
        self.position = max(self.position, advanced)
        return files

    def split(self, at: int) -> WindowPaging | None:
        """Hand [at, end) to a paging of its own, so that two workers list this window at once."""
        if not ceil_second(self.position) < at < self.end or at % SECOND_MS:
            return None
        rest = WindowPaging((at, self.end))
        self.end = at
        return rest


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
