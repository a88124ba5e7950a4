"""`ListLiveSnapshotFiles` and `DeleteLiveSnapshotFiles`: a job's snapshot files and their
records, and with `DeleteOriginalFile` their OSS objects."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emulator.params import (
    Body,
    Params,
    ServiceError,
    boolean,
    choice,
    end_time_mismatch,
    integer,
    invalid,
    iso_seconds,
    missing,
    required,
    time_ms,
)
from emulator.store import Job, OverlayInRequest, Record, Store

DAY_MS = 86_400_000
SECOND_MS = 1000
MAX_TIMESTAMPS_PER_DELETE = 200
MAX_FILES_PER_PAGE = 100
ALL = 2**31

RemovedObjects = Callable[[Sequence[tuple[str, str]]], None]


def job_not_found() -> ServiceError:
    return ServiceError(404, "JobNotFound", "No such job.")


@dataclass
class FileActions:
    """`removed` hears of the OSS objects a delete removed (bucket, key), to notify of them."""

    store: Store
    removed: RemovedObjects

    def _job(self, job_id: str) -> Job:
        job = self.store.job(job_id)
        if job is None:
            raise job_not_found()
        return job

    def list_files(self, params: Params) -> Body:
        job_id = required(params, "JobId")
        start = time_ms(params, "StartTime", malformed_code="MalformedStartTime")
        end = time_ms(params, "EndTime", malformed_code="MalformedEndTime")
        if start is None:
            raise missing("StartTime")
        if end is None:
            raise missing("EndTime")
        if end <= start:
            raise end_time_mismatch()
        if end - start > DAY_MS:
            raise invalid("EndTime", "must be at most one day after StartTime")
        limit = integer(params, "Limit", 10, 1, MAX_FILES_PER_PAGE)
        descending = choice(params, "SortBy", "asc", ("asc", "desc")) == "desc"
        job = self._job(job_id)
        page, next_bound = self._page(job_id, start, end, limit, descending)
        body: Body = {"FileList": [_file(job, record) for record in page]}
        if next_bound is not None:
            body["NextStartTime"] = iso_seconds(next_bound)
        return body

    def _page(self, job_id: str, start: int, end: int, limit: int, descending: bool
              ) -> tuple[list[Record], int | None]:
        """One page, and the second the next page is bounded by (None on the last page): its
        StartTime going forwards, its EndTime going backwards (`SortBy=desc`).

        `NextStartTime` has second precision, so a page ends at a second boundary: the next
        page, bounded by that second, repeats no file and skips none. Only when more than
        `limit` files share one second is that whole second returned as one page.
        """
        rows = self.store.records_between(job_id, start, end, limit + 1, descending=descending)
        if len(rows) <= limit:
            return rows, None
        second = rows[limit].create_timestamp // SECOND_MS * SECOND_MS
        if descending:
            page = [r for r in rows[:limit] if r.create_timestamp >= second + SECOND_MS]
            if page:
                return page, second + SECOND_MS
            whole = self.store.records_between(job_id, second, second + SECOND_MS, ALL,
                                               descending=True)
            older = self.store.records_between(job_id, start, second, 1)
            return whole, (second if older else None)
        page = [r for r in rows[:limit] if r.create_timestamp < second]
        if page:
            return page, second
        whole = self.store.records_between(job_id, second, second + SECOND_MS, ALL)
        newer = self.store.records_between(job_id, second + SECOND_MS, end, 1)
        return whole, (newer[0].create_timestamp // SECOND_MS * SECOND_MS if newer else None)

    def delete_files(self, params: Params) -> Body:
        job_id = required(params, "JobId")
        timestamps = _timestamps(required(params, "CreateTimestampList"))
        delete_original = boolean(params, "DeleteOriginalFile", False)
        self._job(job_id)
        try:
            deleted = self.store.delete_files(job_id, timestamps, delete_objects=delete_original)
        except OverlayInRequest:
            raise ServiceError(
                400, "OverlayNotSupported",
                "Not Sopport to remove overlay snapshot, please remove overlay snapshot from OSS"
                " console.",
            ) from None
        if deleted.objects:
            self.removed(deleted.objects)
        if not any(deleted.found):
            raise ServiceError(404, "NoValidSnapshot", "No snapshots found with given parameters.")
        return {
            "DeleteFileResultList": [
                {"CreateTimestamp": stamp, "Result": "OK" if hit else "NotFound"}
                for stamp, hit in zip(timestamps, deleted.found, strict=True)
            ]
        }


def _file(job: Job, record: Record) -> Body:
    return {
        "CreateTime": iso_seconds(record.create_timestamp),
        "CreateTimestamp": record.create_timestamp,
        "IsOverlay": record.is_overlay,
        "OssBucket": record.oss_bucket,
        "OssEndpoint": job.endpoint,
        "OssObject": record.oss_object,
    }


def _timestamps(raw: str) -> list[int]:
    name = "CreateTimestampList"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid(name, "is not a JSON array") from None
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise invalid(name, "must be an array of integer timestamps in milliseconds")
    if not value:
        raise missing(name)
    if len(value) > MAX_TIMESTAMPS_PER_DELETE:
        raise invalid(name, f"has {len(value)} items; at most {MAX_TIMESTAMPS_PER_DELETE}"
                            " are allowed per request")
    if any(item <= 0 for item in value):
        raise invalid(name, "must hold positive timestamps")
    return value
