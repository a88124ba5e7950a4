"""The adaptive limiter, on a fake clock: pacing, back-off on throttling, recovery."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from snapshot_purge.ratelimit import BETA, MIN_RATE, AdaptiveRateLimiter
from snapshot_purge.retry import RetryPolicy, is_retryable


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_calls_are_spaced_at_the_ceiling() -> None:
    time = FakeTime()
    limiter = AdaptiveRateLimiter(20.0, clock=time.clock, sleep=time.sleep)

    for _ in range(41):
        limiter.acquire()

    assert abs(time.now - 100.0 - 40 / 20.0) < 1e-9


def test_throttling_cuts_the_rate_and_clean_answers_bring_it_back_to_the_ceiling() -> None:
    time = FakeTime()
    limiter = AdaptiveRateLimiter(30.0, clock=time.clock, sleep=time.sleep)

    limiter.on_throttled()
    after_throttle = limiter.rate
    time.now += 1.0
    limiter.on_success()
    partly = limiter.rate
    time.now += 30.0
    limiter.on_success()

    assert after_throttle == 30.0 * BETA
    assert after_throttle < partly < 30.0
    assert limiter.rate == 30.0


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
        assert min(MIN_RATE, ceiling) <= limiter.rate <= ceiling


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
