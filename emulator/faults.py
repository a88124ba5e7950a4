"""Fault injection: what the real service does to a client on a bad day, on purpose and repeatably.

Each request draws its fate from one seeded random stream, so a run with the same seed and the
same order of requests meets the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

EVERY_ACTION = "*"


@dataclass(frozen=True)
class Faults:
    """What to inject; all off by default.

    - `latency_ms`: added to every request before it is handled.
    - `qps`: per-action cap (`"*"` for every action not named): requests beyond it within any one
      second are answered `Throttling.User` (HTTP 400), as ICE answers them; they do not count.
    - `error_rate`: share of requests answered 500 `InternalError` or 503 `ServiceUnavailable`.
    - `drop_rate`: share whose connection is closed with no answer, half before the action runs
      and half after (the answer is lost, the change is made).
    - `slow_rate` / `slow_ms`: share whose answer is held `slow_ms` after the action ran: past
      the client's read timeout, the client sees no answer but the change is made.
    """

    latency_ms: float = 0.0
    qps: Mapping[str, float] = field(default_factory=dict)
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = {"error_rate": self.error_rate, "drop_rate": self.drop_rate,
                 "slow_rate": self.slow_rate}
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} {rate} must be between 0 and 1")
        if sum(rates.values()) > 1.0:
            raise ValueError("error_rate + drop_rate + slow_rate must not exceed 1")
        if self.latency_ms < 0 or self.slow_ms < 0:
            raise ValueError("latency_ms and slow_ms must not be negative")
        for action, cap in self.qps.items():
            if cap <= 0:
                raise ValueError(f"qps for {action} must be more than 0")

    def cap(self, action: str) -> float | None:
        return self.qps.get(action, self.qps.get(EVERY_ACTION))


class Fate(Enum):
    ANSWER = "answer"
    INTERNAL_ERROR = "500"
    UNAVAILABLE = "503"
    DROP_BEFORE = "drop-before"
    DROP_AFTER = "drop-after"
    SLOW = "slow"


class FaultInjector:
    """The running state behind `Faults`: the random stream and each action's recent requests."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._clock = clock
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._admitted: dict[str, deque[float]] = {}

    def admit(self, action: str) -> bool:
        """Whether this request fits under the action's cap over the last second."""
        cap = self.faults.cap(action)
        if cap is None:
            return True
        with self._lock:
            now = self._clock()
            recent = self._admitted.setdefault(action, deque())
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= cap:
                return False
            recent.append(now)
            return True

    def fate(self) -> Fate:
        faults = self.faults
        with self._lock:
            draw, half = self._rng.random(), self._rng.random() < 0.5
        if draw < faults.error_rate:
            return Fate.INTERNAL_ERROR if half else Fate.UNAVAILABLE
        draw -= faults.error_rate
        if draw < faults.drop_rate:
            return Fate.DROP_BEFORE if half else Fate.DROP_AFTER
        draw -= faults.drop_rate
        if draw < faults.slow_rate:
            return Fate.SLOW
        return Fate.ANSWER
