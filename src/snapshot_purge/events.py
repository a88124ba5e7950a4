"""Raw event -> a typed request: one pydantic model per way in.

- Timer trigger: `{"triggerTime", "triggerName", "payload"}`; the payload may hold a JSON request.
- Native OSS trigger: `{"events": [OSS record, ...]}`.
- OSS through EventBridge: a CloudEvent with `"source": "acs.oss"` and the OSS record in `data`.
- Manual: the request itself, typed into the console.

Platform envelopes tolerate fields the platform may add; the request a person writes does not:
an unknown field there is a mistake to report, not something to ignore.
"""

from __future__ import annotations

import json
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
    model_validator,
)

from snapshot_purge.errors import BadRequest
from snapshot_purge.model import DAY_MS, MAX_TIMESTAMPS_PER_DELETE, Trigger

# 13 digits: epoch milliseconds from 2001-09-09 to 2286-11-20. Ten-digit values are seconds, a
# common slip that would name a different (nonexistent) file, so they are refused with a hint.
ModelT = TypeVar("ModelT", bound=BaseModel)

MIN_TIMESTAMP_MS = 10**12
MAX_TIMESTAMP_MS = 10**13 - 1

JobIdText = Annotated[StrictStr, Field(min_length=1, max_length=128, pattern=r"^\S+$")]
Days = Annotated[float, Field(gt=0, le=36_500, strict=True)]


class CursorSlice(BaseModel):
    """One entry of a returned `cursor`: the part of a slice that is still to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    JobId: JobIdText
    StartTimestamp: StrictInt
    EndTimestamp: StrictInt
    DeleteOriginalFile: StrictBool
    OssObjects: list[Annotated[StrictStr, Field(min_length=1)]] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CursorSlice:
        if not 0 <= self.StartTimestamp < self.EndTimestamp:
            raise ValueError("StartTimestamp must be >= 0 and before EndTimestamp")
        if self.EndTimestamp - self.StartTimestamp > DAY_MS:
            raise ValueError(
                "spans more than one day; ListLiveSnapshotFiles lists at most a day at a time"
                " (pass the cursor back as the summary returned it)"
            )
        return self


class PurgeRequest(BaseModel):
    """The request a person or a timer payload sends; API-style field names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    JobId: JobIdText | None = None
    JobIds: Annotated[list[JobIdText], Field(min_length=1)] | None = None
    CreateTimestampList: (
        Annotated[list[StrictInt], Field(min_length=1, max_length=MAX_TIMESTAMPS_PER_DELETE)] | None
    ) = None
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    RetentionDays: Days | None = None
    LookbackDays: Days | None = None
    DeleteOriginalFile: StrictBool | None = None
    DryRun: StrictBool | None = None
    MaxFiles: Annotated[StrictInt, Field(ge=1)] | None = None
    Cursor: Annotated[list[CursorSlice], Field(min_length=1)] | None = None

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

    @field_validator("StartTime", "EndTime")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.utcoffset() is None:
            raise ValueError("needs a time zone; use ISO 8601 UTC, e.g. 2026-11-20T00:00:00Z")
        return moment

    @field_validator("JobIds")
    @classmethod
    def _unique(cls, job_ids: list[str] | None) -> list[str] | None:
        if job_ids is not None and len(set(job_ids)) != len(job_ids):
            raise ValueError("lists a job id twice")
        return job_ids


class TimerEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    triggerTime: datetime
    triggerName: StrictStr
    payload: StrictStr | None = None


class OssBucket(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: StrictStr


class OssObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    key: Annotated[StrictStr, Field(min_length=1)]


class OssDetail(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    bucket: OssBucket
    object: OssObject


class OssRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    eventName: Annotated[StrictStr, Field(pattern=r"^Object(Created|Removed):\w+$")]
    eventTime: datetime
    oss: OssDetail

    @property
    def removed(self) -> bool:
        return self.eventName.startswith("ObjectRemoved:")


class OssTriggerEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    events: Annotated[list[OssRecord], Field(min_length=1)]


class EventBridgeOssEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    source: Literal["acs.oss"]
    type: StrictStr
    data: OssRecord


class ParsedEvent(BaseModel):
    """What the handler works from, whatever the way in."""

    model_config = ConfigDict(frozen=True)

    trigger: Trigger
    request: PurgeRequest
    oss_records: tuple[OssRecord, ...] = ()
    received_at: datetime | None = None


def parse_event(event: bytes | str | dict[str, Any]) -> ParsedEvent:
    """Decode and classify an event; raise BadRequest naming the field when it is not valid."""
    body = _decode(event)
    if "events" in body:
        oss = _validate(OssTriggerEvent, body, "event")
        return ParsedEvent(
            trigger=Trigger.OSS, request=PurgeRequest(), oss_records=tuple(oss.events)
        )
    if body.get("source") == "acs.oss" or "specversion" in body:
        bridged = _validate(EventBridgeOssEvent, body, "event")
        return ParsedEvent(trigger=Trigger.OSS, request=PurgeRequest(), oss_records=(bridged.data,))
    if "triggerTime" in body or "triggerName" in body:
        timer = _validate(TimerEvent, body, "event")
        return ParsedEvent(
            trigger=Trigger.TIMER,
            request=_timer_request(timer.payload),
            received_at=timer.triggerTime,
        )
    return ParsedEvent(trigger=Trigger.MANUAL, request=_validate(PurgeRequest, body, "request"))


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


def _timer_request(payload: str | None) -> PurgeRequest:
    """The trigger's payload is free text: JSON means a request, anything else means defaults."""
    text = (payload or "").strip()
    if not text.startswith("{"):
        return PurgeRequest()
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRequest(
            "payload", f"looks like JSON but is not valid ({err.msg} at column {err.colno})"
        ) from None
    return _validate(PurgeRequest, body, "payload")


def _validate(model: type[ModelT], body: dict[str, Any], where: str) -> ModelT:
    try:
        return model.model_validate(body)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        location = ".".join(str(part) for part in first["loc"])
        field = f"{where}.{location}" if location and where != "request" else location or where
        problem = first["msg"]
        if first["type"] == "extra_forbidden":
            problem = "is not a known field (check the spelling; see README, 'Request fields')"
        raise BadRequest(field, problem) from None
