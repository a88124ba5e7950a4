"""Live mode: started jobs take a snapshot every `TimeInterval` seconds of the emulator's clock,
as ICE does while a stream is live. Each snapshot writes its OSS object and ICE record,
overwrites the overlay object (moving its record), and tells the listener which objects were
written, for OSS event notifications.

The clock is injectable: real time, `ScaledClock(factor)` for time that runs faster, or a fake
one in tests, which call `tick()` themselves instead of starting the thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from emulator.oss_events import CREATED, ObjectEvent
from emulator.seed import render_key
from emulator.store import Job, Store

# How often the thread looks for due snapshots, in real seconds.
POLL_S = 0.05


class ScaledClock:
    """Epoch seconds that run `factor` times as fast as real time, from `origin_s` (now by
    default). With a factor above 1 the emulator's time runs ahead of every other clock."""

    def __init__(self, factor: float = 1.0, origin_s: float | None = None) -> None:
        if factor <= 0:
            raise ValueError(f"clock factor {factor} must be more than 0")
        self.factor = factor
        self._origin = time.time() if origin_s is None else origin_s
        self._started = time.monotonic()

    def __call__(self) -> float:
        return self._origin + (time.monotonic() - self._started) * self.factor


class LiveSnapshots:
    """`written` hears of every object a snapshot wrote."""

    def __init__(self, store: Store, clock: Callable[[], float],
                 written: Callable[[Iterable[ObjectEvent]], None]) -> None:
        self._store = store
        self._clock = clock
        self._written = written
        self._since_ms = int(clock() * 1000)
        # job id -> (the job's last_modified_ms when scheduled, when its next snapshot is due)
        self._due: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Take every snapshot due by now, oldest first; how many were taken."""
        now = int(self._clock() * 1000)
        taken = 0
        with self._lock:
            for job in self._store.jobs():
                if job.status == "started":
                    taken += self._catch_up(job, now)
                else:
                    self._due.pop(job.job_id, None)
        return taken

    def _catch_up(self, job: Job, now: int) -> int:
        """A job is scheduled when first seen started, and again after a restart: one interval
        after the later of its newest file, its (re)start and the start of live mode."""
        step = job.time_interval * 1000
        modified, due = self._due.get(job.job_id, (-1, 0))
        if modified != job.last_modified_ms:
            newest = max((r.create_timestamp for r in self._store.records_between(
                job.job_id, 0, 2**62, 1, descending=True)), default=0)
            due = max(newest, job.last_modified_ms, self._since_ms) + step
        taken = 0
        while due <= now:
            self._snapshot(job, due, job.snapshots_taken + taken)
            taken += 1
            due += step
        self._due[job.job_id] = (job.last_modified_ms, due)
        return taken

    def _snapshot(self, job: Job, stamp: int, sequence: int) -> None:
        sequence_key = (render_key(job.sequence_format, job.job_id, stamp, sequence)
                        if job.sequence_format else None)
        overlay_key = (render_key(job.overwrite_format, job.job_id, stamp, sequence)
                       if job.overwrite_format else None)
        self._store.add_snapshot(job, stamp, sequence_key, overlay_key)
        self._written(ObjectEvent(CREATED, job.bucket, key, stamp)
                      for key in (sequence_key, overlay_key) if key is not None)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ice-emulator-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.tick()
