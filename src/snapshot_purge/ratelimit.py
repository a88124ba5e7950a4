"""Client-side rate limit per API action that finds the service's cap and holds just under it.

ICE publishes no quota and quotas differ per account, so by default there is no fixed ceiling.
The limiter starts at a safe rate and, while it is what holds the calls back, triples it every
second (slow start). The first throttled answer shows the cap: a server that throttles at a
per-second cap has, in the last second, accepted exactly what the cap allows, so the accepted
count *is* the cap. From then on the limiter holds just under that estimate, and probes upward
only after a long quiet spell, in case the quota was raised. `ceiling` (ICE_MAX_QPS, or a shard's
share of it) is where the limiter starts, held under the same way and never exceeded: for fleets
whose shards split the quota, and accounts that share it with other tools.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from snapshot_purge.clock import Clock, Sleep

START_RATE = 20.0  # calls/s per action before anything is known: below the sister API's 30/s
CLIMB_PER_S = 3.0  # slow start: the rate triples per second while it is the bottleneck
HOLD = 0.98  # run at this share of the estimated server cap
PROBE_AFTER_S = 15.0  # quiet seconds before probing above the estimate again
PROBE_GROWTH_PER_S = 0.25  # then grow by this much per second, compounded
UNKNOWN_CAP_CUT = 0.5
MIN_RATE = 0.5  # calls per second; never stall completely
MAX_RATE = 5_000.0  # no ICE quota is near this; it keeps the arithmetic finite
WINDOW_S = 1.0  # the server's cap is per second


class AdaptiveRateLimiter:
    """Spaces calls evenly at the current rate: no bursts, so a server cap is met, not hit."""

    def __init__(
        self,
        ceiling: float | None = None,
        *,
        start_rate: float = START_RATE,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        # A ceiling is a quota too: held just under, so that timing jitter does not cross it.
        self.ceiling = MAX_RATE if ceiling is None else ceiling * HOLD
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._floor = min(MIN_RATE, self.ceiling)
        # A rate the operator gave (the account's quota, or a shard's share of it) is known: the
        # run starts there instead of climbing to it.
        self._rate = max(self._floor, self.ceiling if ceiling is not None else start_rate)
        self._estimate: float | None = None  # the server cap, once a throttled answer showed it
        self._throttled_at = 0.0
        self._accepted: deque[float] = deque()
        self._next_slot = 0.0
        self._climbed_at: float | None = None
        self._throttled_answers = 0

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate

    @property
    def estimate(self) -> float | None:
        with self._lock:
            return self._estimate

    def acquire(self) -> None:
        """Block until this call's turn. A throttled answer that comes in while a caller waits
        for its slot sends it back to the queue: the slot was given out for a window that has
        just turned out to be full, and going ahead would only be throttled too."""
        while True:
            with self._lock:
                now = self._clock()
                waiting = self._next_slot > now
                self._climb(now, waiting)
                slot = max(now, self._next_slot)
                self._next_slot = slot + 1.0 / self._rate
                throttled_before = self._throttled_answers
            if slot <= now:
                return
            self._sleep(slot - now)
            with self._lock:
                if self._throttled_answers == throttled_before:
                    return

    def _climb(self, now: float, waiting: bool) -> None:
        """Slow start, until the first throttled answer: grow only while callers queue here, so
        that a rate nobody used is never suddenly spent in a burst."""
        previous, self._climbed_at = self._climbed_at, now
        if self._estimate is not None or not waiting or previous is None:
            return
        # Callers queue at most one slot apart: a longer gap is idle time, not a busy second.
        busy_s = min(now - previous, 1.0 / self._rate)
        self._rate = min(self.ceiling, self._rate * CLIMB_PER_S**busy_s)

    def on_throttled(self) -> None:
        """Estimate the cap once per throttling episode, then wait for the window to clear.

        Throttled answers within a second of the first one are the same episode: the server's
        window still holds our own earlier calls, and counting again would only undercount.
        """
        with self._lock:
            now = self._clock()
            self._throttled_answers += 1
            self._forget_before(now - WINDOW_S)
            if self._estimate is None or now - self._throttled_at >= WINDOW_S:
                accepted = len(self._accepted)
                # Nothing accepted says nothing about the cap (another client used it up): halve.
                guess = min(self._rate, accepted) if accepted else self._rate * UNKNOWN_CAP_CUT
                self._estimate = max(self._floor, guess)
                self._rate = max(self._floor, min(self.ceiling, self._estimate * HOLD))
            self._throttled_at = now
            # Wait until the server's window has room: our oldest call in it has aged out, or,
            # with none of ours in it (another client filled it), the whole window.
            clears_at = self._accepted[0] + WINDOW_S if self._accepted else now + WINDOW_S
            self._next_slot = max(self._next_slot, clears_at, now + 1.0 / self._rate)

    def on_success(self) -> None:
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            self._forget_before(now - WINDOW_S)
            if self._estimate is None:
                return
            quiet = now - self._throttled_at - PROBE_AFTER_S
            if quiet > 0:
                growth = (1.0 + PROBE_GROWTH_PER_S) ** quiet
                self._rate = min(self.ceiling, self._estimate * HOLD * growth)

    def _forget_before(self, horizon: float) -> None:
        while self._accepted and self._accepted[0] <= horizon:
            self._accepted.popleft()


class ActionLimiters:
    """One limiter per API action: each action has its own quota. `share` is this invocation's
    part of the account's budget (a shard of a fleet sweep runs beside its siblings)."""

    def __init__(
        self,
        ceiling: float | None = None,
        *,
        share: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._ceiling = None if ceiling is None else ceiling * share
        self._start_rate = START_RATE * share
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limiters: dict[str, AdaptiveRateLimiter] = {}

    def __getitem__(self, action: str) -> AdaptiveRateLimiter:
        with self._lock:
            if action not in self._limiters:
                self._limiters[action] = AdaptiveRateLimiter(
                    self._ceiling, start_rate=self._start_rate, clock=self._clock, sleep=self._sleep
                )
            return self._limiters[action]
