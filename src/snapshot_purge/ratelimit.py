"""Client-side rate limit per API action, with a ceiling, that adapts to throttling.

Like the AWS SDKs' adaptive retry mode it paces calls with a token rate that drops on a
throttled answer and climbs back on clean ones. Unlike it, the drop is not a blind multiplicative
cut: a server that throttles at a per-second cap has, in the last second, accepted exactly what
the cap allows, so the accepted count *is* the cap. The limiter holds just under that estimate,
and probes upward only after a long quiet spell, in case the quota was raised. Against a hard cap
this stays within a few percent of it with almost no throttled answers, where a CUBIC-style
probe past the old rate meets the cap again every few seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from snapshot_purge.clock import Clock, Sleep

HOLD = 0.95  # run at this share of the estimated server cap
PROBE_AFTER_S = 30.0  # quiet seconds before probing above the estimate again
PROBE_GROWTH_PER_S = 0.03  # then grow by this much per second, compounded
UNKNOWN_CAP_CUT = 0.5
MIN_RATE = 0.5  # requests per second; never stall completely
WINDOW_S = 1.0  # the server's cap is per second


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
        self._estimate: float | None = None  # the server cap, once a throttled answer showed it
        self._throttled_at = 0.0
        self._accepted: deque[float] = deque()
        self._next_slot = 0.0

    @property
    def rate(self) -> float:
        with self._lock:
            return self._rate

    @property
    def estimate(self) -> float | None:
        with self._lock:
            return self._estimate

    def acquire(self) -> None:
        """Block until this call's turn."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self._rate
        if slot > now:
            self._sleep(slot - now)

    def on_throttled(self) -> None:
        """Estimate the cap once per throttling episode, then wait for the window to clear.

        Throttled answers within a second of the first one are the same episode: the server's
        window still holds our own earlier calls, and counting again would only undercount.
        """
        with self._lock:
            now = self._clock()
            self._forget_before(now - WINDOW_S)
            if self._estimate is None or now - self._throttled_at >= WINDOW_S:
                accepted = len(self._accepted)
                # Nothing accepted says nothing about the cap (another client used it up): halve.
                guess = min(self._rate, accepted) if accepted else self._rate * UNKNOWN_CAP_CUT
                self._estimate = max(self._floor, guess)
                self._rate = max(self._floor, self._estimate * HOLD)
            self._throttled_at = now
            if self._accepted:
                self._next_slot = max(self._next_slot, self._accepted[0] + WINDOW_S)

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
