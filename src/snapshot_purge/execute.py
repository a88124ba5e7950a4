"""Runs the work: delete executors (the real one and the dry run) and the runner over tasks.

The runner streams: a worker holds one page and one batch at a time, so memory is bounded by the
pool size, not by the number of files. With a `MaxFiles` limit it first lists everything (memory
bounded by the limit) and refuses the whole run, before any delete, when more files are due.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from snapshot_purge.errors import (
    ApiFailure,
    BadRequest,
    DeadlineReached,
    JobNotFound,
    PermissionDenied,
)
from snapshot_purge.ice import DeleteAnswer
from snapshot_purge.model import (
    MAX_TIMESTAMPS_PER_DELETE,
    ExplicitTask,
    FileOutcome,
    FilePage,
    Result,
    Slice,
    SliceTask,
    SnapshotFile,
    Task,
)
from snapshot_purge.plan import Lister, batched, floor_second, iter_pages
from snapshot_purge.report import Reporter, RunOutcome


class DeleteExecutor(Protocol):
    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]: ...


class DryRunExecutor:
    """Reports what would be deleted; makes no delete call."""

    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]:
        return [FileOutcome(file, Result.DRY_RUN, delete_original_file) for file in files]


class DeletingApi(Protocol):
    def delete_files(
        self, job_id: str, timestamps: list[int], delete_original_file: bool
    ) -> DeleteAnswer: ...


@dataclass
class ApiDeleteExecutor:
    """Deletes through ICE and maps every answer to per-file results.

    `OverlayNotSupported` fails a whole request: the batch is split in halves until the overlay
    file is alone, so every other file is still deleted. `JobNotFound`, `PermissionDenied` and
    `DeadlineReached` go up to the runner, which knows what they mean for the rest of the run.
    """

    api: DeletingApi

    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]:
        try:
            answer = self.api.delete_files(
                job_id, [file.create_timestamp for file in files], delete_original_file
            )
        except (JobNotFound, PermissionDenied):
            raise
        except ApiFailure as failure:
            return self._whole_request_failed(job_id, files, delete_original_file, failure)
        gone_reason = "AlreadyGoneAfterRetry" if answer.retried_after_lost_answer else None
        outcomes = []
        for file in files:
            result = answer.results.get(file.create_timestamp)
            if result == "OK":
                outcomes.append(
                    FileOutcome(file, Result.OK, delete_original_file, None, answer.request_id)
                )
            elif result == "NotFound":
                outcomes.append(
                    FileOutcome(
                        file, Result.NOT_FOUND, delete_original_file, gone_reason, answer.request_id
                    )
                )
            else:
                outcomes.append(
                    FileOutcome(
                        file,
                        Result.FAILED,
                        delete_original_file,
                        result or "NoResultForFile",
                        answer.request_id,
                    )
                )
        return outcomes

    def _whole_request_failed(
        self,
        job_id: str,
        files: list[SnapshotFile],
        delete_original_file: bool,
        failure: ApiFailure,
    ) -> list[FileOutcome]:
        if failure.code == "NoValidSnapshot":
            return [
                FileOutcome(
                    file, Result.NOT_FOUND, delete_original_file, failure.code, failure.request_id
                )
                for file in files
            ]
        if failure.code == "OverlayNotSupported":
            if len(files) == 1:
                return [
                    FileOutcome(
                        files[0],
                        Result.SKIPPED,
                        delete_original_file,
                        failure.code,
                        failure.request_id,
                    )
                ]
            middle = len(files) // 2
            return self.delete(job_id, files[:middle], delete_original_file) + self.delete(
                job_id, files[middle:], delete_original_file
            )
        return [
            FileOutcome(file, Result.FAILED, delete_original_file, failure.code, failure.request_id)
            for file in files
        ]


DEADLINE_REASON = (
    "deadline: stopped before the function timeout; re-invoke with the cursor (or"
    " let the next timer run catch up)"
)


class _Stop(Exception):
    """Another worker stopped the run (permission denied, deadline): leave the rest undone."""


@dataclass
class _RunState:
    """What workers share; every mutation under the lock."""

    stop_reason: str | None = None
    permission_error: PermissionDenied | None = None
    missing_jobs: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    matched_objects: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self, reason: str, error: PermissionDenied | None = None) -> None:
        with self.lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            self.permission_error = self.permission_error or error

    def stopped(self) -> bool:
        return self.stop_reason is not None

    def job_missing(self, job_id: str) -> bool:
        with self.lock:
            return job_id in self.missing_jobs

    def add_error(self, message: str) -> None:
        with self.lock:
            if message not in self.errors:
                self.errors.append(message)


class _GuardedLister:
    """Checks before every listing call that the run and the job go on; keeps RequestIds."""

    def __init__(self, lister: Lister, state: _RunState) -> None:
        self._lister = lister
        self._state = state
        self.last_request_id: dict[str, str] = {}

    def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage:
        if self._state.stopped() or self._state.job_missing(job_id):
            raise _Stop
        page = self._lister.list_files(job_id, start_ms, end_ms, limit)
        self.last_request_id[job_id] = page.request_id
        return page


@dataclass(frozen=True)
class TaskDone:
    """A task's end: `remaining` is the part to resume, None when nothing is left of it."""

    task: Task
    remaining: SliceTask | None = None


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
        self._state = _RunState()
        self._lister = _GuardedLister(lister, self._state)
        self._executor = executor
        self._reporter = reporter
        self._concurrency = concurrency
        self._object_timestamps = object_timestamps
        self._listed_files: dict[tuple[str, int], SnapshotFile] = {}

    @property
    def permission_error(self) -> PermissionDenied | None:
        return self._state.permission_error

    def run(self, tasks: tuple[Task, ...], max_files: int | None) -> RunOutcome:
        original = tasks
        if max_files is not None:
            tasks = self._within_limit(tasks, max_files)
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="purge") as pool:
            done = list(pool.map(self._run_task, tasks))
        self._report_objects_without_records(original, done)
        remaining = tuple(item.remaining for item in done if item.remaining is not None)
        state = self._state
        reason = state.stop_reason or (
            f"{len(remaining)} slice(s) could not be listed; re-invoke with the cursor"
            if remaining
            else None
        )
        return RunOutcome(
            complete=not remaining and state.stop_reason is None,
            stopped_reason=reason,
            remaining=remaining,
            errors=tuple(state.errors),
            jobs_not_found=tuple(sorted(state.missing_jobs)),
        )

    def _within_limit(self, tasks: tuple[Task, ...], max_files: int) -> tuple[Task, ...]:
        """List everything first; refuse before any delete when more than `max_files` are due.

        The listed files become explicit tasks (one per job and delete setting), so nothing is
        listed twice and batches are as full as the job's files allow.
        """
        due: dict[tuple[str, bool], list[SnapshotFile]] = defaultdict(list)
        count = 0
        explicit: list[Task] = []
        for task in tasks:
            if isinstance(task, ExplicitTask):
                count += len(task.timestamps)
                explicit.append(task)
            elif not self._state.job_missing(task.slice.job_id):
                try:
                    for page in iter_pages(self._lister, task.slice):
                        for file in self._due_in_page(task, page):
                            due[(file.job_id, task.delete_original_file)].append(file)
                            count += 1
                except JobNotFound as missing:
                    self._job_not_found(task.slice.job_id, missing)
            if count > max_files:
                raise BadRequest(
                    "MaxFiles",
                    f"more than {max_files} files are due (the limit of MaxFiles or"
                    " MAX_FILES_PER_RUN); nothing was deleted. Raise the limit or narrow the"
                    " request (JobIds, StartTime/EndTime, RetentionDays)",
                )
        listed: list[Task] = [
            ExplicitTask(job_id, tuple(file.create_timestamp for file in files), delete_original)
            for (job_id, delete_original), files in due.items()
        ]
        self._listed_files = {
            (f.job_id, f.create_timestamp): f for files in due.values() for f in files
        }
        return tuple(explicit + listed)

    def _due_in_page(
        self, task: SliceTask, page: tuple[SnapshotFile, ...]
    ) -> Iterator[SnapshotFile]:
        """Files of a page that are due; overlay files are reported and never deleted."""
        for file in page:
            if task.only_objects is not None:
                if file.oss_object not in task.only_objects:
                    continue
                with self._state.lock:
                    self._state.matched_objects.add(file.oss_object)
            if file.is_overlay:
                self._reporter.file(
                    FileOutcome(file, Result.SKIPPED, task.delete_original_file, "overlay")
                )
                continue
            yield file

    def _run_task(self, task: Task) -> TaskDone:
        job_id = task.slice.job_id if isinstance(task, SliceTask) else task.job_id
        if self._state.job_missing(job_id):
            return TaskDone(task)
        try:
            if isinstance(task, ExplicitTask):
                self._run_explicit(task)
                return TaskDone(task)
            return self._run_slice(task)
        except JobNotFound as missing:
            self._job_not_found(job_id, missing)
            return TaskDone(task)

    def _run_explicit(self, task: ExplicitTask) -> None:
        files = [
            self._listed_files.get((task.job_id, stamp)) or SnapshotFile(task.job_id, stamp)
            for stamp in task.timestamps
        ]
        for batch in batched(files, MAX_TIMESTAMPS_PER_DELETE):
            try:
                self._delete(task.job_id, batch, task.delete_original_file)
            except (_Stop, DeadlineReached) as stop:
                reason = "DeadlineExceeded" if isinstance(stop, DeadlineReached) else "RunStopped"
                for file in batch:
                    self._reporter.file(
                        FileOutcome(file, Result.FAILED, task.delete_original_file, reason)
                    )

    def _run_slice(self, task: SliceTask) -> TaskDone:
        window = task.slice
        done_before = window.start_ms
        pending: list[SnapshotFile] = []
        try:
            for page in iter_pages(self._lister, task.slice):
                for file in self._due_in_page(task, page):
                    pending.append(file)
                    if len(pending) == MAX_TIMESTAMPS_PER_DELETE:
                        self._delete(window.job_id, pending, task.delete_original_file)
                        pending = []
                if not pending:
                    done_before = page[-1].create_timestamp + 1
            while pending:
                self._delete(window.job_id, pending, task.delete_original_file)
                pending = []
            return TaskDone(task)
        except _Stop:
            pass
        except DeadlineReached:
            self._state.stop(DEADLINE_REASON)
        except JobNotFound:
            raise
        except PermissionDenied as denied:
            self._state.stop(f"permission denied: {denied}", denied)
        except ApiFailure as failure:
            self._state.add_error(str(failure))
        resume_at = pending[0].create_timestamp if pending else done_before
        return TaskDone(task, self._rest_of(task, resume_at))

    def _delete(self, job_id: str, files: list[SnapshotFile], delete_original_file: bool) -> None:
        if self._state.stopped():
            raise _Stop
        try:
            outcomes = self._executor.delete(job_id, files, delete_original_file)
        except PermissionDenied as denied:
            self._state.stop(f"permission denied: {denied}", denied)
            outcomes = [
                FileOutcome(
                    file, Result.FAILED, delete_original_file, denied.code, denied.request_id
                )
                for file in files
            ]
        except JobNotFound as missing:
            self._job_not_found(job_id, missing)
            outcomes = [
                FileOutcome(
                    file, Result.SKIPPED, delete_original_file, missing.code, missing.request_id
                )
                for file in files
            ]
        for outcome in outcomes:
            self._reporter.file(outcome)

    def _job_not_found(self, job_id: str, missing: JobNotFound) -> None:
        with self._state.lock:
            first = job_id not in self._state.missing_jobs
            self._state.missing_jobs.add(job_id)
        if first:
            self._state.add_error(str(missing))

    def _rest_of(self, task: SliceTask, resume_at: int) -> SliceTask | None:
        start = max(task.slice.start_ms, floor_second(resume_at))
        if start >= task.slice.end_ms:
            return None
        return SliceTask(
            Slice(task.slice.job_id, start, task.slice.end_ms),
            task.delete_original_file,
            task.only_objects,
        )

    def _report_objects_without_records(
        self, tasks: tuple[Task, ...], done: list[TaskDone]
    ) -> None:
        """Objects an OSS event named whose record no listing found: already gone from ICE."""
        unfinished = {
            key
            for item in done
            if item.remaining is not None
            for key in item.remaining.only_objects or ()
        }
        wanted = {
            key: task.slice.job_id
            for task in tasks
            if isinstance(task, SliceTask) and task.only_objects is not None
            for key in task.only_objects
        }
        for key in sorted(set(wanted) - self._state.matched_objects - unfinished):
            job_id = wanted[key]
            if self._state.job_missing(job_id):
                continue
            self._reporter.object_without_record(
                job_id, key, self._object_timestamps(key), self._lister.last_request_id.get(job_id)
            )
