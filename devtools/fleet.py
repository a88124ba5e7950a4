"""A fleet on one machine: the ICE emulator, the local Function Compute endpoint, and this
function deployed on it with fan-out on, so a sweep runs as a coordinator and its shards.

Both endpoints accept the function role's credentials, as on Alibaba Cloud: the coordinator
discovers jobs in ICE and invokes itself through FC with the keys FC handed it. `local_function`
is the FC side alone, for an ICE endpoint that runs elsewhere (the benchmark's own process).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alibabacloud_fc20230330 import models as fc_models
from alibabacloud_fc20230330.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from emulator.delivery import FcTarget, Trigger
from emulator.faults import Faults
from emulator.fc import AsyncTask, FunctionCompute, FunctionConfig
from emulator.fc.tasks import ACTIVE
from emulator.oss_events import EventFilter
from emulator.server import Emulator
from emulator.signing import AccessKey
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = "ice-snapshot-purge"
SNAPSHOT_PREFIX = "snapshots/"


@dataclass
class LocalFunction:
    fc: FunctionCompute
    client: Any  # the official FC SDK client, as a person or a trigger would call

    def invoke_async(self, event: Mapping[str, Any], task_id: str | None = None) -> str:
        """Invoke the function as a trigger does; the request id of the invocation."""
        answer = self.client.invoke_function_with_options(
            FUNCTION,
            fc_models.InvokeFunctionRequest(body=json.dumps(event).encode()),
            fc_models.InvokeFunctionHeaders(x_fc_invocation_type="Async",
                                            x_fc_async_task_id=task_id),
            RuntimeOptions(),
        )
        return str(answer.headers["x-fc-request-id"])

    def wait(self, timeout_s: float = 300.0) -> list[AsyncTask]:
        """Every invocation, once none is queued, running or waiting for a retry."""
        if not self.fc.wait_idle(timeout_s):
            raise self._still_pending(timeout_s)
        return self.fc.tasks(FUNCTION)

    def _still_pending(self, timeout_s: float) -> TimeoutError:
        pending = [(t.task_id, t.status) for t in self.fc.tasks() if t.status in ACTIVE]
        return TimeoutError(f"invocations still pending after {timeout_s:g} s: {pending}")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON lines every invocation logged, all attempts, in task order."""
        return [
            json.loads(line)
            for task in self.fc.tasks(FUNCTION)
            for attempt in task.logs
            for line in attempt.splitlines()
            if line.startswith("{")
        ]


@dataclass
class LocalFleet(LocalFunction):
    ice: Emulator

    def wait(self, timeout_s: float = 300.0) -> list[AsyncTask]:
        """Every invocation, once none is queued, running or waiting for a retry, and no OSS
        event is waiting to be delivered."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.ice.deliveries.flush(max(0.0, deadline - time.monotonic()))
            if not self.fc.wait_idle(max(0.0, deadline - time.monotonic())):
                break
            if not self.ice.deliveries.counts()["pending"]:
                return self.fc.tasks(FUNCTION)
        raise self._still_pending(timeout_s)


def deploy(
    fc: FunctionCompute,
    ice_endpoint: str,
    key: AccessKey,
    *,
    environment: Mapping[str, str] | None,
    timeout_s: float,
    instances: int,
    retry_delay_s: float,
) -> Any:
    """Add this function to `fc`, pointed at ICE and fanning out through `fc` itself; the FC SDK
    client that invokes it with `key`."""
    fc.add_function(FunctionConfig(
        name=FUNCTION,
        code_paths=(ROOT / "src",),
        environment={
            "ICE_ENDPOINT": ice_endpoint,
            "FANOUT": "true",
            "FANOUT_ENDPOINT": fc.endpoint,
            **(environment or {}),
        },
        timeout_s=timeout_s,
        instances=instances,
        retry_delay_s=retry_delay_s,
    ))
    return Client(Config(
        endpoint=fc.endpoint, protocol="http", region_id="cn-shanghai",
        access_key_id=key.access_key_id, access_key_secret=key.access_key_secret,
        security_token=key.security_token, read_timeout=60_000,
    ))


@contextmanager
def local_function(
    ice_endpoint: str,
    key: AccessKey,
    *,
    environment: Mapping[str, str] | None = None,
    timeout_s: float = 900.0,
    instances: int = 4,
    retry_delay_s: float = 0.5,
) -> Iterator[LocalFunction]:
    """This function on a local FC endpoint that accepts `key` (its role's keys too)."""
    with FunctionCompute(credentials=key) as fc:
        yield LocalFunction(fc, deploy(fc, ice_endpoint, key, environment=environment,
                                       timeout_s=timeout_s, instances=instances,
                                       retry_delay_s=retry_delay_s))


@contextmanager
def local_fleet(
    store: Store,
    *,
    environment: Mapping[str, str] | None = None,
    faults: Faults | None = None,
    timeout_s: float = 900.0,
    instances: int = 4,
    retry_delay_s: float = 0.5,
    oss_events: tuple[str, ...] = (),
    clock: Callable[[], float] = time.time,
) -> Iterator[LocalFleet]:
    """`oss_events` (e.g. `oss:ObjectRemoved:*`) are delivered to the function, as the OSS
    trigger of template.yml delivers them; `clock` is the ICE emulator's (live snapshots)."""
    key = AccessKey.generate(sts=True)
    with FunctionCompute(credentials=key) as fc, Emulator(
        store, faults=faults, credentials=key, clock=clock,
        triggers=[_oss_trigger(fc.endpoint, key, oss_events)] if oss_events else (),
    ) as ice:
        client = deploy(fc, ice.endpoint, key, environment=environment, timeout_s=timeout_s,
                        instances=instances, retry_delay_s=retry_delay_s)
        yield LocalFleet(fc, client, ice)


def _oss_trigger(endpoint: str, key: AccessKey, events: tuple[str, ...]) -> Trigger:
    target = FcTarget(endpoint, FUNCTION, key.access_key_id, key.access_key_secret,
                      key.security_token)
    return Trigger(target, filter=EventFilter(prefix=SNAPSHOT_PREFIX, suffix=".jpg",
                                              events=events))
