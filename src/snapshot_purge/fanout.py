"""The Function Compute boundary: hand work to asynchronous invocations of this function.

A coordinator hands each shard of a fleet sweep to its own invocation; a run that reaches its
deadline hands on what is left (a continuation). Each invocation has an async task id derived from
the run, the shard and the hop: FC refuses a known task id with 409, so a coordinator or run that
FC delivers twice dispatches nothing twice. The FC SDK is imported only here, on first use: a run
that hands nothing on never loads it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from Tea.exceptions import UnretryableException

from snapshot_purge.clock import Sleep
from snapshot_purge.config import Endpoint, Settings
from snapshot_purge.cursor import Remainder, encode
from snapshot_purge.errors import ApiFailure, BadRequest, PermissionDenied
from snapshot_purge.ice import Credentials, PerThreadClient, build_config
from snapshot_purge.retry import RetryPolicy, is_retryable

INVOKE = "InvokeFunction"
# FC's async payload limit is 128 KB; a cursor is bounded far below it (see cursor.py), and this
# margin is what is refused rather than sent to fail on the other side.
MAX_PAYLOAD_BYTES = 120 * 1024
TASK_ID_LENGTH = 128
ALREADY_DISPATCHED = 409
DENIED_CODES = frozenset({"AccessDenied", "Forbidden", "InvalidAccessKeyId.NotFound",
                          "SignatureDoesNotMatch", "InvalidSecurityToken.Expired"})


@dataclass(frozen=True)
class Dispatch:
    task_id: str
    hop: int
    shard: int | None
    jobs: int
    already: bool  # FC knew the task id: an earlier delivery of this run dispatched it

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"task_id": self.task_id, "hop": self.hop, "jobs": self.jobs,
                                 "status": "already dispatched" if self.already else "dispatched"}
        if self.shard is not None:
            entry["shard"] = self.shard
        return entry


def task_id(remainder: Remainder) -> str:
    """Letters, digits, `_` and `-`, starting with a letter, at most 128: FC's rule."""
    identity = remainder.identity
    run = re.sub(r"[^A-Za-z0-9_-]", "-", identity.run_id)
    shard = "" if identity.shard is None else f"-s{identity.shard}"
    suffix = f"{shard}-h{identity.hop}"
    return f"purge-{run}"[: TASK_ID_LENGTH - len(suffix)] + suffix


def shard_event(remainder: Remainder) -> bytes:
    return json.dumps({"Shard": encode(remainder)}, separators=(",", ":")).encode()


class FunctionInvoker:
    """Async invocations of one function through the official FC 3.0 SDK; safe across threads."""

    def __init__(
        self,
        client_factory: Callable[[], Any],
        function_name: str,
        *,
        retry: RetryPolicy,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._clients = PerThreadClient(client_factory)
        self.function_name = function_name
        self._retry = retry
        self._sleep = sleep
        self.calls = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, credentials: Credentials | None, *, sleep: Sleep = time.sleep
    ) -> FunctionInvoker:
        from alibabacloud_fc20230330.client import Client

        function = settings.fanout_function
        if not function:
            raise BadRequest(
                "FANOUT_FUNCTION",
                "is not set and FC_FUNCTION_NAME is unknown: name the function to invoke",
            )
        config = build_config(fanout_endpoint(settings), settings, credentials)
        retry = RetryPolicy(max_attempts=settings.max_attempts)
        return cls(lambda: Client(config), function, retry=retry, sleep=sleep)

    def dispatch(self, remainder: Remainder) -> Dispatch:
        from alibabacloud_fc20230330 import models as fc_models
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.runtime import RuntimeOptions

        body = shard_event(remainder)
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ApiFailure(INVOKE, "PayloadTooLarge",
                             f"the shard event is {len(body):,} bytes, over FC's async limit",
                             hint="Lower FANOUT_JOBS_PER_SHARD.")
        task = task_id(remainder)
        identity = remainder.identity
        jobs = len(remainder.jobs)
        request = fc_models.InvokeFunctionRequest(body=body)
        headers = fc_models.InvokeFunctionHeaders(
            x_fc_invocation_type="Async", x_fc_async_task_id=task
        )
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.calls += 1
            try:
                self._clients.get().invoke_function_with_options(
                    self.function_name, request, headers, RuntimeOptions()
                )
                return Dispatch(task, identity.hop, identity.shard, jobs, already=False)
            except AlibabaCloudException as err:
                if err.status_code == ALREADY_DISPATCHED:
                    return Dispatch(task, identity.hop, identity.shard, jobs, already=True)
                code = str(err.code)
                if code in DENIED_CODES or err.status_code == 403:
                    raise PermissionDenied(
                        INVOKE, code, f"{task}: {err.message}", status=err.status_code,
                        hint=f"Grant the function's role fc:InvokeFunction on {self.function_name}"
                        " (template.yml grants it where FANOUT is on).",
                    ) from None
                if not is_retryable(code, err.status_code) or attempt >= self._retry.max_attempts:
                    raise ApiFailure(INVOKE, code, f"{task}: {err.message}",
                                     status=err.status_code) from None
            except (UnretryableException, requests.RequestException, OSError) as err:
                if attempt >= self._retry.max_attempts:
                    raise ApiFailure(
                        INVOKE, "NetworkError", f"{task}: {type(err).__name__}: {err}",
                        hint="Check FANOUT_ENDPOINT and the network.",
                    ) from None
            self._sleep(self._retry.backoff(attempt))


def fanout_endpoint(settings: Settings) -> Endpoint:
    if settings.fanout_endpoint is not None:
        return settings.fanout_endpoint
    if not settings.account_id:
        raise BadRequest(
            "FANOUT_ENDPOINT",
            "is not set and FC_ACCOUNT_ID is unknown (not on Function Compute?): give the"
            " FC endpoint, e.g. 1234567890.cn-shanghai.fc.aliyuncs.com",
        )
    return Endpoint(f"{settings.account_id}.{settings.region}.fc.aliyuncs.com", "https")
