"""The same sweep as a user would write it: a plain sequential loop over the official SDK.

List each job's day windows page by page, keep what is not an overlay, delete in requests of 200.
Throttled answers are waited out for a second and tried again, the usual hand-written retry.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from alibabacloud_ice20201109 import models
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config

from emulator.signing import AccessKey
from snapshot_purge.ice import iso_seconds
from snapshot_purge.model import DAY_MS

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """One job's listing window of at most a day: what a plain loop lists in one go."""

    job_id: str
    start_ms: int
    end_ms: int


def day_windows(span: tuple[int, int]) -> list[tuple[int, int]]:
    """[start, end) in windows of a day, as a hand-written loop lists it."""
    start, end = span
    return [(at, min(at + DAY_MS, end)) for at in range(start, end, DAY_MS)]


@dataclass
class LoopStats:
    calls: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    deleted: int = 0


def sequential_sweep(endpoint: str, key: AccessKey, slices: list[Window]) -> LoopStats:
    client = Client(Config(endpoint=endpoint, protocol="http", region_id="cn-shanghai",
                           access_key_id=key.access_key_id,
                           access_key_secret=key.access_key_secret,
                           security_token=key.security_token))
    stats = LoopStats()

    def call(action: str, send: Callable[[], T]) -> T:
        while True:
            stats.calls[action] += 1
            try:
                return send()
            except AlibabaCloudException as err:
                if not str(err.code).startswith("Throttling"):
                    raise
                stats.throttled += 1
                time.sleep(1.0)

    for window in slices:
        stamps: list[int] = []
        start = iso_seconds(window.start_ms)
        while True:
            request = models.ListLiveSnapshotFilesRequest(
                job_id=window.job_id, start_time=start, end_time=iso_seconds(window.end_ms),
                limit=100)
            page: Any = call("ListLiveSnapshotFiles", partial(client.list_live_snapshot_files,
                                                              request))
            stamps += [f.create_timestamp for f in page.body.file_list or () if not f.is_overlay]
            if not page.body.next_start_time:
                break
            start = page.body.next_start_time
        for first in range(0, len(stamps), 200):
            delete = models.DeleteLiveSnapshotFilesRequest(
                job_id=window.job_id, create_timestamp_list=stamps[first:first + 200],
                delete_original_file=True)
            answer: Any = call("DeleteLiveSnapshotFiles",
                               partial(client.delete_live_snapshot_files, delete))
            stats.deleted += sum(r.result == "OK" for r in answer.body.delete_file_result_list)
    return stats
