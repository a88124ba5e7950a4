"""Threads with the SDK's sync methods vs asyncio with its `_async` twins, on the same calls.

The purger needs a bounded pool of concurrent calls; the SDK offers both a `requests` path and an
`aiohttp` path. Same emulator (added latency, no cap), same number of calls, same concurrency:
calls per second and the client's CPU time per call decide which the purger uses.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from alibabacloud_ice20201109 import models
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from emulator.faults import Faults
from emulator.seed import seed
from emulator.server import Emulator
from emulator.signing import AccessKey
from emulator.store import Store
from snapshot_purge.ice import iso_seconds

CALLS = 400
CONCURRENCY = 8
LATENCY_MS = 5.0


@dataclass(frozen=True)
class Run:
    calls_per_s: float
    client_cpu_ms_per_call: float


def _client(endpoint: str, key: AccessKey) -> Client:
    return Client(Config(endpoint=endpoint, protocol="http", region_id="cn-shanghai",
                         access_key_id=key.access_key_id, access_key_secret=key.access_key_secret))


def _request(job_id: str, end_ms: int) -> models.ListLiveSnapshotFilesRequest:
    return models.ListLiveSnapshotFilesRequest(
        job_id=job_id, start_time=iso_seconds(end_ms - 3_600_000), end_time=iso_seconds(end_ms),
        limit=100)


def _threads(endpoint: str, key: AccessKey, request: Any) -> None:
    local = threading.local()

    def call(_: int) -> None:
        if not hasattr(local, "client"):
            local.client = _client(endpoint, key)
        local.client.list_live_snapshot_files_with_options(request, RuntimeOptions())

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(call, range(CALLS)))


def _asyncio(endpoint: str, key: AccessKey, request: Any) -> None:
    async def main() -> None:
        client = _client(endpoint, key)
        slots = asyncio.Semaphore(CONCURRENCY)

        async def call() -> None:
            async with slots:
                await client.list_live_snapshot_files_with_options_async(request,
                                                                         RuntimeOptions())

        await asyncio.gather(*(call() for _ in range(CALLS)))

    asyncio.run(main())


def _measure(run: Any, endpoint: str, key: AccessKey, request: Any) -> Run:
    wall, cpu = time.perf_counter(), time.process_time()
    run(endpoint, key, request)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run(round(CALLS / wall, 1), round(cpu / CALLS * 1000, 3))


def compare() -> dict[str, Any]:
    """Both transports against an in-process emulator; its CPU counts for both alike."""
    end_ms = int(time.time() * 1000)
    store = Store()
    (job,) = seed(store, jobs=1, interval_s=5, days=0.1, end_ms=end_ms)
    request = _request(job.job_id, end_ms)
    with Emulator(store, faults=Faults(latency_ms=LATENCY_MS)) as emulator:
        key = emulator.credentials
        results = {name: _measure(run, emulator.endpoint, key, request)
                   for name, run in (("threads", _threads), ("asyncio", _asyncio),
                                     ("threads_again", _threads))}
    return {"calls": CALLS, "concurrency": CONCURRENCY, "latency_ms": LATENCY_MS,
            **{name: vars(result) for name, result in results.items()}}
