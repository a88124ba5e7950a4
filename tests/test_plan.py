"""Planning is pure: windows, paging and batching, checked as properties."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_purge.errors import ApiFailure
from snapshot_purge.model import DAY_MS, MAX_TIMESTAMPS_PER_DELETE, FilePage, Slice, SnapshotFile
from snapshot_purge.plan import batched, floor_second, iter_pages, split_window

JOB = "job"
BASE_MS = 1_764_000_000_000


@given(start=st.integers(BASE_MS, BASE_MS + 10 * DAY_MS),
       length=st.integers(0, 9 * DAY_MS))
def test_windows_cover_the_range_in_whole_seconds_of_at_most_a_day(start: int, length: int
                                                                  ) -> None:
    end = start + length

    windows = split_window(JOB, start, end)

    if floor_second(start) >= floor_second(end):
        assert windows == []
        return
    assert windows[0].start_ms == floor_second(start)
    assert windows[-1].end_ms == floor_second(end)
    for before, after in pairwise(windows):
        assert before.end_ms == after.start_ms
    for window in windows:
        assert 0 < window.end_ms - window.start_ms <= DAY_MS
        assert window.start_ms % 1000 == 0 and window.end_ms % 1000 == 0


@dataclass
class SecondPrecisionService:
    """Pages the way the API documents them: `NextStartTime` is the second of the next file and
    the next page starts there, inclusive, so files of that second may come again."""

    stamps: list[int]
    repeat_boundary: bool
    calls: int = 0

    def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage:
        self.calls += 1
        inside = [s for s in self.stamps if start_ms <= s < end_ms]
        page = inside[:limit]
        if len(inside) <= limit:
            return FilePage(tuple(SnapshotFile(job_id, s) for s in page), None, f"r{self.calls}")
        following = inside[limit]
        next_start = floor_second(following if not self.repeat_boundary else page[-1])
        if next_start == start_ms:
            next_start = floor_second(following)
        return FilePage(tuple(SnapshotFile(job_id, s) for s in page), next_start, f"r{self.calls}")


@settings(max_examples=200, deadline=None)
@given(
    stamps=st.lists(st.integers(BASE_MS, BASE_MS + 3_600_000), unique=True, max_size=300),
    limit=st.integers(2, 100),
    repeat=st.booleans(),
)
def test_paging_yields_every_file_in_the_window_exactly_once(stamps: list[int], limit: int,
                                                             repeat: bool) -> None:
    stamps.sort()
    window = Slice(JOB, BASE_MS + 1000, BASE_MS + 3_000_000)
    service = SecondPrecisionService(stamps, repeat)

    seen = [f.create_timestamp for page in iter_pages(service, window, limit=limit) for f in page]

    assert seen == [s for s in stamps if window.start_ms <= s < window.end_ms]


def test_paging_that_does_not_advance_stops_with_an_error() -> None:
    class Stuck:
        def list_files(self, job_id: str, start_ms: int, end_ms: int, limit: int) -> FilePage:
            return FilePage((SnapshotFile(job_id, start_ms),), start_ms, "stuck-request")

    with pytest.raises(ApiFailure, match="does not advance") as raised:
        list(iter_pages(Stuck(), Slice(JOB, BASE_MS, BASE_MS + 60_000)))

    assert raised.value.request_id == "stuck-request"


@given(items=st.lists(st.integers(), max_size=1000),
       size=st.integers(1, MAX_TIMESTAMPS_PER_DELETE))
def test_batches_are_full_but_for_the_last_and_keep_every_item_in_order(items: list[int],
                                                                         size: int) -> None:
    batches = list(batched(items, size))

    assert [item for batch in batches for item in batch] == items
    assert all(len(batch) == size for batch in batches[:-1])
    assert all(0 < len(batch) <= size for batch in batches)
    assert len(batches) == -(-len(items) // size)
