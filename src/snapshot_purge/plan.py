"""Request -> slices -> pages -> delete batches. Pure: listing comes in through `Lister`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Protocol, TypeVar

from snapshot_purge.errors import ApiFailure
from snapshot_purge.model import (
    DAY_MS,
    MAX_FILES_PER_PAGE,
    SECOND_MS,
    FilePage,
    Slice,
    SliceTask,
    SnapshotFile,
)

T = TypeVar("T")


class Lister(Protocol):
    def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage: ...


def floor_second(ms: int) -> int:
    return ms - ms % SECOND_MS


def ceil_second(ms: int) -> int:
    return -(-ms // SECOND_MS) * SECOND_MS


def split_window(job_id: str, start_ms: int, end_ms: int) -> list[Slice]:
    """Whole-second windows of at most one day covering [start_ms, end_ms), oldest first.

    The start is widened and the end narrowed to whole seconds: ListLiveSnapshotFiles takes
    second-precision times, and a narrowed end only ever leaves a due file for the next run.
    """
    start, end = floor_second(start_ms), floor_second(end_ms)
    return [Slice(job_id, at, min(at + DAY_MS, end)) for at in range(start, end, DAY_MS)]


def sweep_tasks(
    job_ids: Sequence[str], start_ms: int, end_ms: int, *, delete_original_file: bool
) -> list[SliceTask]:
    return [
        SliceTask(window, delete_original_file)
        for job_id in job_ids
        for window in split_window(job_id, start_ms, end_ms)
    ]


def iter_pages(
    lister: Lister, window: Slice, *, limit: int = MAX_FILES_PER_PAGE
) -> Iterator[tuple[SnapshotFile, ...]]:
    """Every file in the window once, page by page, oldest first.

    `NextStartTime` has second precision while timestamps have milliseconds, so a service may
    return a file again at a page boundary: files are de-duplicated against the previous page's
    last second. Files outside [start_ms, end_ms) are dropped, whatever the service's idea of
    an inclusive end.
    """
    start = window.start_ms
    boundary: set[int] = set()
    while True:
        page = lister.list_files(window.job_id, start, window.end_ms, limit)
        files = tuple(
            file
            for file in page.files
            if window.start_ms <= file.create_timestamp < window.end_ms
            and file.create_timestamp not in boundary
        )
        if files:
            yield files
        if page.next_start_ms is None or page.next_start_ms >= window.end_ms:
            return
        if page.next_start_ms < start or (page.next_start_ms == start and not files):
            raise ApiFailure(
                "ListLiveSnapshotFiles",
                "NextStartTimeStalled",
                f"job {window.job_id}: NextStartTime {page.next_start_ms} does not advance past"
                f" {start}; stopped to avoid an endless listing",
                request_id=page.request_id,
                hint="Report this to Alibaba Cloud support with the RequestId.",
            )
        last_second = floor_second(max((f.create_timestamp for f in page.files), default=start))
        boundary = {f.create_timestamp for f in page.files if f.create_timestamp >= last_second}
        start = page.next_start_ms


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
