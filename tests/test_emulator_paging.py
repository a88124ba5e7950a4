"""ListLiveSnapshotFiles paging: following NextStartTime (second precision) returns every file in
[StartTime, EndTime) exactly once, oldest first (or, with SortBy=desc and NextStartTime as the
next EndTime, newest first), however the timestamps crowd into one second or one millisecond.
Through the SDK, then faster against the service, then on a million records."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from emulator_support import (
    BUCKET,
    DAY_MS,
    NOW_MS,
    SECOND_MS,
    Rig,
    epoch_ms,
    iso,
    make_job,
    running,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.api import IceService
from emulator.seed import seed
from emulator.store import Record, Store

DAY_START_MS = NOW_MS - DAY_MS
DAY_S = DAY_MS // SECOND_MS
LIST_FILES = "ListLiveSnapshotFiles"


@dataclass(frozen=True)
class Layout:
    """A job's file timestamps (some outside the window) and one paged listing of a window."""

    stamps: tuple[int, ...]
    start_ms: int
    end_ms: int
    limit: int
    descending: bool


@st.composite
def layouts(draw: st.DrawFn, max_files: int) -> Layout:
    start_s = draw(st.one_of(st.just(0), st.integers(0, DAY_S - 1)))
    end_s = draw(st.one_of(
        st.just(DAY_S), st.integers(start_s + 1, min(DAY_S, start_s + 100)),
        st.integers(start_s + 1, DAY_S),
    ))
    # The seconds that hold files: few, so that many files share one, mostly in the window but
    # also on its edges and just outside it (those must never be listed).
    edges = [start_s - 1, start_s, end_s - 1, end_s]
    seconds = draw(st.lists(st.one_of(st.sampled_from(edges), st.integers(start_s, end_s - 1)),
                            min_size=1, max_size=25, unique=True))
    # A few millisecond values, so that some files share one.
    millis = st.one_of(st.sampled_from([0, 1, 500, 999]), st.integers(0, 999))
    count = draw(st.integers(0, max_files))
    stamp = st.builds(lambda s, ms: DAY_START_MS + s * SECOND_MS + ms, st.sampled_from(seconds),
                      millis)
    stamps = draw(st.lists(stamp, min_size=count, max_size=count))
    limit = draw(st.one_of(st.integers(1, 5), st.integers(1, 100)))
    return Layout(tuple(stamps), DAY_START_MS + start_s * SECOND_MS,
                  DAY_START_MS + end_s * SECOND_MS, limit, draw(st.booleans()))


def add_layout(store: Store, job_id: str, layout: Layout) -> list[Record]:
    """The layout's files for a new job, each with its own object key; those in the window."""
    store.add_job(make_job(job_id, DAY_START_MS - DAY_MS))
    records = [Record(job_id, stamp, False, BUCKET, f"paging/{job_id}/{n}.jpg")
               for n, stamp in enumerate(layout.stamps)]
    store.add_records(records)
    return [r for r in records if layout.start_ms <= r.create_timestamp < layout.end_ms]


ListPage = Callable[[str, int, int, int, str], dict[str, Any]]


def follow_pages(list_page: ListPage, job_id: str, layout: Layout, expected: int
                 ) -> list[dict[str, Any]]:
    """Every page of the window, each next one bounded by the last one's NextStartTime: its
    StartTime going forwards, its EndTime going backwards."""
    files: list[dict[str, Any]] = []
    start, end = layout.start_ms, layout.end_ms
    for _ in range(expected + 2):
        answer = list_page(job_id, start, end, layout.limit,
                           "desc" if layout.descending else "asc")
        page = answer["FileList"]
        # More than Limit only when they all share one second (NextStartTime cannot split it).
        assert len(page) <= layout.limit or len({f["CreateTimestamp"] // 1000 for f in page}) == 1
        files += page
        if answer.get("NextStartTime") is None:
            return files
        following = epoch_ms(answer["NextStartTime"])
        assert start < following < end
        if layout.descending:
            end = following
        else:
            start = following
    raise AssertionError("NextStartTime kept coming back after every file was listed")


def assert_listed_once_in_order(files: list[dict[str, Any]], expected: list[Record],
                                descending: bool) -> None:
    keys = [f["OssObject"] for f in files]
    assert len(keys) == len(set(keys)), "a file was listed twice"
    assert sorted(keys) == sorted(r.oss_object for r in expected)
    stamps = [f["CreateTimestamp"] for f in files]
    assert stamps == sorted(stamps, reverse=descending)
    by_key = {r.oss_object: r.create_timestamp for r in expected}
    assert all(by_key[f["OssObject"]] == f["CreateTimestamp"] for f in files)


@pytest.fixture(scope="module")
def shared_rig() -> Iterator[Rig]:
    """One emulator for every example: each example pages through a job of its own."""
    with running(Store()) as started:
        yield started


_job_numbers = itertools.count()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts(max_files=120))
def test_following_next_start_time_lists_every_file_once_through_the_sdk(
    shared_rig: Rig, layout: Layout
) -> None:
    job_id = f"sdk-paging-{next(_job_numbers)}"
    expected = add_layout(shared_rig.store, job_id, layout)

    def list_page(job: str, start: int, end: int, limit: int, sort_by: str) -> dict[str, Any]:
        return shared_rig.list_files(job, iso(start), iso(end), limit=limit, sort_by=sort_by)

    assert_listed_once_in_order(follow_pages(list_page, job_id, layout, len(expected)), expected,
                                layout.descending)


@settings(max_examples=300, deadline=None)
@given(layout=layouts(max_files=400))
def test_following_next_start_time_lists_every_file_once_in_the_service(layout: Layout) -> None:
    store = Store()
    expected = add_layout(store, "service-paging", layout)
    service = IceService(store, clock=lambda: NOW_MS / 1000)

    def list_page(job: str, start: int, end: int, limit: int, sort_by: str) -> dict[str, Any]:
        return service.call(LIST_FILES, {"JobId": job, "StartTime": iso(start),
                                         "EndTime": iso(end), "Limit": str(limit),
                                         "SortBy": sort_by})

    assert_listed_once_in_order(follow_pages(list_page, "service-paging", layout, len(expected)),
                                expected, layout.descending)


def test_a_page_of_a_million_record_store_holds_the_right_hundred_files() -> None:
    store = Store()
    jobs = seed(store, jobs=58, interval_s=5, days=1, end_ms=NOW_MS)
    per_job = DAY_MS // 5000 + 1  # a snapshot every 5 s for a day, and the overlay
    assert store.count_records() == 58 * per_job > 1_000_000
    job = jobs[29]
    start, end = NOW_MS - 12 * 3_600_000 + 7 * SECOND_MS, NOW_MS
    window = [r for r in store.records(job.job_id) if start <= r.create_timestamp < end]

    with running(store) as rig:
        first = rig.list_files(job.job_id, iso(start), iso(end), limit=100)
        second = rig.list_files(job.job_id, first["NextStartTime"], iso(end), limit=100)
        newest = rig.list_files(job.job_id, iso(start), iso(end), limit=100, sort_by="desc")
        older = rig.list_files(job.job_id, iso(start), newest["NextStartTime"], limit=100,
                               sort_by="desc")

    def listed(answer: dict[str, Any]) -> list[tuple[int, str, bool]]:
        return [(f["CreateTimestamp"], f["OssObject"], f["IsOverlay"]) for f in answer["FileList"]]

    def of(records: list[Record]) -> list[tuple[int, str, bool]]:
        return [(r.create_timestamp, r.oss_object, r.is_overlay) for r in records]

    assert listed(first) == of(window[:100])
    assert first["NextStartTime"] == iso(window[100].create_timestamp)
    assert listed(second) == of(window[100:200])
    assert listed(newest) == of(window[::-1][:100])
    assert newest["FileList"][0]["IsOverlay"] is True
    assert newest["NextStartTime"] == iso(window[::-1][100].create_timestamp + SECOND_MS)
    assert listed(older) == of(window[::-1][100:200])
