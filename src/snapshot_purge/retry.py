"""When and how long to wait before trying a call again: capped exponential backoff, full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

THROTTLING_CODES_PREFIX = "Throttling"
RETRYABLE_CODES = frozenset({"ServiceUnavailable", "InternalError", "RequestTimeout"})


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_s: float = 0.2
    cap_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        wait = self.rng.uniform(0, ceiling)
        return max(wait, retry_after_s or 0.0)


def is_throttling(code: str) -> bool:
    return code.startswith(THROTTLING_CODES_PREFIX)


def is_retryable(code: str, status: int | None) -> bool:
    """Throttling and server-side failures; never another 4xx (retrying cannot fix those)."""
    return is_throttling(code) or code in RETRYABLE_CODES or (status is not None and status >= 500)
