"""The adaptive limiter and the retry policy, on a fake clock: no test sleeps for real.

The server side of the simulation is the emulator's own per-action QPS cap, so the limiter is
checked against the same throttling that the integration tests and the benchmark meet.
"""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.faults import FaultInjector, Faults
from snapshot_purge.ratelimit import (
    HOLD,
    MIN_RATE,
    PROBE_AFTER_S,
    START_RATE,
    AdaptiveRateLimiter,
)
from snapshot_purge.retry import RetryPolicy, is_retryable

ACTION = "DeleteLiveSnapshotFiles"


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_ceiling_is_the_pace_from_the_first_call_spaced_just_under_it() -> None:
    time = FakeTime()
    ceiling = 4 * START_RATE
    limiter = AdaptiveRateLimiter(ceiling, clock=time.clock, sleep=time.sleep)

    for _ in range(81):
        limiter.acquire()

    assert abs(time.now - 100.0 - 80 / (ceiling * HOLD)) < 1e-9


def run_against_cap(cap: float, ceiling: float | None, seconds: float, latency_s: float
                    ) -> tuple[list[tuple[float, bool]], AdaptiveRateLimiter]:
    """A client with calls always waiting (a pool), calling as fast as its limiter lets it,
    against a server capped at `cap`/s; each answer arrives `latency_s` after its call.
    Returns (call time, throttled) per call."""
    time = FakeTime()
    server = FaultInjector(Faults(qps={ACTION: cap}), clock=time.clock)
    limiter = AdaptiveRateLimiter(ceiling, clock=time.clock, sleep=time.sleep)
    calls: list[tuple[float, bool]] = []
    in_flight: deque[tuple[float, bool]] = deque()
    end = time.now + seconds
    while time.now < end:
        limiter.acquire()
        while in_flight and in_flight[0][0] <= time.now:
            _, admitted = in_flight.popleft()
            limiter.on_success() if admitted else limiter.on_throttled()
        admitted = server.admit(ACTION)
        in_flight.append((time.now + latency_s, admitted))
        calls.append((time.now, not admitted))
    return calls, limiter


@settings(max_examples=15, deadline=None)
@given(cap=st.integers(10, 400), latency_s=st.sampled_from([0.0, 0.002, 0.02, 0.05]))
def test_with_no_ceiling_the_limiter_finds_the_cap_with_under_one_percent_throttled(
    cap: int, latency_s: float
) -> None:
    calls, limiter = run_against_cap(cap, None, seconds=100.0, latency_s=latency_s)

    throttled = sum(flag for _, flag in calls)
    assert throttled / len(calls) < 0.01
    assert limiter.estimate is not None and 0.9 * cap <= limiter.estimate <= cap
    settled = [flag for at, flag in calls if at > calls[0][0] + 10]
    accepted_rate = (len(settled) - sum(settled)) / (calls[-1][0] - calls[0][0] - 10)
    assert accepted_rate >= 0.9 * cap


def test_slow_start_reaches_a_high_cap_within_seconds() -> None:
    calls, _ = run_against_cap(300, None, seconds=6.0, latency_s=0.02)

    last_second = [flag for at, flag in calls if at > calls[-1][0] - 1]
    assert len(last_second) >= 0.9 * 300


@settings(max_examples=12, deadline=None)
@given(cap=st.integers(5, 100), headroom=st.floats(0.5, 20.0),
       latency_s=st.sampled_from([0.0, 0.002, 0.05]))
def test_a_ceiling_is_never_exceeded_and_one_below_the_cap_is_never_throttled(
    cap: int, headroom: float, latency_s: float
) -> None:
    ceiling = cap * headroom
    calls, _ = run_against_cap(cap, ceiling, seconds=30.0, latency_s=latency_s)

    for at, _ in calls:
        in_window = sum(1 for other, _ in calls if at - 1.0 < other <= at)
        assert in_window <= ceiling + 1
    if headroom < 1.0:
        assert not any(flag for _, flag in calls)


def test_a_caller_waiting_for_its_slot_when_a_throttled_answer_comes_waits_for_the_window(
) -> None:
    time = FakeTime()
    others: list[AdaptiveRateLimiter] = []
    armed = False

    def sleep(seconds: float) -> None:
        time.now += seconds
        if armed and time.now < 101.0:
            others[0].on_throttled()  # another caller's answer, while this one sleeps

    limiter = AdaptiveRateLimiter(None, start_rate=20.0, clock=time.clock, sleep=sleep)
    others.append(limiter)
    for _ in range(10):
        limiter.acquire()
        limiter.on_success()
    armed = True

    limiter.acquire()

    # The first of the ten accepted calls went at 100.0: the window had room again at 101.0.
    assert time.now >= 101.0


def test_a_throttling_episode_is_estimated_once_and_the_window_is_waited_out() -> None:
    time = FakeTime()
    limiter = AdaptiveRateLimiter(1000.0, start_rate=1000.0, clock=time.clock, sleep=time.sleep)
    for _ in range(30):
        limiter.acquire()
        limiter.on_success()
    first_accepted_at = 100.0

    limiter.on_throttled()
    time.now += 0.5
    limiter.on_throttled()
    limiter.acquire()

    assert limiter.estimate == 30
    assert limiter.rate == 30 * HOLD
    assert time.now >= first_accepted_at + 1.0


def test_clean_answers_probe_back_up_to_the_ceiling_after_a_quiet_spell() -> None:
    time = FakeTime()
    limiter = AdaptiveRateLimiter(50.0, start_rate=50.0, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        limiter.on_success()
    limiter.on_throttled()
    held = limiter.rate

    time.now += PROBE_AFTER_S / 2
    limiter.on_success()
    assert limiter.rate == held
    time.now += PROBE_AFTER_S / 2 + 1.0  # one second into the probe
    limiter.on_success()
    assert held < limiter.rate < 50.0 * HOLD
    time.now += 10 * PROBE_AFTER_S
    limiter.on_success()
    assert limiter.rate == 50.0 * HOLD


@given(events=st.lists(st.tuples(st.sampled_from(["ok", "throttled", "call"]),
                                 st.floats(0, 5)), max_size=200),
       ceiling=st.floats(0.1, 500))
def test_rate_stays_between_the_floor_and_the_ceiling(events: list[tuple[str, float]],
                                                      ceiling: float) -> None:
    time = FakeTime()
    limiter = AdaptiveRateLimiter(ceiling, clock=time.clock, sleep=time.sleep)

    for kind, pause in events:
        time.now += pause
        {"ok": limiter.on_success, "throttled": limiter.on_throttled,
         "call": limiter.acquire}[kind]()
        assert min(MIN_RATE, ceiling * HOLD) * HOLD <= limiter.rate <= ceiling


@given(attempt=st.integers(1, 30), retry_after=st.none() | st.floats(0, 20))
def test_backoff_is_capped_full_jitter_and_honours_retry_after(attempt: int,
                                                               retry_after: float | None
                                                               ) -> None:
    policy = RetryPolicy(base_s=0.2, cap_s=10.0)

    wait = policy.backoff(attempt, retry_after)

    assert 0 <= wait <= max(min(10.0, 0.2 * 2 ** (attempt - 1)), retry_after or 0)
    assert wait >= (retry_after or 0)


def test_only_throttling_and_server_errors_are_retried() -> None:
    assert is_retryable("Throttling.User", 400)
    assert is_retryable("Throttling.Api", 429)
    assert is_retryable("ServiceUnavailable", 503)
    assert is_retryable("InternalError", 500)
    assert not is_retryable("InvalidParameter", 400)
    assert not is_retryable("Forbidden", 403)
    assert not is_retryable("NoValidSnapshot", 404)
