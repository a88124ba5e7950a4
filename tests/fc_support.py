"""Shared by the FC endpoint's tests: the official fc20230330 SDK aimed at a local endpoint, and
the probe function (tests/fc_functions/probe.py) with retries that do not make tests wait."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alibabacloud_fc20230330 import models
from alibabacloud_fc20230330.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from emulator.fc import FunctionCompute, FunctionConfig
from emulator.signing import AccessKey

ROOT = Path(__file__).resolve().parents[1]
PROBE_CODE = ROOT / "tests" / "fc_functions"
PROBE = "probe"
ECHO = {"do": "echo"}


def probe_config(**overrides: Any) -> FunctionConfig:
    """The probe function; retries 10 ms after a failure (FC: 500 ms), doubling from there."""
    settings: dict[str, Any] = {
        "name": PROBE, "code_paths": (PROBE_CODE,), "handler": "probe.handler",
        "environment": {"GREETING": "hello"}, "timeout_s": 30.0, "instances": 2,
        "retry_delay_s": 0.01,
    }
    return FunctionConfig(**{**settings, **overrides})


@contextmanager
def endpoint(config: FunctionConfig, **options: Any) -> Iterator[tuple[FunctionCompute, Any]]:
    """A running endpoint serving `config`, and an SDK client holding its credentials."""
    with FunctionCompute(**options) as fc:
        fc.add_function(config)
        yield fc, fc_client(fc.endpoint, fc.credentials)


def wait_done(fc: FunctionCompute) -> None:
    """Until no task is pending; fails naming the tasks still pending after a minute."""
    assert fc.wait_idle(60), [(task.task_id, task.status) for task in fc.tasks()]


def fc_client(endpoint: str, key: AccessKey, *, read_timeout_ms: int = 30_000) -> Any:
    return Client(Config(
        endpoint=endpoint, protocol="http", region_id="cn-shanghai",
        access_key_id=key.access_key_id, access_key_secret=key.access_key_secret,
        security_token=key.security_token, read_timeout=read_timeout_ms, connect_timeout=2000,
    ))


def invoke(client: Any, event: dict[str, Any] | bytes, *, function: str = PROBE,
           invocation: str = "Sync", task_id: str | None = None, log_type: str | None = None,
           qualifier: str | None = None) -> Any:
    """InvokeFunction through the SDK; the response (status_code, headers, body stream)."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.invoke_function_with_options(
        function, models.InvokeFunctionRequest(body=body, qualifier=qualifier),
        models.InvokeFunctionHeaders(x_fc_invocation_type=invocation, x_fc_async_task_id=task_id,
                                     x_fc_log_type=log_type),
        RuntimeOptions(),
    )


def sync_result(client: Any, event: dict[str, Any]) -> Any:
    """The handler's return value of a sync invocation, parsed."""
    return json.loads(invoke(client, event).body.read())


def get_task(client: Any, task_id: str, function: str = PROBE) -> dict[str, Any]:
    answer = client.get_async_task_with_options(function, task_id, models.GetAsyncTaskRequest(),
                                                {}, RuntimeOptions())
    body: dict[str, Any] = answer.body.to_map()
    return body


def list_tasks(client: Any, function: str = PROBE, **fields: Any) -> dict[str, Any]:
    answer = client.list_async_tasks_with_options(function, models.ListAsyncTasksRequest(**fields),
                                                  {}, RuntimeOptions())
    body: dict[str, Any] = answer.body.to_map()
    return body


def eventually(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for something another process does; fails the test if it never happens."""
    give_up = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < give_up, "the condition never held"
        time.sleep(0.01)


def log_lines(log: str) -> list[dict[str, Any]]:
    """The JSON lines of a log, without the traceback text around them."""
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]
