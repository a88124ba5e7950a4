"""Client-side rate limit per API action, with a ceiling, that adapts to throttling.

Modelled on the AWS SDKs' adaptive retry mode: a paced token bucket whose rate follows CUBIC
(multiplicative decrease on a throttled answer, cubic growth back to and then past the rate at
which throttling started), never above the configured ceiling.
"""

from __future__ import annotations

import threading
import time

from snapshot_purge.clock import Clock, Sleep

BETA = 0.7  # keep 70% of the rate at which throttling was seen
SCALE = 0.4  # CUBIC's C: how fast the rate grows back (per second cubed)
MIN_RATE = 0.5  # requests per second; never stall completely


class AdaptiveRateLimiter:
    """Spaces calls evenly at the current rate: no bursts, so a server cap is met, not hit."""

    def __init__(
        self, ceiling: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        self.ceiling = ceiling
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = ceiling
        self._floor = min(MIN_RATE, ceiling)
        self._max_rate = ceiling  # CUBIC's W_max: the rate when throttling last happened
        self._throttled_at: float | None = None
        self._next_slot = 0.0

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate

    def acquire(self) -> None:
        """Block until this call's turn."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self._rate
        if slot > now:
            self._sleep(slot - now)

    def on_throttled(self) -> None:
        with self._lock:
            self._max_rate = self._rate
            self._rate = max(self._floor, self._rate * BETA)
            self._throttled_at = self._clock()

    def on_success(self) -> None:
        with self._lock:
            if self._throttled_at is None:
                return
            elapsed = self._clock() - self._throttled_at
            recovery = (self._max_rate * (1 - BETA) / SCALE) ** (1 / 3)
            cubic = SCALE * (elapsed - recovery) ** 3 + self._max_rate
            self._rate = min(self.ceiling, max(self._floor, cubic))


class ActionLimiters:
    """One limiter per API action: each action has its own quota."""

    def __init__(
        self, ceiling: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ) -> None:
        self._ceiling = ceiling
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._limiters: dict[str, AdaptiveRateLimiter] = {}

    def __getitem__(self, action: str) -> AdaptiveRateLimiter:
        with self._lock:
            if action not in self._limiters:
                self._limiters[action] = AdaptiveRateLimiter(
                    self._ceiling, clock=self._clock, sleep=self._sleep
                )
            return self._limiters[action]
