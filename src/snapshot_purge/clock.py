"""Time as an injectable dependency, so tests and the benchmark control it; and the run deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Deadline:
    """When this invocation must be done by, in `clock` seconds; None means no limit.

    `margin_s` is kept free at the end so that a call started just before it still finishes
    (a call takes at most the connect and read timeouts) before Function Compute stops the run.
    """

    expires_at: float | None
    margin_s: float
    clock: Clock = time.monotonic

    @classmethod
    def after(
        cls, seconds: float | None, margin_s: float, clock: Clock = time.monotonic
    ) -> Deadline:
        return cls(None if seconds is None else clock() + seconds, margin_s, clock)

    def may_start(self) -> bool:
        """Whether there is time to start one more call (and see it through)."""
        return self.expires_at is None or self.clock() + self.margin_s < self.expires_at
