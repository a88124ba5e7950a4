"""Shared by the emulator's tests: a seeded emulator on 127.0.0.1, the official SDK pointed at it,
and raw HTTP for what the SDK will not send (replays, tampered requests, the admin pages)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import UnretryableException

from emulator.faults import Faults
from emulator.seed import DEFAULT_BUCKET, DEFAULT_OSS_ENDPOINT
from emulator.server import Emulator, RawRequest
from emulator.signing import AccessKey
from emulator.store import Job, Record, Store

NOW_MS = 1_795_176_007_000  # 2026-11-20T12:00:07Z: the emulator's clock in every test
NOW_S = NOW_MS / 1000
SECOND_MS = 1000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
JOB_A = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
JOB_B = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BUCKET = DEFAULT_BUCKET
LIST_FILES, DELETE = "ListLiveSnapshotFiles", "DeleteLiveSnapshotFiles"
LIST_JOBS, GET_JOB = "ListLiveSnapshotJobs", "GetLiveSnapshotJob"
CONNECTION_ERROR, TIMEOUT = "connection error", "timeout"


def iso(ms: int) -> str:
    """`yyyy-MM-ddTHH:mm:ssZ` of an epoch-ms instant, truncated to the second."""
    return datetime.fromtimestamp(ms // SECOND_MS, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * SECOND_MS


def make_job(job_id: str, created_ms: int, *, name: str = "camera", status: str = "started"
             ) -> Job:
    return Job(
        job_id=job_id, job_name=name, status=status, template_id=f"tpl-{job_id}",
        template_name="every-10s", time_interval=10, create_time_ms=created_ms, bucket=BUCKET,
        endpoint=DEFAULT_OSS_ENDPOINT, overwrite_format="snapshots/{JobId}/overlay.jpg",
        sequence_format="snapshots/{JobId}/{UnixTimestamp}.jpg",
    )


def sdk_client(emulator: Emulator, key: AccessKey | None = None, *, read_timeout_ms: int = 5000
               ) -> Any:
    """The official SDK client aimed at the emulator, with its credentials unless told others."""
    key = key or emulator.credentials
    return Client(Config(
        endpoint=emulator.endpoint, protocol="http", access_key_id=key.access_key_id,
        access_key_secret=key.access_key_secret, security_token=key.security_token,
        region_id="cn-shanghai", read_timeout=read_timeout_ms, connect_timeout=2000,
    ))


@dataclass
class Rig:
    """A running emulator and an SDK client holding its credentials."""

    emulator: Emulator
    client: Any

    @property
    def store(self) -> Store:
        return self.emulator.store

    def delete(self, job_id: str | None, stamps: Any, original: Any = None) -> dict[str, Any]:
        """DeleteLiveSnapshotFiles through the SDK; the answer body as the SDK parsed it."""
        request = ice.DeleteLiveSnapshotFilesRequest(
            job_id=job_id, create_timestamp_list=stamps, delete_original_file=original
        )
        body: dict[str, Any] = self.client.delete_live_snapshot_files(request).body.to_map()
        return body

    def list_files(self, job_id: str | None, start: str | None, end: str | None, **more: Any
                   ) -> dict[str, Any]:
        request = ice.ListLiveSnapshotFilesRequest(job_id=job_id, start_time=start, end_time=end,
                                                   **more)
        body: dict[str, Any] = self.client.list_live_snapshot_files(request).body.to_map()
        return body

    def list_jobs(self, **fields: Any) -> dict[str, Any]:
        request = ice.ListLiveSnapshotJobsRequest(**fields)
        body: dict[str, Any] = self.client.list_live_snapshot_jobs(request).body.to_map()
        return body

    def get_job(self, job_id: str | None) -> dict[str, Any]:
        request = ice.GetLiveSnapshotJobRequest(job_id=job_id)
        body: dict[str, Any] = self.client.get_live_snapshot_job(request).body.to_map()
        return body

    def call(self, action: str, query: dict[str, str], *, method: str = "GET",
             version: str = "2020-11-09") -> dict[str, Any]:
        """Any action with a hand-made query, through the SDK's generic, signed `call_api`."""
        params = utils_models.Params(
            action=action, version=version, protocol="HTTPS", pathname="/", method=method,
            auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
        )
        answer: dict[str, Any] = self.client.call_api(
            params, utils_models.OpenApiRequest(query=query), RuntimeOptions()
        )
        return answer


@contextmanager
def running(store: Store, *, faults: Faults | None = None, sts: bool = False,
            read_timeout_ms: int = 5000,
            fault_clock: Callable[[], float] = time.monotonic) -> Iterator[Rig]:
    """An emulator over `store` whose clock stands at NOW, and an SDK client for it."""
    with Emulator(store, faults=faults, sts=sts, clock=lambda: NOW_S,
                  fault_clock=fault_clock) as emulator:
        yield Rig(emulator, sdk_client(emulator, read_timeout_ms=read_timeout_ms))


def refused(call: Callable[[], object]) -> tuple[str, int]:
    """The error code and HTTP status the SDK raised for the call; fails if it succeeded."""
    with pytest.raises((ClientException, ServerException)) as caught:
        call()
    return caught.value.code, caught.value.status_code


def outcome(call: Callable[[], object]) -> str:
    """"OK", "<status> <code>" for an error answer, or how the connection failed."""
    try:
        call()
    except (ClientException, ServerException) as error:
        return f"{error.status_code} {error.code}"
    except UnretryableException as error:
        return TIMEOUT if "timed out" in str(error) else CONNECTION_ERROR
    return "OK"


def contents(store: Store) -> tuple[list[Record], list[str]]:
    """Everything a call could change: the records and the OSS objects."""
    return store.records(), store.object_keys()


def send_raw(emulator: Emulator, request: RawRequest, *, target: str | None = None,
             body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """Send a captured request again byte for byte, except the target or body if given."""
    host, port = emulator.endpoint.rsplit(":", 1)
    payload = request.body if body is None else body
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest(request.method, target or request.target, skip_host=True,
                              skip_accept_encoding=True)
        for name, value in request.headers:
            connection.putheader(name, str(len(payload)) if name.lower() == "content-length"
                                 else value)
        connection.endheaders(payload)
        response = connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        return response.status, answer
    finally:
        connection.close()


def get_json(emulator: Emulator, path: str) -> tuple[int, Any]:
    host, port = emulator.endpoint.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()
