"""Pure planning: what a job's window is, and paging a range a day at a time at most.

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
    """Pages through one time range of one job, oldest first, returning every file in it once.

    A call asks for at most a day (the API's limit), from the second `position` falls in. When a
    call's day holds no more files, the next one starts where it ended: a range of several days
    costs max(ceil(files / 100), days) calls, not a partial page per fixed day window.

    `position` is exact to the millisecond: every file before it has been returned, none after
    it. What comes back before it is dropped: the repeats at a page boundary, where
    `NextStartTime` (seconds) cuts into a second whose first files the last page held. Files
    outside the range are dropped too, whatever the service's idea of an inclusive end.
    """

    def __init__(self, window: Range) -> None:
        self.position, self.end = window
        self.done = self.position >= self.end

    def request(self) -> Range:
        """The StartTime/EndTime of the next call: whole seconds, at most a day."""
        start = floor_second(self.position)
        return start, min(ceil_second(self.end), start + DAY_MS)

    def accept(self, page: FilePage, job_id: str) -> list[SnapshotFile]:
        _, asked_until = self.request()
        files = [f for f in page.files if self.position <= f.create_timestamp < self.end]
        newest = max((f.create_timestamp for f in page.files), default=-1)
        next_start = page.next_start_ms
        if next_start is None or next_start >= asked_until:
            # This call's day is listed: on from where it ended, or done.
            self.position = max(self.position, asked_until, newest + 1)
            self.done = self.position >= self.end
            return files
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

    def calls_left(self, span_per_page: float | None) -> float:
        """At least one call per day left, and one per page where the density is known."""
        left = self.end - self.position
        days = left / DAY_MS
        return days if span_per_page is None else max(days, left / max(span_per_page, 1.0))

    def split(self, at: int) -> WindowPaging | None:
        """Hand [at, end) to a paging of its own, so that two workers list this range at once."""
        if not ceil_second(self.position) < at < self.end or at % SECOND_MS:
            return None
        rest = WindowPaging((at, self.end))
        self.end = at
        return rest


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
