"""The one I/O boundary: the official ICE SDK client, retries, rate limit and error mapping.

Everything else in the package deals in `FilePage`, `DeleteAnswer` and the errors of `errors.py`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import requests
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_ice20201109 import models as ice_models
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import UnretryableException

from snapshot_purge.clock import Deadline, Sleep
from snapshot_purge.config import Endpoint, Settings
from snapshot_purge.errors import ApiFailure, DeadlineReached, PermissionDenied
from snapshot_purge.ice_errors import NO_CREDENTIALS_HINT, api_failure, network_reason, subject
from snapshot_purge.jobs import JobPage
from snapshot_purge.model import FilePage, JobInfo, SnapshotFile
from snapshot_purge.ratelimit import ActionLimiters
from snapshot_purge.retry import RetryPolicy, is_retryable, is_throttling

LIST_FILES = "ListLiveSnapshotFiles"
DELETE_FILES = "DeleteLiveSnapshotFiles"
LIST_JOBS = "ListLiveSnapshotJobs"
GET_JOB = "GetLiveSnapshotJob"
T = TypeVar("T")


def silence_sdk_loggers() -> None:
    """The SDK packages attach stderr handlers at import; output must stay JSON lines only."""
    for name in ("alibabacloud-tea", "darabonba-core", "credentials"):
        sdk_logger = logging.getLogger(name)
        sdk_logger.handlers.clear()
        sdk_logger.addHandler(logging.NullHandler())
        sdk_logger.propagate = False


silence_sdk_loggers()


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id[:4]}…, secret and token hidden)"


@dataclass(frozen=True)
class DeleteAnswer:
    request_id: str
    results: Mapping[int, str]
    retried_after_lost_answer: bool


@dataclass
class CallStats:
    """API calls per action (every attempt counts), retries and throttled answers."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_call(self, action: str) -> None:
        with self._lock:
            self.calls[action] += 1

    def count_retry(self, throttled: bool) -> None:
        with self._lock:
            self.retries += 1
            self.throttled += int(throttled)


def iso_seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def build_config(
    endpoint: Endpoint, settings: Settings, credentials: Credentials | None
) -> Config:
    """SDK configuration for an Alibaba Cloud API (ICE, and FC for fan-out); without explicit
    credentials the SDK's default credential chain."""
    config = Config(
        endpoint=endpoint.host,
        protocol=endpoint.protocol,
        region_id=settings.region,
        connect_timeout=settings.connect_timeout_ms,
        read_timeout=settings.read_timeout_ms,
    )
    if credentials is not None:
        config.access_key_id = credentials.access_key_id
        config.access_key_secret = credentials.access_key_secret
        config.security_token = credentials.security_token
    else:
        from alibabacloud_credentials.client import Client as CredentialClient

        config.credential = CredentialClient()
    return config


class PerThreadClient:
    """An SDK client for each thread that calls, made on its first call: threads then share no
    client state and no connection."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._local = threading.local()

    def get(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
        return client


class IceApi:
    """Typed, retried, rate-limited calls to ICE. Safe to share between threads."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        limiters: ActionLimiters,
        retry: RetryPolicy,
        deadline: Deadline,
        stats: CallStats | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clients = PerThreadClient(client_factory)
        self._limiters = limiters
        self._retry = retry
        self._deadline = deadline
        self._sleep = sleep
        self.stats = stats or CallStats()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        credentials: Credentials | None,
        deadline: Deadline,
        *,
        retry_sleep: Sleep = time.sleep,
        qps_share: float = 1.0,
    ) -> IceApi:
        config = build_config(settings.endpoint, settings, credentials)
        return cls(
            lambda: Client(config),
            limiters=ActionLimiters(settings.max_qps, share=qps_share),
            retry=RetryPolicy(max_attempts=settings.max_attempts),
            deadline=deadline,
            sleep=retry_sleep,
        )

    def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage:
        request = ice_models.ListLiveSnapshotFilesRequest(
            job_id=job_id,
            start_time=iso_seconds(start_ms),
            end_time=iso_seconds(end_ms),
            limit=limit,
            sort_by="asc",
        )
        body, _ = self._call(
            LIST_FILES,
            job_id,
            lambda client: client.list_live_snapshot_files_with_options(request, RuntimeOptions()),
        )
        files = tuple(
            SnapshotFile(job_id, int(item.create_timestamp), item.oss_object, bool(item.is_overlay))
            for item in body.file_list or ()
        )
        next_start = parse_iso_ms(body.next_start_time) if body.next_start_time else None
        return FilePage(files, next_start, body.request_id or "")

    def delete_files(
        self, job_id: str, timestamps: list[int], delete_original_file: bool
    ) -> DeleteAnswer:
        request = ice_models.DeleteLiveSnapshotFilesRequest(
            job_id=job_id,
            create_timestamp_list=timestamps,
            delete_original_file=delete_original_file,
        )
        body, lost_answer = self._call(
            DELETE_FILES,
            job_id,
            lambda client: client.delete_live_snapshot_files_with_options(
                request, RuntimeOptions()
            ),
        )
        results = {
            int(item.create_timestamp): item.result for item in body.delete_file_result_list or ()
        }
        return DeleteAnswer(body.request_id or "", results, lost_answer)

    def list_jobs(
        self,
        start_ms: int,
        end_ms: int,
        page_no: int,
        page_size: int,
        keyword: str | None,
        status: str | None,
    ) -> JobPage:
        request = ice_models.ListLiveSnapshotJobsRequest(
            start_time=iso_seconds(start_ms),
            end_time=iso_seconds(end_ms),
            page_no=page_no,
            page_size=page_size,
            search_key_word=keyword,
            status=status,
            sort_by="asc",
        )
        body, _ = self._call(
            LIST_JOBS,
            None,
            lambda client: client.list_live_snapshot_jobs_with_options(request, RuntimeOptions()),
        )
        jobs = tuple(
            JobInfo(str(item.job_id), str(item.job_name or "")) for item in body.job_list or ()
        )
        return JobPage(jobs, int(body.total_count or 0))

    def get_job(self, job_id: str) -> JobInfo:
        request = ice_models.GetLiveSnapshotJobRequest(job_id=job_id)
        body, _ = self._call(
            GET_JOB,
            job_id,
            lambda client: client.get_live_snapshot_job_with_options(request, RuntimeOptions()),
        )
        return JobInfo(job_id, str(body.job_name or ""))

    def _call(
        self, action: str, job_id: str | None, send: Callable[[Any], Any]
    ) -> tuple[Any, bool]:
        """Body of the answer, and whether an earlier attempt's answer was lost in transit."""
        limiter = self._limiters[action]
        lost_answer = False
        attempt = 0
        while True:
            attempt += 1
            if not self._deadline.may_start():
                raise DeadlineReached(f"{action} for job {job_id}: no time left to start it")
            limiter.acquire()
            self.stats.count_call(action)
            try:
                response = send(self._clients.get())
            except AlibabaCloudException as err:
                code, status = str(err.code), err.status_code
                if is_throttling(code):
                    limiter.on_throttled()
                if not is_retryable(code, status) or attempt >= self._retry.max_attempts:
                    raise api_failure(action, job_id, err, attempt) from None
                retry_after = getattr(err, "retry_after", None)
                wait = self._retry.backoff(attempt, retry_after / 1000 if retry_after else None)
                self.stats.count_retry(throttled=is_throttling(code))
            except (UnretryableException, requests.RequestException, OSError) as err:
                inner = getattr(err, "inner_exception", None)
                if isinstance(inner, CredentialException):
                    raise PermissionDenied(
                        action,
                        "CredentialsUnavailable",
                        f"no credentials could be loaded ({inner})",
                        hint=NO_CREDENTIALS_HINT,
                        job_id=job_id,
                    ) from None
                if attempt >= self._retry.max_attempts:
                    raise ApiFailure(
                        action,
                        "NetworkError",
                        f"{subject(job_id)}{network_reason(err)} (after {attempt} attempts)",
                        hint="Check ICE_ENDPOINT and the network; the run can be repeated safely.",
                        job_id=job_id,
                    ) from None
                lost_answer = True
                wait = self._retry.backoff(attempt)
                self.stats.count_retry(throttled=False)
            else:
                limiter.on_success()
                return response.body, lost_answer
            self._sleep(wait)
