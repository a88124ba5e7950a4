"""Planning is pure: windows, paging, splitting and batching, checked as properties."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_purge.errors import ApiFailure
from snapshot_purge.model import DAY_MS, MAX_TIMESTAMPS_PER_DELETE, FilePage, SnapshotFile
from snapshot_purge.plan import WindowPaging, batched, floor_second, merge_ranges

JOB = "job"
BASE_MS = 1_764_000_000_000


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=30))
def test_merged_ranges_cover_the_same_points_sorted_and_apart(raw: list[tuple[int, int]]) -> None:
    ranges = [(a, b) for a, b in raw]

    merged = merge_ranges(ranges)

    covered = {x for a, b in ranges for x in range(a, b)}
    assert {x for a, b in merged for x in range(a, b)} == covered
    assert all(a < b for a, b in merged)
    assert all(before[1] < after[0] for before, after in pairwise(merged))


@dataclass
class SecondPrecisionService:
    """Pages the way the API documents them: `NextStartTime` is a whole second and the next page
    starts there, inclusive, so files of that second may come again (`repeat_boundary`)."""

    stamps: list[int]
    repeat_boundary: bool
    limit: int
    calls: int = 0

    def page(self, start_ms: int, end_ms: int) -> FilePage:
        assert start_ms % 1000 == 0 and end_ms % 1000 == 0 and end_ms - start_ms <= DAY_MS
        self.calls += 1
        inside = [s for s in self.stamps if start_ms <= s < end_ms]
        page = inside[: self.limit]
        files = tuple(SnapshotFile(JOB, s) for s in page)
        if len(inside) <= self.limit:
            return FilePage(files, None, f"r{self.calls}")
        following = inside[self.limit]
        next_start = floor_second(page[-1] if self.repeat_boundary else following)
        if next_start == start_ms:
            next_start = floor_second(following)
        return FilePage(files, next_start, f"r{self.calls}")


def drain(service: SecondPrecisionService, paging: WindowPaging, pages: int | None = None
          ) -> list[int]:
    seen: list[int] = []
    while not paging.done and (pages is None or pages > 0):
        seen += [f.create_timestamp for f in paging.accept(service.page(*paging.request()), JOB)]
        pages = None if pages is None else pages - 1
    return seen


stamp_lists = st.lists(st.integers(BASE_MS, BASE_MS + 3_600_000), unique=True, max_size=300)


@settings(max_examples=200, deadline=None)
@given(stamps=stamp_lists, limit=st.integers(2, 100), repeat=st.booleans(),
       start=st.integers(BASE_MS, BASE_MS + 5_000), end_offset=st.integers(0, 5_000))
def test_paging_returns_every_file_in_the_window_exactly_once(
    stamps: list[int], limit: int, repeat: bool, start: int, end_offset: int
) -> None:
    stamps.sort()
    end = BASE_MS + 3_000_000 + end_offset
    service = SecondPrecisionService(stamps, repeat, limit)

    seen = drain(service, WindowPaging((start, end)))

    assert seen == [s for s in stamps if start <= s < end]


@settings(max_examples=200, deadline=None)
@given(stamps=stamp_lists, limit=st.integers(2, 100), repeat=st.booleans(),
       pages=st.integers(0, 8))
def test_a_stopped_paging_resumes_at_its_position_with_nothing_skipped_or_repeated(
    stamps: list[int], limit: int, repeat: bool, pages: int
) -> None:
    stamps.sort()
    window = (BASE_MS, BASE_MS + 3_600_001)
    service = SecondPrecisionService(stamps, repeat, limit)
    first = WindowPaging(window)

    before = drain(service, first, pages)
    after = drain(service, WindowPaging((first.position, window[1])))

    assert before + after == stamps
    assert all(s < first.position for s in before)


@settings(max_examples=200, deadline=None)
@given(stamps=stamp_lists, limit=st.integers(2, 100), repeat=st.booleans(),
       pages=st.integers(1, 4), cut=st.floats(0, 1))
def test_a_split_window_is_listed_once_by_its_two_halves_for_at_most_one_more_call(
    stamps: list[int], limit: int, repeat: bool, pages: int, cut: float
) -> None:
    stamps.sort()
    window = (BASE_MS, BASE_MS + 3_600_001)
    whole = SecondPrecisionService(stamps, repeat, limit)
    drain(whole, WindowPaging(window))
    service = SecondPrecisionService(stamps, repeat, limit)
    paging = WindowPaging(window)

    seen = drain(service, paging, pages)
    at = floor_second(int(paging.position + cut * (window[1] - paging.position)))
    rest = paging.split(at)
    seen += drain(service, paging)
    if rest is not None:
        seen += drain(service, rest)

    assert sorted(seen) == stamps and len(seen) == len(stamps)
    assert service.calls <= whole.calls + (rest is not None)


@settings(max_examples=200, deadline=None)
@given(stamps=st.lists(st.integers(BASE_MS, BASE_MS + 9 * DAY_MS), unique=True, max_size=400),
       limit=st.integers(2, 100), repeat=st.booleans(), start=st.integers(0, 2 * DAY_MS),
       length=st.integers(1, 7 * DAY_MS))
def test_a_range_of_days_is_paged_continuously_for_the_fewest_calls(
    stamps: list[int], limit: int, repeat: bool, start: int, length: int
) -> None:
    stamps.sort()
    window = (BASE_MS + start, BASE_MS + start + length)
    service = SecondPrecisionService(stamps, repeat, limit)

    seen = drain(service, WindowPaging(window))

    inside = [s for s in stamps if window[0] <= s < window[1]]
    assert seen == inside
    # One call per day the range touches at least, one per page at most beside: never a
    # partial page for every fixed day window.
    days = -(-(window[1] - floor_second(window[0])) // DAY_MS)
    assert service.calls <= days + -(-len(inside) // (limit - 1)) + 1


def test_sparse_snapshots_over_days_take_no_partial_page_per_day() -> None:
    every_ten_minutes = list(range(BASE_MS, BASE_MS + 3 * DAY_MS, 600_000))
    service = SecondPrecisionService(every_ten_minutes, False, 100)

    seen = drain(service, WindowPaging((BASE_MS, BASE_MS + 3 * DAY_MS)))

    # 432 files: 5 pages of 100 in one go; fixed one-day windows would take 3 x 2 = 6 calls.
    assert seen == every_ten_minutes
    assert service.calls == -(-len(every_ten_minutes) // 100) == 5


def test_paging_that_does_not_advance_stops_with_an_error() -> None:
    paging = WindowPaging((BASE_MS, BASE_MS + 60_000))
    stuck = FilePage((), BASE_MS, "stuck-request")

    with pytest.raises(ApiFailure, match="does not advance") as raised:
        paging.accept(stuck, JOB)

    assert raised.value.request_id == "stuck-request"


@given(items=st.lists(st.integers(), max_size=1000),
       size=st.integers(1, MAX_TIMESTAMPS_PER_DELETE))
def test_batches_are_full_but_for_the_last_and_keep_every_item_in_order(items: list[int],
                                                                         size: int) -> None:
    batches = list(batched(items, size))

    assert [item for batch in batches for item in batch] == items
    assert all(len(batch) == size for batch in batches[:-1])
    assert len(batches) == -(-len(items) // size)
