"""Runs a plan's jobs: a listing stage and a delete stage, fed by one scheduler.

One thread schedules and owns every piece of state; pool threads only make calls. Listing never
waits for deleting: a full batch of 200 goes to the delete stage while its range is still being
listed. Batches fill across all the ranges of a job, so a job takes ceil(due / 200) deletes
however its time range is split. When there are fewer ranges than workers, a long or dense range
is split in two at its middle, as long as each half still takes enough calls that the extra
partial page costs under 2% of the listing. Memory is bounded: listing pauses while too many
files wait for deletion, and jobs are taken one after another, in order.

A stop (deadline, permission denied) lets the calls under way finish, then works out exactly what
is left of each job: the cursor resumes there with no file skipped and none done twice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from snapshot_purge.errors import (
    ApiFailure,
    BadRequest,
    DeadlineReached,
    JobNotFound,
    PermissionDenied,
)
from snapshot_purge.executors import DeleteExecutor
from snapshot_purge.jobstate import Batch, Entry, JobState, Unit
from snapshot_purge.model import (
    MAX_FILES_PER_PAGE,
    MAX_TIMESTAMPS_PER_DELETE,
    SECOND_MS,
    FileOutcome,
    FilePage,
    JobWork,
    Result,
    SnapshotFile,
)
from snapshot_purge.report import Reporter

# A split adds at most one call (a partial page): halves of at least this many calls keep it
# under 2%.
MIN_CALLS_PER_SPLIT_HALF = 60
# Files listed but not yet deleted, per worker, before listing waits for the delete stage.
PENDING_FILES_PER_WORKER = 3 * MAX_TIMESTAMPS_PER_DELETE

DEADLINE_REASON = "deadline: stopped before the function timeout; what is left is in `cursor`"


class Lister(Protocol):
    def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage: ...


class _Stopped(Exception):
    """The run stopped before this call was made."""


@dataclass(frozen=True)
class RunResult:
    """`leftover`: what is left of the jobs the run took; `taken`: how many jobs it took, in the
    order given (the rest were not started)."""

    stopped_reason: str | None
    permission_error: PermissionDenied | None
    leftover: tuple[JobWork, ...]
    taken: int
    failed_windows: int
    errors: tuple[str, ...]
    jobs_not_found: tuple[str, ...]
    due: int


class Runner:
    def __init__(
        self,
        lister: Lister,
        executor: DeleteExecutor,
        reporter: Reporter,
        *,
        concurrency: int,
        object_timestamps: Callable[[str], int | None] = lambda key: None,
    ) -> None:
        self._lister = lister
        self._executor = executor
        self._reporter = reporter
        self._concurrency = concurrency
        self._object_timestamps = object_timestamps

    def run(self, jobs: Sequence[JobWork], max_files: int | None) -> RunResult:
        """Take the jobs in the order given; refuse before any delete past `max_files`."""
        with ThreadPoolExecutor(2 * self._concurrency, thread_name_prefix="purge") as pool:
            run = _Run(
                self._lister, self._executor, self._reporter, self._object_timestamps, pool,
                width=self._concurrency, max_files=max_files, jobs=jobs,
            )
            return run.run()


class _Run:
    """The state of one run; touched only by the scheduling thread."""

    def __init__(
        self,
        lister: Lister,
        executor: DeleteExecutor,
        reporter: Reporter,
        object_timestamps: Callable[[str], int | None],
        pool: ThreadPoolExecutor,
        *,
        width: int,
        max_files: int | None,
        jobs: Sequence[JobWork],
    ) -> None:
        self.lister = lister
        self.executor = executor
        self.reporter = reporter
        self.object_timestamps = object_timestamps
        self.pool = pool
        self.width = width
        self.waiting = deque(jobs)
        self.taken = 0
        self.active: list[JobState] = []
        self.ready: deque[Batch] = deque()
        self.futures: dict[Future[Any], Callable[[Future[Any]], None]] = {}
        self.listing = self.deleting = 0
        self.pending_files = 0
        self.due = 0
        self.max_files = max_files
        self.gate_open = max_files is None
        self.stop_reason: str | None = None
        self.permission_error: PermissionDenied | None = None
        self.errors: list[str] = []
        self.not_found: list[str] = []
        self.failed_windows = 0
        self.leftover: list[JobWork] = []

    def run(self) -> RunResult:
        while True:
            if self.stop_reason is None:
                self._fill()
            if not self.futures:
                if self.stop_reason is None and not self.gate_open and not self._listing_left():
                    self._open_gate()
                    continue
                break
            done, _ = wait(list(self.futures), return_when=FIRST_COMPLETED)
            for future in done:
                self.futures.pop(future)(future)
        leftover = self.leftover + [
            rest for job in self.active if (rest := job.remainder(self._queued(job)))
        ]
        return RunResult(
            self.stop_reason,
            self.permission_error,
            tuple(leftover),
            self.taken,
            self.failed_windows,
            tuple(self.errors),
            tuple(self.not_found),
            self.due,
        )

    # scheduling

    def _fill(self) -> None:
        self._fill_deletes()
        limit = PENDING_FILES_PER_WORKER * self.width
        while self.listing < self.width and (self.pending_files < limit or not self.gate_open):
            unit = self._next_unit()
            if unit is None:
                break
            self._submit_list(unit)
        self._fill_deletes()  # taking a job of named files makes its batches at once

    def _fill_deletes(self) -> None:
        while self.gate_open and self.deleting < self.width and self.ready:
            self._submit_delete(self.ready.popleft())

    def _next_unit(self) -> Unit | None:
        for job in self.active:
            for unit in job.units:
                if unit.ready:
                    return unit
            if job.windows and not job.dropped:
                return job.next_window()
        while self.waiting:
            job = self._take(self.waiting.popleft())
            if job.windows:
                return job.next_window()
        return None

    def _take(self, work: JobWork) -> JobState:
        self.taken += 1
        job = JobState(work, deque(work.ranges))
        self.active.append(job)
        for stamp in work.timestamps:
            self._due(job, SnapshotFile(work.job_id, stamp), None)
        if not job.windows:
            self._flush(job)
        return job

    def _listing_left(self) -> bool:
        return bool(self.waiting) or any(not j.listing_done for j in self.active if not j.dropped)

    def _open_gate(self) -> None:
        assert self.max_files is not None
        if self.due > self.max_files:
            raise BadRequest(
                "MaxFiles",
                f"{self.due:,} files are due, more than the limit of {self.max_files:,} (MaxFiles"
                " or MAX_FILES_PER_RUN); nothing was deleted. Raise the limit or narrow the"
                " request (JobIds, StartTime/EndTime, RetentionDays)",
            )
        self.gate_open = True

    # listing stage

    def _submit_list(self, unit: Unit) -> None:
        unit.busy = True
        self.listing += 1
        start, end = unit.paging.request()
        job_id = unit.job.work.job_id
        future = self.pool.submit(
            self._guarded, self.lister.list_files, job_id, start, end, MAX_FILES_PER_PAGE
        )
        self.futures[future] = lambda done: self._listed(unit, done)

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        if self.stop_reason is not None:
            raise _Stopped
        return call(*args)

    def _listed(self, unit: Unit, future: Future[FilePage]) -> None:
        unit.busy = False
        self.listing -= 1
        job = unit.job
        try:
            page = future.result()
            files = unit.paging.accept(page, job.work.job_id)
        except _Stopped:
            return
        except JobNotFound as missing:
            self._drop(job, missing)
            return
        except (PermissionDenied, DeadlineReached) as stop:
            self._halt(stop)
            return
        except ApiFailure as failure:
            unit.failed = True
            self.failed_windows += 1
            self._error(str(failure))
            self._after_listing(job)
            return
        self.reporter.listed(len(page.files))
        job.last_request_id = page.request_id
        only = job.work.only_objects
        for file in files:
            if only is not None:
                if file.oss_object not in only:
                    continue
                job.matched.add(file.oss_object)
            if file.is_overlay:
                work = job.work
                self._report(
                    job, FileOutcome(file, Result.SKIPPED, work.delete_original_file, "overlay")
                )
            else:
                self._due(job, file, unit)
        if not unit.paging.done:
            self._maybe_split(unit, page)
        self._after_listing(job)

    def _maybe_split(self, unit: Unit, page: FilePage) -> None:
        """Split while workers would otherwise idle, and only ranges long enough to pay: a day
        is a call at least, and a full page tells how dense the files are."""
        if self.waiting or any(j.windows for j in self.active):
            return
        if sum(u.busy or u.ready for j in self.active for u in j.units) >= self.width:
            return
        stamps = [f.create_timestamp for f in page.files]
        full = len(stamps) == MAX_FILES_PER_PAGE
        paging = unit.paging
        if paging.calls_left(max(stamps) - min(stamps) if full else None) < (
            2 * MIN_CALLS_PER_SPLIT_HALF
        ):
            return
        middle = (paging.position + paging.end) // 2
        rest = paging.split(middle - middle % SECOND_MS)
        if rest is not None:
            unit.job.add_unit(rest)

    def _after_listing(self, job: JobState) -> None:
        if job.listing_done:
            self._flush(job)
            self._maybe_finish(job)

    def _due(self, job: JobState, file: SnapshotFile, unit: Unit | None) -> None:
        self.due += 1
        if not self.gate_open and self.max_files is not None and self.due > self.max_files:
            return  # refused anyway: count, keep nothing
        job.buffer.append((file, unit))
        self.pending_files += 1
        if len(job.buffer) >= MAX_TIMESTAMPS_PER_DELETE:
            self._cut(job, MAX_TIMESTAMPS_PER_DELETE)

    def _flush(self, job: JobState) -> None:
        while job.buffer:
            self._cut(job, MAX_TIMESTAMPS_PER_DELETE)

    def _cut(self, job: JobState, size: int) -> None:
        entries, job.buffer = job.buffer[:size], job.buffer[size:]
        job.batches_out += 1
        self.ready.append(Batch(job, entries))

    # delete stage

    def _submit_delete(self, batch: Batch) -> None:
        self.deleting += 1
        work = batch.job.work
        files = [file for file, _ in batch.entries]
        future = self.pool.submit(
            self._guarded, self.executor.delete, work.job_id, files, work.delete_original_file
        )
        self.futures[future] = lambda done: self._deleted(batch, done)

    def _deleted(self, batch: Batch, future: Future[list[FileOutcome]]) -> None:
        self.deleting -= 1
        job = batch.job
        job.batches_out -= 1
        self.pending_files -= len(batch.entries)
        work = job.work
        try:
            outcomes = future.result()
        except (_Stopped, DeadlineReached) as stop:
            job.unsent += batch.entries
            if isinstance(stop, DeadlineReached):
                self._halt(stop)
            return
        except PermissionDenied as denied:
            job.unsent += batch.entries
            outcomes = _all(batch, Result.FAILED, work.delete_original_file, denied)
            self._halt(denied)
        except JobNotFound as missing:
            outcomes = _all(batch, Result.SKIPPED, work.delete_original_file, missing)
            self._drop(job, missing)
        self.reporter.files(outcomes, work.rule)
        self._maybe_finish(job)

    # ends of jobs and of the run

    def _maybe_finish(self, job: JobState) -> None:
        if not job.finished or job not in self.active:
            return
        self.active.remove(job)
        rest = job.remainder(self._queued(job))
        if rest is not None:
            self.leftover.append(rest)  # windows whose listing failed for good
            return
        if job.dropped or job.work.only_objects is None:
            return
        for key in sorted(job.work.only_objects - job.matched):
            self.reporter.object_without_record(
                job.work.job_id, key, self.object_timestamps(key), job.last_request_id
            )

    def _drop(self, job: JobState, missing: JobNotFound) -> None:
        """ICE does not know the job: it goes to `jobs_not_found`, the others go on."""
        if not job.dropped:
            job.dropped = True
            self.not_found.append(job.work.job_id)
            self.pending_files -= len(job.buffer)
            job.buffer = []
        self._maybe_finish(job)

    def _halt(self, stop: PermissionDenied | DeadlineReached) -> None:
        if self.stop_reason is not None:
            return
        if isinstance(stop, PermissionDenied):
            self.stop_reason = f"permission denied: {stop}"
            self.permission_error = stop
        else:
            self.stop_reason = DEADLINE_REASON

    def _error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def _queued(self, job: JobState) -> list[Entry]:
        return [entry for batch in self.ready if batch.job is job for entry in batch.entries]

    def _report(self, job: JobState, outcome: FileOutcome) -> None:
        self.reporter.file(outcome, job.work.rule)

def _all(
    batch: Batch, result: Result, delete_original: bool, why: ApiFailure
) -> list[FileOutcome]:
    """One outcome for every file of a batch whose whole call ended in `why`."""
    return [
        FileOutcome(file, result, delete_original, why.code, why.request_id)
        for file, _ in batch.entries
    ]
