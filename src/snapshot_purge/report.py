"""Per-file records and the run summary: the JSON lines users build dashboards and alerts on."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from snapshot_purge.clock import Clock
from snapshot_purge.ice import CallStats
from snapshot_purge.model import FileOutcome, Result, SliceTask, Trigger

FILE_MESSAGE = "snapshot_file"
SUMMARY_MESSAGE = "purge_summary"
MAX_ERRORS_IN_SUMMARY = 20

# Told of every file done: the counts so far and the throttled answers so far.
Progress = Callable[[Counter[Result], int], None]


@dataclass(frozen=True)
class RunOutcome:
    complete: bool
    stopped_reason: str | None = None
    remaining: tuple[SliceTask, ...] = ()
    errors: tuple[str, ...] = ()
    jobs_not_found: tuple[str, ...] = ()


@dataclass
class Reporter:
    logger: Logger
    trigger: Trigger
    request_id: str
    dry_run: bool
    stats: CallStats
    progress: Progress | None = None
    clock: Clock = time.monotonic
    counts: Counter[Result] = field(default_factory=Counter)
    _started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    def file(self, outcome: FileOutcome) -> None:
        self._log_file(
            job_id=outcome.file.job_id,
            create_timestamp=outcome.file.create_timestamp,
            result=outcome.result,
            reason=outcome.reason,
            delete_original_file=outcome.delete_original_file,
            api_request_id=outcome.api_request_id,
            oss_object=outcome.file.oss_object,
        )

    def object_without_record(
        self, job_id: str, oss_object: str, create_timestamp: int | None, api_request_id: str | None
    ) -> None:
        """An OSS event named an object whose record is not (or no longer) in ICE."""
        self._log_file(
            job_id=job_id,
            create_timestamp=create_timestamp,
            result=Result.NOT_FOUND,
            reason="NoRecord",
            delete_original_file=False,
            api_request_id=api_request_id,
            oss_object=oss_object,
        )

    def _log_file(self, *, result: Result, **fields: Any) -> None:
        self.logger.info(
            FILE_MESSAGE,
            extra={
                **fields,
                "result": result.value,
                "dry_run": self.dry_run,
                "trigger": self.trigger.value,
                "request_id": self.request_id,
            },
        )
        with self._lock:
            self.counts[result] += 1
            snapshot = Counter(self.counts)
        if self.progress is not None:
            self.progress(snapshot, self.stats.throttled)

    def summary(self, outcome: RunOutcome, *, ignored_objects: int = 0) -> dict[str, Any]:
        stats = self.stats
        with self._lock:
            files = {result.value: self.counts[result] for result in Result}
        summary: dict[str, Any] = {
            "trigger": self.trigger.value,
            "request_id": self.request_id,
            "dry_run": self.dry_run,
            "complete": outcome.complete,
            "files": files,
            "files_total": sum(files.values()),
            "api_calls": dict(sorted(stats.calls.items())),
            "retries": stats.retries,
            "throttled": stats.throttled,
            "duration_ms": round((self.clock() - self._started) * 1000),
            "jobs_not_found": list(outcome.jobs_not_found),
            "ignored_objects": ignored_objects,
            "errors": list(outcome.errors[:MAX_ERRORS_IN_SUMMARY]),
            "cursor": [task.to_json() for task in outcome.remaining],
        }
        if outcome.stopped_reason is not None:
            summary["stopped_reason"] = outcome.stopped_reason
        self.logger.info(SUMMARY_MESSAGE, extra=summary)
        return summary
