"""One job in a run: its windows being listed, its files waiting to be deleted, and exactly what
is left of it when the run stops.

The scheduler (execute.py) owns these and changes them from its one thread.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from snapshot_purge.model import JobWork, Range, SnapshotFile
from snapshot_purge.plan import WindowPaging, merge_ranges


class Unit:
    """One window of one job, being listed page by page."""

    __slots__ = ("busy", "failed", "job", "paging")

    def __init__(self, job: JobState, paging: WindowPaging) -> None:
        self.job = job
        self.paging = paging
        self.busy = False
        self.failed = False

    @property
    def ready(self) -> bool:
        return not (self.busy or self.failed or self.paging.done)


Entry = tuple[SnapshotFile, "Unit | None"]


@dataclass
class JobState:
    work: JobWork
    windows: deque[Range]
    units: list[Unit] = field(default_factory=list)
    buffer: list[Entry] = field(default_factory=list)
    unsent: list[Entry] = field(default_factory=list)  # batches that a stop kept from running
    batches_out: int = 0
    matched: set[str] = field(default_factory=set)
    last_request_id: str | None = None
    dropped: bool = False

    def next_window(self) -> Unit:
        return self.add_unit(WindowPaging(self.windows.popleft()))

    def add_unit(self, paging: WindowPaging) -> Unit:
        unit = Unit(self, paging)
        self.units.append(unit)
        return unit

    @property
    def listing_done(self) -> bool:
        return not self.windows and not any(u.busy or u.ready for u in self.units)

    @property
    def finished(self) -> bool:
        return self.dropped or (self.listing_done and not self.buffer and not self.batches_out)

    def remainder(self, queued: list[Entry]) -> JobWork | None:
        """What is left of the job, exactly: none of it was done, all the rest was. `queued`
        are its files in batches the delete stage has not taken."""
        if self.dropped:
            return None
        undone = self.buffer + self.unsent + queued
        work = self.work
        if work.timestamps:
            left = tuple(sorted(file.create_timestamp for file, _ in undone))
            if not left:
                return None
            return JobWork(work.job_id, work.delete_original_file, timestamps=left, rule=work.rule)
        spans = list(self.windows)
        for unit in self.units:
            paging = unit.paging
            start = paging.end if paging.done and not unit.failed else paging.position
            start = min([start, *(f.create_timestamp for f, u in undone if u is unit)])
            spans.append((start, paging.end))
        ranges = merge_ranges(spans)
        if not ranges:
            return None
        return JobWork(
            work.job_id,
            work.delete_original_file,
            ranges=ranges,
            only_objects=work.only_objects,
            rule=work.rule,
        )


@dataclass(frozen=True)
class Batch:
    job: JobState
    entries: list[Entry]
