"""The ICE live snapshot actions over the store: parameters in, answer body or ServiceError out.

Validation, limits and error codes follow the official API reference (shared/reference): a
request that the real service would refuse is refused here with the same code and status.
Where the reference is silent (see emulator/README.md, "Where the reference is silent") the
choice made here is the one that keeps a correct client correct.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from emulator.store import Job, OverlayInRequest, Record, Store

VERSION = "2020-11-09"
DAY_MS = 86_400_000
MAX_TIMESTAMPS_PER_DELETE = 200
MAX_FILES_PER_PAGE = 100
MAX_JOBS_PER_PAGE = 100
MAX_JOB_WINDOW_MS = 30 * DAY_MS
DEFAULT_JOB_WINDOW_MS = 7 * DAY_MS
JOB_STATUSES = ("init", "paused", "started")

Params = Mapping[str, str]
Body = dict[str, Any]


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def iso_seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _missing(name: str) -> ServiceError:
    return ServiceError(
        400, "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not'
        " supplied.",
    )


def _invalid(name: str, why: str) -> ServiceError:
    return ServiceError(400, "InvalidParameter", f'The specified parameter "{name}" {why}.')


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise _missing(name)
    return value


def _time(params: Params, name: str, *, malformed_code: str) -> int | None:
    """`yyyy-MM-ddTHH:mm:ssZ` -> epoch ms; None when absent."""
    value = params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ServiceError(
            400, malformed_code,
            f'The specified parameter "{name}" ({value}) is not in the format'
            " yyyy-MM-ddTHH:mm:ssZ.",
        ) from None
    return int(moment.timestamp()) * 1000


def _integer(params: Params, name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _invalid(name, f"({value}) is not an integer") from None
    if not low <= number <= high:
        raise _invalid(name, f"({value}) must be between {low} and {high}")
    return number


def _choice(params: Params, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise _invalid(name, f"({value}) must be one of {', '.join(choices)}")
    return value


def _boolean(params: Params, name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise _invalid(name, f"({value}) must be true or false")
    return value.lower() == "true"


def _job_not_found() -> ServiceError:
    return ServiceError(404, "JobNotFound", "No such job.")


def _snapshot_output(job: Job) -> Body:
    return {"Bucket": job.bucket, "Endpoint": job.endpoint, "StorageType": "oss"}


def _job_summary(job: Job) -> Body:
    return {
        "JobId": job.job_id,
        "JobName": job.job_name,
        "Status": job.status,
        "TemplateId": job.template_id,
        "TemplateName": job.template_name,
        "TimeInterval": job.time_interval,
        "CreateTime": iso_seconds(job.create_time_ms),
        "SnapshotOutput": _snapshot_output(job),
    }


@dataclass
class IceService:
    """`clock` is the service's now (epoch seconds), for default time windows."""

    store: Store
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.actions: dict[str, Callable[[Params], Body]] = {
            "ListLiveSnapshotFiles": self.list_files,
            "DeleteLiveSnapshotFiles": self.delete_files,
            "ListLiveSnapshotJobs": self.list_jobs,
            "GetLiveSnapshotJob": self.get_job,
        }

    def call(self, action: str, params: Params) -> Body:
        handler = self.actions.get(action)
        if handler is None:
            raise ServiceError(
                404, "InvalidAction.NotFound",
                f"Specified api {action!r} is not found, please check your url and method.",
            )
        return handler(params)

    def _job(self, params: Params) -> Job:
        job = self.store.job(_required(params, "JobId"))
        if job is None:
            raise _job_not_found()
        return job

    def list_files(self, params: Params) -> Body:
        job_id = _required(params, "JobId")
        start = _time(params, "StartTime", malformed_code="MalformedStartTime")
        end = _time(params, "EndTime", malformed_code="MalformedEndTime")
        if start is None:
            raise _missing("StartTime")
        if end is None:
            raise _missing("EndTime")
        if end <= start:
            raise ServiceError(400, "EndTimeMismatch", "The EndTime must be later than StartTime.")
        if end - start > DAY_MS:
            raise _invalid("EndTime", "must be at most one day after StartTime")
        limit = _integer(params, "Limit", 10, 1, MAX_FILES_PER_PAGE)
        descending = _choice(params, "SortBy", "asc", ("asc", "desc")) == "desc"
        job = self.store.job(job_id)
        if job is None:
            raise _job_not_found()
        page, next_start = self._page(job_id, start, end, limit, descending)
        body: Body = {"FileList": [self._file(job, record) for record in page]}
        if next_start is not None:
            body["NextStartTime"] = iso_seconds(next_start)
        return body

    def _page(self, job_id: str, start: int, end: int, limit: int, descending: bool
              ) -> tuple[list[Record], int | None]:
        """One page, and the second the next page starts at (None on the last page).

        `NextStartTime` has second precision, so an ascending page ends at a second boundary:
        the next page, starting at that second, repeats no file and skips none. Only when more
        than `limit` files share one second is that whole second returned as one page.
        A descending page is the newest `limit` files; NextStartTime pages forward only.
        """
        rows = self.store.records_between(job_id, start, end, limit + 1, descending=descending)
        if len(rows) <= limit or descending:
            return rows[:limit], None
        boundary = rows[limit].create_timestamp // 1000 * 1000
        page = [record for record in rows[:limit] if record.create_timestamp < boundary]
        if page:
            return page, boundary
        whole_second = self.store.records_between(job_id, boundary, boundary + 1000, 2**31)
        after = self.store.records_between(job_id, boundary + 1000, end, 1)
        return whole_second, (after[0].create_timestamp // 1000 * 1000 if after else None)

    @staticmethod
    def _file(job: Job, record: Record) -> Body:
        return {
            "CreateTime": iso_seconds(record.create_timestamp),
            "CreateTimestamp": record.create_timestamp,
            "IsOverlay": record.is_overlay,
            "OssBucket": record.oss_bucket,
            "OssEndpoint": job.endpoint,
            "OssObject": record.oss_object,
        }

    def delete_files(self, params: Params) -> Body:
        job_id = _required(params, "JobId")
        timestamps = self._timestamps(_required(params, "CreateTimestampList"))
        delete_original = _boolean(params, "DeleteOriginalFile", False)
        if self.store.job(job_id) is None:
            raise _job_not_found()
        try:
            found = self.store.delete_files(job_id, timestamps, delete_objects=delete_original)
        except OverlayInRequest:
            raise ServiceError(
                400, "OverlayNotSupported",
                "Not Sopport to remove overlay snapshot, please remove overlay snapshot from OSS"
                " console.",
            ) from None
        if not any(found):
            raise ServiceError(404, "NoValidSnapshot", "No snapshots found with given parameters.")
        return {
            "DeleteFileResultList": [
                {"CreateTimestamp": stamp, "Result": "OK" if hit else "NotFound"}
                for stamp, hit in zip(timestamps, found, strict=True)
            ]
        }

    @staticmethod
    def _timestamps(raw: str) -> list[int]:
        name = "CreateTimestampList"
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise _invalid(name, "is not a JSON array") from None
        if not isinstance(value, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        ):
            raise _invalid(name, "must be an array of integer timestamps in milliseconds")
        if not value:
            raise _missing(name)
        if len(value) > MAX_TIMESTAMPS_PER_DELETE:
            raise _invalid(name, f"has {len(value)} items; at most {MAX_TIMESTAMPS_PER_DELETE}"
                                 " are allowed per request")
        if any(item <= 0 for item in value):
            raise _invalid(name, "must hold positive timestamps")
        return value

    def list_jobs(self, params: Params) -> Body:
        page_no = _integer(params, "PageNo", 1, 1, 2**31 - 1)
        page_size = _integer(params, "PageSize", 10, 1, MAX_JOBS_PER_PAGE)
        status = params.get("Status")
        if status is not None:
            _choice(params, "Status", "", JOB_STATUSES)
        sort_by = _choice(params, "SortBy", "desc", ("asc", "desc"))
        start = _time(params, "StartTime", malformed_code="MalformedStartTime")
        end = _time(params, "EndTime", malformed_code="MalformedEndTime")
        now = int(self.clock() * 1000)
        end = now if end is None else end
        start = end - DEFAULT_JOB_WINDOW_MS if start is None else start
        if end < start:
            raise ServiceError(400, "EndTimeMismatch", "The EndTime must be later than StartTime.")
        if end - start > MAX_JOB_WINDOW_MS:
            raise _invalid("EndTime", "must be at most 30 days after StartTime")
        keyword = params.get("SearchKeyWord", "")
        jobs = [
            job for job in self.store.jobs()
            if start <= job.create_time_ms <= end
            and (status is None or job.status == status)
            and (not keyword or job.job_id == keyword or keyword.lower() in job.job_name.lower())
        ]
        jobs.sort(key=lambda job: (job.create_time_ms, job.job_id), reverse=sort_by == "desc")
        first = (page_no - 1) * page_size
        return {
            "JobList": [_job_summary(job) for job in jobs[first:first + page_size]],
            "TotalCount": len(jobs),
            "PageNo": page_no,
            "PageSize": page_size,
            "SortBy": sort_by,
        }

    def get_job(self, params: Params) -> Body:
        job = self._job(params)
        return {
            **_job_summary(job),
            "OverwriteFormat": job.overwrite_format,
            "SequenceFormat": job.sequence_format,
            "LastModified": iso_seconds(job.create_time_ms),
            "StreamInput": {"Type": "rtmp", "Url": f"rtmp://live.example.invalid/app/{job.job_name}"},
        }
