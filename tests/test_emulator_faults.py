"""Fault injection, each fault on its own and seeded: what the SDK client meets, what the emulator
counts, and whether the change was made although the client saw a failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from emulator_support import (
    CONNECTION_ERROR,
    DELETE,
    GET_JOB,
    JOB_A,
    LIST_JOBS,
    NOW_MS,
    TIMEOUT,
    Rig,
    contents,
    outcome,
    running,
)

from emulator.faults import Fate, FaultInjector, Faults
from emulator.seed import seed
from emulator.store import Record, Store

THROTTLED = "400 Throttling.User"
# What the client meets for each fate of a request that would otherwise succeed.
MET = {
    Fate.ANSWER: "OK",
    Fate.INTERNAL_ERROR: "500 InternalError",
    Fate.UNAVAILABLE: "503 ServiceUnavailable",
    Fate.DROP_BEFORE: CONNECTION_ERROR,
    Fate.DROP_AFTER: CONNECTION_ERROR,
}


def seeded_store() -> Store:
    store = Store()
    seed(store, jobs=[JOB_A], interval_s=600, days=1, end_ms=NOW_MS)
    return store


@pytest.fixture
def rig() -> Iterator[Rig]:
    with running(seeded_store()) as started:
        yield started


def snapshots(store: Store) -> list[Record]:
    return [r for r in store.records(JOB_A) if not r.is_overlay]


def deleting(rig: Rig, target: Record) -> Callable[[], object]:
    """A call deleting one file and its OSS object."""
    return lambda: rig.delete(JOB_A, [target.create_timestamp], True)


def fates(faults: Faults, count: int) -> list[Fate]:
    injector = FaultInjector(faults)
    return [injector.fate() for _ in range(count)]


def test_qps_cap_throttles_calls_beyond_it_within_a_second_and_counts_them() -> None:
    now = [100.0]  # the emulator's QPS windows run on this clock, so no test waits for real
    with running(seeded_store(), faults=Faults(qps={GET_JOB: 3, "*": 5}),
                 fault_clock=lambda: now[0]) as rig:
        gets = [outcome(lambda: rig.get_job(JOB_A)) for _ in range(9)]
        lists = [outcome(lambda: rig.list_jobs()) for _ in range(9)]

        assert gets == ["OK"] * 3 + [THROTTLED] * 6
        assert lists == ["OK"] * 5 + [THROTTLED] * 4
        for action, seen in ((GET_JOB, gets), (LIST_JOBS, lists)):
            assert rig.emulator.count(action, code="Throttling.User") == seen.count(THROTTLED)
            assert rig.emulator.count(action, code="OK") == seen.count("OK")

        now[0] += 0.999
        assert outcome(lambda: rig.get_job(JOB_A)) == THROTTLED
        now[0] += 0.002  # the first calls have left the one-second window
        assert outcome(lambda: rig.get_job(JOB_A)) == "OK"


def test_error_rate_one_answers_only_server_errors_and_changes_nothing(rig: Rig) -> None:
    faults = Faults(error_rate=1.0, seed=3)
    rig.emulator.faults = faults
    targets = snapshots(rig.store)[:16]
    before = contents(rig.store)

    seen = [outcome(deleting(rig, t)) for t in targets]

    assert seen == [MET[fate] for fate in fates(faults, len(targets))]
    assert set(seen) == {"500 InternalError", "503 ServiceUnavailable"}
    assert contents(rig.store) == before
    assert rig.emulator.count(DELETE, "InternalError") == seen.count("500 InternalError")
    assert rig.emulator.count(DELETE, "ServiceUnavailable") == seen.count(
        "503 ServiceUnavailable")


def test_drop_rate_one_loses_every_answer_and_drops_after_the_action_made_the_change(
    rig: Rig,
) -> None:
    faults = Faults(drop_rate=1.0, seed=11)
    rig.emulator.faults = faults
    targets = snapshots(rig.store)[:16]
    predicted = fates(faults, len(targets))
    objects = set(rig.store.object_keys())

    seen = [outcome(deleting(rig, t)) for t in targets]

    assert seen == [CONNECTION_ERROR] * len(targets)
    made = [t for t, fate in zip(targets, predicted, strict=True) if fate is Fate.DROP_AFTER]
    kept = [t for t, fate in zip(targets, predicted, strict=True) if fate is Fate.DROP_BEFORE]
    assert made and kept, "seed 11 must give both kinds of drop"
    remaining = snapshots(rig.store)
    assert not set(made) & set(remaining)
    assert set(kept) <= set(remaining)
    assert set(rig.store.object_keys()) == objects - {t.oss_object for t in made}
    # Each call reached the emulator once: the SDK did not retry behind the test's back.
    assert rig.emulator.count(DELETE) == rig.emulator.count(DELETE, "ConnectionDropped") == 16


def test_slow_answer_past_the_read_timeout_fails_the_client_but_the_change_is_made() -> None:
    with running(seeded_store(), read_timeout_ms=300,
                 faults=Faults(slow_rate=1.0, slow_ms=1500, seed=1)) as rig:
        targets = snapshots(rig.store)[:3]

        seen = outcome(lambda: rig.delete(JOB_A, [t.create_timestamp for t in targets], True))

        assert seen == TIMEOUT
        assert not set(targets) & set(snapshots(rig.store))
        assert not {t.oss_object for t in targets} & set(rig.store.object_keys())
        assert rig.emulator.count(DELETE, "OK") == 1


@pytest.mark.parametrize("latency_ms", [150, 400])
def test_latency_delays_each_call_by_at_least_that_much(rig: Rig, latency_ms: int) -> None:
    rig.emulator.faults = Faults(latency_ms=latency_ms)

    for _ in range(2):
        started = time.monotonic()
        rig.get_job(JOB_A)
        assert time.monotonic() - started >= latency_ms / 1000


def test_the_same_seed_gives_the_same_fates_and_another_seed_others() -> None:
    faults = Faults(error_rate=0.2, drop_rate=0.3, slow_rate=0.2, slow_ms=1, seed=7)

    first, again = fates(faults, 300), fates(faults, 300)

    assert first == again
    assert set(first) == set(Fate)
    assert fates(Faults(error_rate=0.2, drop_rate=0.3, slow_rate=0.2, slow_ms=1, seed=8), 300
                 ) != first


def test_a_sequential_run_meets_the_same_faults_with_the_same_seed() -> None:
    faults = Faults(error_rate=0.3, drop_rate=0.3, seed=7)

    def run() -> tuple[list[str], dict[str, Any]]:
        with running(seeded_store(), faults=faults) as rig:
            seen = [outcome(lambda: rig.get_job(JOB_A)) for _ in range(30)]
            return seen, rig.emulator.calls()

    first, counted = run()
    again, counted_again = run()

    assert first == again and counted == counted_again
    assert first == [MET[fate] for fate in fates(faults, 30)]
    assert len(set(first)) == 4


@pytest.mark.parametrize("settings", [
    {"error_rate": 1.5}, {"drop_rate": -0.1}, {"error_rate": 0.6, "drop_rate": 0.6},
    {"latency_ms": -1.0}, {"slow_ms": -5.0}, {"qps": {GET_JOB: 0}},
])
def test_impossible_fault_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Faults(**settings)
