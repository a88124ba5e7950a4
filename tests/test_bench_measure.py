"""The benchmark's yardsticks: minimum calls, the bound, and what a verdict says. No timing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.measure import (
    DELETE,
    LIST,
    CpuUse,
    JobRange,
    bound_s,
    call_efficiency,
    minimum_calls,
    wall_verdict,
)
from snapshot_purge.model import DAY_MS


def test_a_day_at_5_s_takes_173_pages_and_87_deletes() -> None:
    assert minimum_calls([JobRange(17_280, DAY_MS)]) == {LIST: 173, DELETE: 87}


def test_deletes_are_counted_per_job_not_per_window() -> None:
    # Three one-day windows of 1,440 files: 8 deletes each if every window sent its own partial
    # batch, 22 for the job as a whole.
    assert minimum_calls([JobRange(3 * 1_440, 3 * DAY_MS)])[DELETE] == 22


def test_a_sparse_range_still_takes_a_page_per_day_and_an_empty_one_a_page() -> None:
    assert minimum_calls([JobRange(10, 3 * DAY_MS)]) == {LIST: 3, DELETE: 1}
    assert minimum_calls([JobRange(0, DAY_MS // 2)]) == {LIST: 1, DELETE: 0}


@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(1, 5 * DAY_MS)), max_size=20))
def test_jobs_add_up(jobs: list[tuple[int, int]]) -> None:
    ranges = [JobRange(files, span) for files, span in jobs]
    together = minimum_calls(ranges)
    alone = [minimum_calls([job]) for job in ranges]
    assert together == {action: sum(calls[action] for calls in alone) for action in together}


def test_the_bound_is_the_busier_action_at_the_cap() -> None:
    # The few-slices case: 4 jobs x half a day at 5 s, 40 calls/s per action.
    minimum = minimum_calls([JobRange(8_640, DAY_MS // 2)] * 4)
    assert minimum == {LIST: 348, DELETE: 176}
    assert bound_s(minimum, 40) == 8.7


def test_efficiency_counts_every_call_made_throttled_ones_too() -> None:
    minimum = {LIST: 30, DELETE: 30}
    assert call_efficiency(minimum, {LIST: 30, DELETE: 34, "GetLiveSnapshotJob": 5}) == 60 / 64
    assert call_efficiency(minimum, {}) == 0.0


def test_verdicts_name_the_limit() -> None:
    # A 10 s bound allows 11 s; a sweep that took 15 s was held back by...
    def verdict(process_s: float | None, machine_s: float | None, other_s: float | None = 0.0,
                wall_s: float = 15.0) -> str:
        return wall_verdict(wall_s, 10.0, CpuUse(process_s, machine_s, other_s, cores=2))

    assert verdict(30.0, 40.0, wall_s=11.0) == "met"
    assert verdict(10.0, 12.0) == "CPU-bound: handler process", "10 s of CPU in one process"
    assert verdict(None, 20.0) == "CPU-bound: machine", "a fleet that used 20 of 22 core-seconds"
    assert verdict(5.0, 20.0, 6.0) == "CPU-bound: machine, shared with other load"
    assert verdict(5.0, 12.0) == "NOT MET", "the CPU had room: the design held it back"
    assert verdict(None, None, None) == "NOT MET"
