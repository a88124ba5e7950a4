"""Under throttling, server errors, dropped connections, slow answers and a deadline, no file is
lost track of: every due file is deleted or reported Failed, nothing else is touched, and the
summary adds up."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from emulator_support import DELETE, JOB_A, JOB_B, LIST_FILES, NOW_MS
from hypothesis import given, settings
from hypothesis import strategies as st
from support import Harness, TickingClock

from devtools.fc_context import FcContext, FcFunction
from emulator.faults import Faults
from emulator.seed import seed
from emulator.server import Emulator
from emulator.store import Store
from snapshot_purge.model import DAY_MS

JOBS = (JOB_A, JOB_B)
SWEEP = {"triggerTime": "2026-11-20T12:00:00Z", "triggerName": "sweep",
         "payload": json.dumps({"RetentionDays": 1, "LookbackDays": 1})}


@contextmanager
def fleet(faults: Faults | None = None) -> Iterator[Harness]:
    """Two jobs, a snapshot a minute over three days, behind an emulator with these faults."""
    store = Store()
    seed(store, jobs=list(JOBS), interval_s=60, days=3, end_ms=NOW_MS)
    with Emulator(store, faults=faults or Faults()) as emulator:
        harness = Harness(emulator, NOW_MS)
        harness.env.update(SNAPSHOT_JOB_IDS=",".join(JOBS), ICE_READ_TIMEOUT_MS="2000")
        yield harness


def due_keys(harness: Harness) -> set[tuple[str, int]]:
    cutoff = NOW_MS - DAY_MS
    return {(r.job_id, r.create_timestamp) for r in harness.emulator.store.records()
            if cutoff - DAY_MS <= r.create_timestamp < cutoff and not r.is_overlay}


def assert_accounted(harness: Harness, before: set[tuple[str, int]],
                     due: set[tuple[str, int]], summary: dict[str, Any]) -> Counter[str]:
    """Every reported file once; reported OK/NotFound means gone; still there means Failed;
    nothing that was not due is gone; the summary counts are the lines' counts."""
    lines = harness.logs.files()
    reported = {(line["job_id"], line["create_timestamp"]): line["result"] for line in lines}
    assert len(reported) == len(lines), "a file was reported twice"
    assert set(reported) <= due, "a file that was not due was touched"
    after = harness.records()
    assert before - due <= after, "a file that was not due was deleted"
    for key, result in reported.items():
        if result in ("OK", "NotFound"):
            assert key not in after
    for key in due & after:
        assert reported.get(key) == "Failed" or not summary["complete"], key
    counts = Counter(reported.values())
    assert summary["files_total"] == len(lines)
    assert {k: v for k, v in summary["files"].items() if v} == dict(counts)
    return counts


def test_throttling_storm_is_ridden_out_by_the_adaptive_limit() -> None:
    with fleet(Faults(qps={LIST_FILES: 20, DELETE: 5})) as harness:
        before, due = harness.records(), due_keys(harness)

        summary = harness.invoke(SWEEP, ICE_MAX_QPS="200")

        assert assert_accounted(harness, before, due, summary) == Counter({"OK": len(due)})
        assert summary["complete"] is True
        throttled = sum(harness.emulator.count(action, code="Throttling.User")
                        for action in (LIST_FILES, DELETE))
        assert summary["throttled"] == throttled > 0
        assert summary["retries"] >= summary["throttled"]


def test_server_error_bursts_are_retried() -> None:
    with fleet(Faults(error_rate=0.3, seed=11)) as harness:
        before, due = harness.records(), due_keys(harness)

        # Ten attempts: a streak that exhausts them is a one-in-a-million draw, whatever order
        # the calls draw their faults in.
        summary = harness.invoke(SWEEP, ICE_MAX_ATTEMPTS="10")

        assert assert_accounted(harness, before, due, summary) == Counter({"OK": len(due)})
        assert summary["retries"] > 0 and summary["complete"] is True


def test_dropped_connections_are_retried() -> None:
    with fleet(Faults(drop_rate=0.25, seed=5)) as harness:
        before, due = harness.records(), due_keys(harness)

        summary = harness.invoke(SWEEP)

        counts = assert_accounted(harness, before, due, summary)
        assert counts["OK"] + counts["NotFound"] == len(due)
        assert not due & harness.records()
        assert harness.emulator.count(DELETE, code="ConnectionDropped") > 0
        assert summary["retries"] > 0
        lost_answers = [line for line in harness.logs.files() if line["result"] == "NotFound"]
        assert {line["reason"] for line in lost_answers} <= {"AlreadyGoneAfterRetry",
                                                             "NoValidSnapshot"}


def test_delete_answered_after_the_read_timeout_is_retried_and_reported_already_gone() -> None:
    with fleet(Faults(slow_rate=0.3, slow_ms=1200, seed=3)) as harness:
        before, due = harness.records(), due_keys(harness)

        summary = harness.invoke(SWEEP, ICE_READ_TIMEOUT_MS="400")

        counts = assert_accounted(harness, before, due, summary)
        assert counts["OK"] + counts["NotFound"] == len(due)
        assert not due & harness.records()
        gone_on_retry = [line for line in harness.logs.files() if line["result"] == "NotFound"]
        assert gone_on_retry, "some delete answers were slower than the read timeout"
        assert {line["reason"] for line in gone_on_retry} <= {"AlreadyGoneAfterRetry",
                                                              "NoValidSnapshot"}


def test_exhausted_retries_leave_failed_files_reported_and_a_rerun_finishes() -> None:
    with fleet(Faults(error_rate=0.5, seed=2)) as harness:
        before, due = harness.records(), due_keys(harness)

        summary = harness.invoke(SWEEP, ICE_MAX_ATTEMPTS="2")

        counts = assert_accounted(harness, before, due, summary)
        assert counts["Failed"] > 0 or summary["complete"] is False
        harness.emulator.faults = Faults()
        harness.invoke(SWEEP)
        assert harness.records() == before - due


def test_deadline_stops_the_run_and_the_cursor_resumes_it_without_redoing_work() -> None:
    with fleet() as harness:
        before, due = harness.records(), due_keys(harness)
        short = FcContext(credentials=harness.context.credentials,
                          function=FcFunction(timeout=10))

        # About 20 calls fit before the deadline: listing and deleting have both begun.
        first = harness.invoke(SWEEP, context=short, monotonic=TickingClock(0.5),
                               DEADLINE_MARGIN_SECONDS="0", ICE_CONCURRENCY="2")

        assert first["complete"] is False and first["stopped_reason"].startswith("deadline")
        assert first["cursor"] and 0 < first["files"]["OK"] < len(due)
        first_lines = harness.logs.files()
        first_ok = {(line["job_id"], line["create_timestamp"]) for line in first_lines}
        harness.emulator.faults = Faults()

        second = harness.invoke({"Cursor": first["cursor"]})

        assert second["complete"] is True
        second_ok = {(line["job_id"], line["create_timestamp"])
                     for line in harness.logs.files()[len(first_lines):]
                     if line["result"] == "OK"}
        assert not first_ok & second_ok, "a file was deleted twice"
        assert first_ok | second_ok == due
        assert harness.records() == before - due


@settings(max_examples=6, deadline=None)
@given(
    error_rate=st.sampled_from([0.0, 0.2, 0.4]),
    drop_rate=st.sampled_from([0.0, 0.15]),
    slow_rate=st.sampled_from([0.0, 0.15]),
    attempts=st.integers(1, 4),
    fault_seed=st.integers(0, 1000),
)
def test_any_mix_of_faults_never_loses_a_file(error_rate: float, drop_rate: float,
                                              slow_rate: float, attempts: int, fault_seed: int
                                              ) -> None:
    faults = Faults(error_rate=error_rate, drop_rate=drop_rate, slow_rate=slow_rate,
                    slow_ms=700, seed=fault_seed)
    with fleet(faults) as harness:
        before, due = harness.records(), due_keys(harness)

        summary = harness.invoke(SWEEP, ICE_MAX_ATTEMPTS=str(attempts),
                                 ICE_READ_TIMEOUT_MS="300")

        assert_accounted(harness, before, due, summary)
