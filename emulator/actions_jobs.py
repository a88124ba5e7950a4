"""The snapshot job actions: `SubmitLiveSnapshotJob`, `SendLiveSnapshotJobCommand`,
`GetLiveSnapshotJob` and `ListLiveSnapshotJobs`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from emulator.actions_files import job_not_found
from emulator.actions_templates import template_not_found
from emulator.params import (
    Body,
    Params,
    ServiceError,
    choice,
    end_time_mismatch,
    integer,
    invalid,
    iso_seconds,
    json_object,
    missing,
    optional_choice,
    required,
    text,
    time_ms,
)
from emulator.store import Job, Store

DAY_MS = 86_400_000
MAX_JOBS_PER_PAGE = 100
MAX_JOB_WINDOW_MS = 30 * DAY_MS
DEFAULT_JOB_WINDOW_MS = 7 * DAY_MS
MAX_NAME_LENGTH = 128
MAX_URL_LENGTH = 255
JOB_STATUSES = ("init", "paused", "started")
COMMANDS = ("start", "stop", "restart")


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


def _field(value: dict[str, object], parameter: str, name: str, *, max_length: int) -> str:
    """A required string inside a JSON parameter (`StreamInput.Url`)."""
    found = value.get(name)
    if found in (None, ""):
        raise missing(f"{parameter}.{name}")
    if not isinstance(found, str) or len(found) > max_length:
        raise invalid(f"{parameter}.{name}", f"must be a string of at most {max_length}"
                                             " characters")
    return found


@dataclass
class JobActions:
    """`clock` is the service's now (epoch seconds): creation times and default windows."""

    store: Store
    clock: Callable[[], float]

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _job(self, params: Params) -> Job:
        job = self.store.job(required(params, "JobId"))
        if job is None:
            raise job_not_found()
        return job

    def submit_job(self, params: Params) -> Body:
        name = text(params, "JobName", max_length=MAX_NAME_LENGTH)
        if not name:
            raise missing("JobName")
        stream = json_object(params, "StreamInput")
        if stream.get("Type") != "rtmp":
            raise invalid("StreamInput.Type", "must be rtmp")
        stream_url = _field(stream, "StreamInput", "Url", max_length=MAX_URL_LENGTH)
        output = json_object(params, "SnapshotOutput")
        if output.get("StorageType") != "oss":
            raise invalid("SnapshotOutput.StorageType", "must be oss")
        endpoint = _field(output, "SnapshotOutput", "Endpoint", max_length=MAX_URL_LENGTH)
        bucket = _field(output, "SnapshotOutput", "Bucket", max_length=MAX_URL_LENGTH)
        template = self.store.template(required(params, "TemplateId"))
        if template is None:
            raise template_not_found()
        callback_url = text(params, "CallbackUrl", max_length=MAX_URL_LENGTH)
        if callback_url and not callback_url.startswith(("http://", "https://")):
            raise invalid("CallbackUrl", "must be an http:// or https:// URL")
        now = self._now_ms()
        job = Job(
            job_id=uuid.uuid4().hex, job_name=name, status="init",
            template_id=template.template_id, template_name=template.template_name,
            time_interval=template.time_interval, create_time_ms=now, bucket=bucket,
            endpoint=endpoint, overwrite_format=template.overwrite_format,
            sequence_format=template.sequence_format, callback_url=callback_url,
            stream_url=stream_url, last_modified_ms=now,
        )
        self.store.add_job(job)
        return {"JobId": job.job_id}

    def send_command(self, params: Params) -> Body:
        job = self._job(params)
        required(params, "Command")
        command = choice(params, "Command", "", COMMANDS)
        if command == "start" and job.status == "started":
            raise ServiceError(409, "JobAlreadyStarted", "Job is already started.")
        if command == "stop":
            if job.status == "started":
                self.store.set_job_status(job.job_id, "paused", self._now_ms())
        else:
            self.store.set_job_status(job.job_id, "started", self._now_ms())
        return {}

    def get_job(self, params: Params) -> Body:
        job = self._job(params)
        return {
            **_job_summary(job),
            "OverwriteFormat": job.overwrite_format,
            "SequenceFormat": job.sequence_format,
            "CallbackUrl": job.callback_url,
            "LastModified": iso_seconds(job.last_modified_ms or job.create_time_ms),
            "StreamInput": {"Type": "rtmp", "Url": job.stream_url},
        }

    def list_jobs(self, params: Params) -> Body:
        page_no = integer(params, "PageNo", 1, 1, 2**31 - 1)
        page_size = integer(params, "PageSize", 10, 1, MAX_JOBS_PER_PAGE)
        status = optional_choice(params, "Status", JOB_STATUSES)
        sort_by = choice(params, "SortBy", "desc", ("asc", "desc"))
        keyword = text(params, "SearchKeyWord", max_length=MAX_NAME_LENGTH)
        start = time_ms(params, "StartTime", malformed_code="MalformedStartTime")
        end = time_ms(params, "EndTime", malformed_code="MalformedEndTime")
        if start is None:
            end = self._now_ms() if end is None else end
            start = end - DEFAULT_JOB_WINDOW_MS
        elif end is None:
            end = start + DEFAULT_JOB_WINDOW_MS
        if end < start:
            raise end_time_mismatch()
        if end - start > MAX_JOB_WINDOW_MS:
            raise invalid("EndTime", "must be at most 30 days after StartTime")
        jobs, total = self.store.find_jobs(
            start, end, status=status, keyword=keyword, descending=sort_by == "desc",
            offset=(page_no - 1) * page_size, limit=page_size,
        )
        return {
            "JobList": [_job_summary(job) for job in jobs],
            "TotalCount": total,
            "PageNo": page_no,
            "PageSize": page_size,
            "SortBy": sort_by,
        }
