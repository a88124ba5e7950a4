"""Helpers the tests share: real sample events, and JSON log lines read back from the Logger."""

from __future__ import annotations

import io
import itertools
import json
import threading
import time
from pathlib import Path
from typing import Any

from snapshot_purge.logs import make_logger

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_FIXTURES = ROOT.parent / "shared" / "fixtures" / "events"

_logger_ids = itertools.count()


def platform_fixture(name: str) -> dict[str, Any]:
    """A real event published by the platform's tooling (shared/fixtures, next to the repo)."""
    path = PLATFORM_FIXTURES / name
    if not path.exists():
        raise FileNotFoundError(f"{path}: the shared fixtures must sit beside the repository")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


class LogCapture:
    """A Powertools Logger writing to memory; `lines()` parses what it wrote.

    Each capture gets its own service name: Powertools configures a logger once per name.
    """

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.logger = make_logger(f"test-{next(_logger_ids)}", self.stream)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def files(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["message"] == "snapshot_file"]

    def summaries(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["message"] == "purge_summary"]


class Harness:
    """The handler wired to a running emulator, with its logs captured.

    `wall_clock` is fixed, so what is due is known exactly; retries do not sleep.
    """

    def __init__(self, emulator: Any, now_ms: int) -> None:
        from devtools.fc_context import FcContext, FcCredentials

        self.emulator = emulator
        self.now_ms = now_ms
        self.logs = LogCapture()
        credentials = emulator.credentials
        self.context = FcContext(
            credentials=FcCredentials(
                credentials.access_key_id, credentials.access_key_secret,
                credentials.security_token,
            )
        )
        self.env: dict[str, str] = {"ICE_ENDPOINT": emulator.endpoint, "ICE_MAX_QPS": "500"}

    def invoke(self, event: Any, *, context: Any = None, monotonic: Any = None, **env: str
               ) -> dict[str, Any]:
        from snapshot_purge.app import handle

        return handle(
            event,
            self.context if context is None else context,
            logger=self.logs.logger,
            env={**self.env, **env},
            wall_clock=lambda: self.now_ms / 1000,
            monotonic=monotonic or time.monotonic,
            retry_sleep=lambda seconds: None,
        )

    def records(self) -> set[tuple[str, int]]:
        return {(r.job_id, r.create_timestamp) for r in self.emulator.store.records()}

    def objects(self) -> set[str]:
        return set(self.emulator.store.object_keys())


class TickingClock:
    """A monotonic clock that moves `tick` seconds each time it is read: a run's deadline then
    falls after a fixed number of calls, however fast the machine is."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.tick
            return self.now
