"""A one-line progress display on a terminal: files done, rate, throttled answers.

Quiet when stderr is not a terminal, so logs and CI output stay clean.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import TextIO

from snapshot_purge.model import Result

REFRESH_S = 0.2


class TerminalProgress:
    def __init__(self, *, due: int | None = None, stream: TextIO = sys.stderr) -> None:
        self._due = due
        self._stream = stream
        self._started = time.monotonic()
        self._shown_at = 0.0
        self._lock = threading.Lock()
        self.enabled = stream.isatty()

    def __call__(self, counts: Counter[Result], throttled: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._shown_at < REFRESH_S:
                return
            self._shown_at = now
        self._show(counts, throttled, now)

    def finish(self, counts: Counter[Result], throttled: int) -> None:
        if self.enabled:
            self._show(counts, throttled, time.monotonic())
            self._stream.write("\n")

    def _show(self, counts: Counter[Result], throttled: int, now: float) -> None:
        done = sum(counts.values())
        rate = done / max(now - self._started, 1e-6)
        of_due = f" of {self._due}" if self._due is not None else ""
        parts = " ".join(f"{result.value}={counts[result]}" for result in Result if counts[result])
        self._stream.write(
            f"\r{done}{of_due} files  {rate:,.0f}/s  throttled={throttled}  {parts}\x1b[K"
        )
        self._stream.flush()
