"""Asynchronous invocations as Function Compute tracks them in task mode: the queue, the state of
each task, retries of failed attempts and expiry of old events.

The book is plain state with no threads and no clock of its own: callers pass `now` (seconds on
their clock) and hold their own lock, so queueing and retry timing are testable without waiting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from emulator.fc.config import FunctionConfig


class TaskStatus(str, Enum):
    ENQUEUED = "Enqueued"
    RUNNING = "Running"
    RETRYING = "Retrying"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    EXPIRED = "Expired"


ACTIVE = frozenset({TaskStatus.ENQUEUED, TaskStatus.RUNNING, TaskStatus.RETRYING})
WAITING = frozenset({TaskStatus.ENQUEUED, TaskStatus.RETRYING})


@dataclass(frozen=True)
class FunctionError:
    """Why an invocation failed, as FC reports it (`errorMessage`, `errorType`, `stackTrace`)."""

    message: str
    error_type: str | None = None
    stack_trace: tuple[Any, ...] = ()

    def describe(self) -> str:
        return f"{self.error_type}: {self.message}" if self.error_type else self.message

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errorMessage": self.message}
        if self.error_type:
            body["errorType"] = self.error_type
        if self.stack_trace:
            body["stackTrace"] = list(self.stack_trace)
        return body


@dataclass(frozen=True)
class Outcome:
    """One invocation: the handler's return value as bytes, or the error; and what it printed."""

    body: bytes
    error: FunctionError | None
    log: str
    instance_id: str


@dataclass(frozen=True)
class TaskEvent:
    status: TaskStatus
    at: float
    detail: str = ""


@dataclass(frozen=True)
class AsyncTask:
    """A snapshot of one async invocation. `logs` holds what each attempt printed, in order;
    `result` is the handler's return value parsed as JSON (None if it failed or was not JSON)."""

    task_id: str
    function: str
    status: TaskStatus
    attempts: int
    payload: bytes
    request_id: str
    result: Any
    error: str | None
    logs: tuple[str, ...]
    submitted_at: float
    started_at: float | None
    ended_at: float | None
    instance_id: str | None
    events: tuple[TaskEvent, ...]


class DuplicateTask(Exception):
    def __init__(self, function: str, task_id: str) -> None:
        super().__init__(f"function {function!r} already has an async task {task_id!r}")
        self.function = function
        self.task_id = task_id


@dataclass
class _Record:
    task_id: str
    function: str
    payload: bytes
    request_id: str
    submitted_at: float
    status: TaskStatus = TaskStatus.ENQUEUED
    ready_at: float = 0.0
    attempts: int = 0
    result: Any = None
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    started_at: float | None = None
    ended_at: float | None = None
    instance_id: str | None = None
    events: list[TaskEvent] = field(default_factory=list)

    def move(self, status: TaskStatus, now: float, detail: str = "") -> None:
        self.status = status
        self.events.append(TaskEvent(status, now, detail))

    def snapshot(self) -> AsyncTask:
        return AsyncTask(
            task_id=self.task_id, function=self.function, status=self.status,
            attempts=self.attempts, payload=self.payload, request_id=self.request_id,
            result=self.result, error=self.error, logs=tuple(self.logs),
            submitted_at=self.submitted_at, started_at=self.started_at, ended_at=self.ended_at,
            instance_id=self.instance_id, events=tuple(self.events),
        )


def retry_delay(first_delay_s: float, failed_attempts: int) -> float:
    """FC's schedule: the first retry `first_delay_s` after a failure, then each wait doubles."""
    return first_delay_s * 2.0 ** (failed_attempts - 1)


def parsed_result(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class TaskBook:
    """Every async task of every function, oldest first."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], _Record] = {}

    def submit(self, function: str, task_id: str, payload: bytes, request_id: str,
               now: float) -> AsyncTask:
        if (function, task_id) in self._records:
            raise DuplicateTask(function, task_id)
        record = _Record(task_id, function, payload, request_id, submitted_at=now, ready_at=now)
        record.move(TaskStatus.ENQUEUED, now)
        self._records[(function, task_id)] = record
        return record.snapshot()

    def take(self, config: FunctionConfig, now: float) -> AsyncTask | None:
        """The next task of the function to run now (marked Running), expiring stale ones."""
        waiting = [record for record in self._records.values()
                   if record.function == config.name and record.status in WAITING]
        for record in waiting:
            if now - record.submitted_at > config.max_async_event_age_s:
                record.error = (f"the event is older than max_async_event_age_s"
                                f" ({config.max_async_event_age_s:g} s) and was dropped")
                record.ended_at = now
                record.move(TaskStatus.EXPIRED, now, record.error)
        ready = [record for record in waiting
                 if record.status in WAITING and record.ready_at <= now]
        if not ready:
            return None
        record = min(ready, key=lambda candidate: candidate.ready_at)
        record.attempts += 1
        if record.started_at is None:
            record.started_at = now
        record.move(TaskStatus.RUNNING, now, f"attempt {record.attempts}")
        return record.snapshot()

    def finish(self, config: FunctionConfig, task_id: str, outcome: Outcome, now: float
               ) -> None:
        """Record an attempt: success, a retry on FC's schedule, or failure for good."""
        record = self._records[(config.name, task_id)]
        record.logs.append(outcome.log)
        record.instance_id = outcome.instance_id
        if outcome.error is None:
            record.result = parsed_result(outcome.body)
            record.error = None
            record.ended_at = now
            record.move(TaskStatus.SUCCEEDED, now)
            return
        record.error = outcome.error.describe()
        if record.attempts <= config.max_async_retry_attempts:
            record.ready_at = now + retry_delay(config.retry_delay_s, record.attempts)
            record.move(TaskStatus.RETRYING, now, record.error)
        else:
            record.ended_at = now
            record.move(TaskStatus.FAILED, now, record.error)

    def next_ready_at(self, functions: set[str]) -> float | None:
        """When the earliest waiting task of these functions becomes ready to run."""
        times = [record.ready_at for record in self._records.values()
                 if record.function in functions and record.status in WAITING]
        return min(times, default=None)

    def active(self) -> int:
        return sum(record.status in ACTIVE for record in self._records.values())

    def get(self, function: str, task_id: str) -> AsyncTask | None:
        record = self._records.get((function, task_id))
        return None if record is None else record.snapshot()

    def tasks(self, function: str | None = None) -> list[AsyncTask]:
        return [record.snapshot() for record in self._records.values()
                if function is None or record.function == function]
