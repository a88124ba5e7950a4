"""Raw event -> a typed request: one pydantic model per way in.

- Timer trigger: `{"triggerTime", "triggerName", "payload"}`; the payload may hold a JSON request.
- Native OSS trigger: `{"events": [OSS record, ...]}`.
- OSS through EventBridge: a CloudEvent with `"source": "acs.oss"` and the OSS record in `data`.
- Manual: the request itself, typed into the console.
- Shard: `{"Shard": "<cursor>"}`, part of a fleet sweep or the continuation of a run, sent by
  this function to itself as an asynchronous invocation.

Platform envelopes tolerate fields the platform may add; the request a person writes does not:
an unknown field there is a mistake to report, not something to ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from snapshot_purge.errors import BadRequest
from snapshot_purge.model import Trigger
from snapshot_purge.rules import Days, RetentionRule

ModelT = TypeVar("ModelT", bound=BaseModel)

# 13 digits: epoch milliseconds from 2001-09-09 to 2286-11-20. Ten-digit values are seconds, a
# common slip that would name a different (nonexistent) file, so they are refused with a hint.
MIN_TIMESTAMP_MS = 10**12
MAX_TIMESTAMP_MS = 10**13 - 1
# What one request may name. Explicit files: 50 delete calls, and a cursor of what is left stays
# under 70 KB whatever the timestamps (see cursor.pack_timestamps). Jobs: beyond a thousand,
# select them with "JobIds": "*" and JobKeyword / ExcludeJobIds.
MAX_EXPLICIT_TIMESTAMPS = 10_000
MAX_EXPLICIT_JOBS = 1_000
MAX_RULES = 100
ALL_JOBS = "*"

JobIdText = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^\S+$")]


class PurgeRequest(BaseModel):
    """The request a person or a timer payload sends; API-style field names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    JobId: JobIdText | None = None
    JobIds: (
        Literal["*"]
        | Annotated[list[JobIdText], Field(min_length=1, max_length=MAX_EXPLICIT_JOBS)]
        | None
    ) = None
    JobKeyword: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    JobStatus: Literal["init", "paused", "started"] | None = None
    ExcludeJobIds: Annotated[list[JobIdText], Field(max_length=MAX_EXPLICIT_JOBS)] | None = None
    CreateTimestampList: (
        Annotated[list[StrictInt], Field(min_length=1, max_length=MAX_EXPLICIT_TIMESTAMPS)] | None
    ) = None
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    RetentionDays: Days | None = None
    LookbackDays: Days | None = None
    Rules: Annotated[list[RetentionRule], Field(max_length=MAX_RULES)] | None = None
    DeleteOriginalFile: StrictBool | None = None
    DryRun: StrictBool | None = None
    MaxFiles: Annotated[StrictInt, Field(ge=1)] | None = None
    Cursor: Annotated[StrictStr, Field(min_length=1)] | None = None

    @field_validator("CreateTimestampList")
    @classmethod
    def _milliseconds(cls, stamps: list[int] | None) -> list[int] | None:
        for index, stamp in enumerate(stamps or ()):
            if stamp <= 0:
                raise ValueError(f"item {index} ({stamp}) must be a positive epoch-ms timestamp")
            if stamp < MIN_TIMESTAMP_MS:
                raise ValueError(
                    f"item {index} ({stamp}) looks like seconds; CreateTimestamp is in"
                    f" milliseconds (13 digits, e.g. {stamp * 1000})"
                )
            if stamp > MAX_TIMESTAMP_MS:
                raise ValueError(f"item {index} ({stamp}) is beyond any epoch-ms timestamp")
        if stamps is not None and len(set(stamps)) != len(stamps):
            raise ValueError("lists a timestamp twice")
        return stamps

    @field_validator("JobIds", mode="before")
    @classmethod
    def _all_or_list(cls, job_ids: object) -> object:
        if isinstance(job_ids, str) and job_ids != ALL_JOBS:
            raise ValueError(
                f'give "{ALL_JOBS}" for every job in the region, or a list of job ids'
                ' (one job: use JobId)'
            )
        return job_ids

    @field_validator("StartTime", "EndTime", mode="before")
    @classmethod
    def _iso_text(cls, moment: object) -> object:
        if moment is not None and not isinstance(moment, str):
            raise ValueError(
                "give an ISO 8601 UTC time such as 2026-11-20T00:00:00Z (epoch numbers are not"
                " accepted: seconds and milliseconds are too easily confused)"
            )
        return moment

    @field_validator("StartTime", "EndTime")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.utcoffset() is None:
            raise ValueError("needs a time zone; use ISO 8601 UTC, e.g. 2026-11-20T00:00:00Z")
        return moment

    @field_validator("JobIds", "ExcludeJobIds")
    @classmethod
    def _unique(cls, job_ids: str | list[str] | None) -> str | list[str] | None:
        if isinstance(job_ids, list) and len(set(job_ids)) != len(job_ids):
            raise ValueError("lists a job id twice")
        return job_ids


# Built on first use: a timer run, the common path, never pays for the OSS models.
LAZY_ENVELOPE = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class TimerEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    triggerTime: datetime
    triggerName: StrictStr
    payload: StrictStr | None = None


class OssBucket(BaseModel):
    model_config = LAZY_ENVELOPE
    name: StrictStr


class OssObject(BaseModel):
    model_config = LAZY_ENVELOPE
    key: Annotated[StrictStr, Field(min_length=1)]


class OssDetail(BaseModel):
    model_config = LAZY_ENVELOPE
    bucket: OssBucket
    object: OssObject


class OssRecord(BaseModel):
    model_config = LAZY_ENVELOPE

    eventName: Annotated[StrictStr, Field(pattern=r"^Object(Created|Removed):\w+$")]
    eventTime: datetime
    oss: OssDetail

    @property
    def removed(self) -> bool:
        return self.eventName.startswith("ObjectRemoved:")


class OssTriggerEvent(BaseModel):
    model_config = LAZY_ENVELOPE
    events: Annotated[list[OssRecord], Field(min_length=1)]


class EventBridgeOssEvent(BaseModel):
    model_config = LAZY_ENVELOPE

    source: Literal["acs.oss"]
    type: StrictStr
    data: OssRecord


@dataclass(frozen=True)
class ParsedEvent:
    """What the handler works from, whatever the way in.

    `received_at` is the event's own time (a timer's triggerTime), the run's "now": a redelivered
    event then sweeps the same windows. `notes` are warnings worth a log line.
    """

    trigger: Trigger
    request: PurgeRequest
    oss_records: tuple[OssRecord, ...] = ()
    received_at: datetime | None = None
    shard: str | None = None
    notes: tuple[str, ...] = ()


def parse_event(event: bytes | str | dict[str, Any]) -> ParsedEvent:
    """Decode and classify an event; raise BadRequest naming the field when it is not valid."""
    body = _decode(event)
    if "events" in body:
        oss = _validate(OssTriggerEvent, body, "event")
        return ParsedEvent(Trigger.OSS, PurgeRequest(), oss_records=tuple(oss.events))
    if body.get("source") == "acs.oss" or "specversion" in body:
        bridged = _validate(EventBridgeOssEvent, body, "event")
        return ParsedEvent(Trigger.OSS, PurgeRequest(), oss_records=(bridged.data,))
    if "triggerTime" in body or "triggerName" in body:
        timer = _validate(TimerEvent, body, "event")
        request, notes = _timer_request(timer.payload)
        return ParsedEvent(Trigger.TIMER, request, received_at=timer.triggerTime, notes=notes)
    if "Shard" in body:
        if set(body) != {"Shard"} or not isinstance(body["Shard"], str):
            raise BadRequest("Shard", "a shard event is {\"Shard\": \"<cursor>\"} and nothing else")
        return ParsedEvent(Trigger.SHARD, PurgeRequest(), shard=body["Shard"])
    return ParsedEvent(Trigger.MANUAL, _validate(PurgeRequest, body, "request"))


def _decode(event: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    if isinstance(event, bytes):
        try:
            event = event.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("event", "is not UTF-8 text; send a JSON object") from None
    if not isinstance(event, str):
        raise BadRequest("event", f"is a {type(event).__name__}; send a JSON object")
    if not event.strip():
        raise BadRequest("event", 'is empty; send a JSON object, e.g. {"DryRun": true}')
    try:
        body = json.loads(event)
    except json.JSONDecodeError as err:
        raise BadRequest(
            "event", f"is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("event", f"is a JSON {type(body).__name__}; send a JSON object")
    return body


def _timer_request(payload: str | None) -> tuple[PurgeRequest, tuple[str, ...]]:
    """The trigger's payload is free text: JSON means a request, anything else means defaults."""
    text = (payload or "").strip()
    if not text.startswith("{"):
        if not text:
            return PurgeRequest(), ()
        return PurgeRequest(), (
            f"payload {text[:60]!r} is not a JSON request: the function's variables decide this"
            " run (RETENTION_DAYS, SNAPSHOT_JOB_IDS, ...). Give a JSON object such as"
            ' {"RetentionDays": 7} to set them per trigger',
        )
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRequest(
            "payload", f"looks like JSON but is not valid ({err.msg} at column {err.colno})"
        ) from None
    return _validate(PurgeRequest, body, "payload"), ()


def _validate(model: type[ModelT], body: dict[str, Any], where: str) -> ModelT:
    try:
        return model.model_validate(body)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        location = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        ).lstrip(".")
        field = f"{where}.{location}" if location and where != "request" else location or where
        problem = first["msg"]
        if first["type"] == "extra_forbidden":
            problem = "is not a known field (check the spelling; see README, 'Request fields')"
        raise BadRequest(field, problem) from None
