"""Per-file records and the run summary: the JSON lines users build dashboards and alerts on.

The summary's level says how the run went, so an SLS alert can key on it: INFO when all went
well, WARNING when the run is incomplete (it stopped early or was handed on) or named jobs ICE
does not know, ERROR when files failed, calls failed for good, or permission was denied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from snapshot_purge.clock import Clock
from snapshot_purge.ice import CallStats
from snapshot_purge.logs import BatchLines
from snapshot_purge.model import FileOutcome, Result, RunIdentity, Trigger

FILE_MESSAGE = "snapshot_file"
SUMMARY_MESSAGE = "purge_summary"
MAX_ERRORS_IN_SUMMARY = 20


@dataclass(frozen=True)
class ProgressView:
    """What a progress display shows: files listed and done, and throttled answers so far."""

    listed: int
    counts: Counter[Result]
    throttled: int


Progress = Callable[[ProgressView], None]


@dataclass(frozen=True)
class RunOutcome:
    complete: bool
    stopped_reason: str | None = None
    cursor: str | None = None
    jobs: int = 0
    jobs_left: int = 0
    errors: tuple[str, ...] = ()
    jobs_not_found: tuple[str, ...] = ()
    permission_denied: bool = False
    dispatched: tuple[dict[str, Any], ...] = ()
    continued: dict[str, Any] | None = None


@dataclass
class Reporter:
    logger: Logger
    trigger: Trigger
    request_id: str
    identity: RunIdentity
    dry_run: bool
    stats: CallStats
    progress: Progress | None = None
    clock: Clock = time.monotonic
    counts: Counter[Result] = field(default_factory=Counter)
    listed_files: int = 0
    _started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._started = self.clock()
        code = Reporter.files.__code__
        self._lines = BatchLines(self.logger, FILE_MESSAGE,
                                 (code.co_filename, code.co_firstlineno, code.co_name))

    def run_keys(self) -> dict[str, Any]:
        """Fields on every line of this run."""
        keys: dict[str, Any] = {
            "trigger": self.trigger.value,
            "request_id": self.request_id,
            "run_id": self.identity.run_id,
            "hop": self.identity.hop,
            "dry_run": self.dry_run,
        }
        if self.identity.shard is not None:
            keys["shard"] = self.identity.shard
        return keys

    def file(self, outcome: FileOutcome, rule: str | None) -> None:
        self.files([outcome], rule)

    def files(self, outcomes: list[FileOutcome], rule: str | None) -> None:
        """One line per file: the outcomes of one delete call, written as one batch."""
        self._write([
            {
                "job_id": outcome.file.job_id,
                "create_timestamp": outcome.file.create_timestamp,
                "reason": outcome.reason,
                "delete_original_file": outcome.delete_original_file,
                "api_request_id": outcome.api_request_id,
                "oss_object": outcome.file.oss_object,
                "rule": rule,
                "result": outcome.result.value,
            }
            for outcome in outcomes
        ], [outcome.result for outcome in outcomes])

    def object_without_record(
        self, job_id: str, oss_object: str, create_timestamp: int | None, api_request_id: str | None
    ) -> None:
        """An OSS event named an object whose record is not (or no longer) in ICE."""
        self._write([{
            "job_id": job_id,
            "create_timestamp": create_timestamp,
            "reason": "NoRecord",
            "delete_original_file": False,
            "api_request_id": api_request_id,
            "oss_object": oss_object,
            "result": Result.NOT_FOUND.value,
        }], [Result.NOT_FOUND])

    def past_retention(self, job_id: str, oss_object: str, create_timestamp: int | None) -> None:
        """A removed object older than every retention cutoff: the sweep's business, no call."""
        self._write([{
            "job_id": job_id,
            "create_timestamp": create_timestamp,
            "reason": "PastRetention",
            "delete_original_file": False,
            "oss_object": oss_object,
            "result": Result.SKIPPED.value,
        }], [Result.SKIPPED])

    def _write(self, lines: list[dict[str, Any]], results: list[Result]) -> None:
        self._lines.write(lines)
        with self._lock:
            self.counts.update(results)
        self._show()

    def listed(self, count: int) -> None:
        self.listed_files += count
        self._show()

    def _show(self) -> None:
        if self.progress is not None:
            view = ProgressView(self.listed_files, Counter(self.counts), self.stats.throttled)
            self.progress(view)

    def summary(
        self, outcome: RunOutcome, *, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        stats = self.stats
        with self._lock:
            files = {result.value: self.counts[result] for result in Result}
        summary: dict[str, Any] = {
            **self.run_keys(),
            "complete": outcome.complete,
            "files": files,
            "files_total": sum(files.values()),
            "files_listed": self.listed_files,
            "jobs": outcome.jobs,
            "api_calls": dict(sorted(stats.calls.items())),
            "retries": stats.retries,
            "throttled": stats.throttled,
            "duration_ms": round((self.clock() - self._started) * 1000),
            "jobs_not_found": list(outcome.jobs_not_found),
            "errors": list(outcome.errors[:MAX_ERRORS_IN_SUMMARY]),
            **(extra or {}),
        }
        if outcome.stopped_reason is not None:
            summary["stopped_reason"] = outcome.stopped_reason
        if outcome.cursor is not None:
            summary["cursor"] = outcome.cursor
            summary["jobs_left"] = outcome.jobs_left
        if outcome.dispatched:
            summary["dispatched"] = list(outcome.dispatched)
        if outcome.continued is not None:
            summary["continued"] = outcome.continued
        level = summary_level(outcome, files[Result.FAILED.value])
        log = {logging.ERROR: self.logger.error, logging.WARNING: self.logger.warning}.get(
            level, self.logger.info
        )
        log(SUMMARY_MESSAGE, extra=summary)
        return summary


def summary_level(outcome: RunOutcome, failed_files: int) -> int:
    if failed_files or outcome.errors or outcome.permission_denied:
        return logging.ERROR
    if not outcome.complete or outcome.jobs_not_found:
        return logging.WARNING
    return logging.INFO
