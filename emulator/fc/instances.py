"""The instances of one function: at most `instances` workers, each busy with one invocation or
idle and warm. Not thread-safe: the dispatcher holds its lock around every call."""

from __future__ import annotations

from collections.abc import Callable

from emulator.fc.config import FunctionConfig
from emulator.fc.worker import Worker


class InstancePool:
    def __init__(self, config: FunctionConfig, new_worker: Callable[[FunctionConfig], Worker]
                 ) -> None:
        self.config = config
        self._new_worker = new_worker
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()

    @property
    def has_capacity(self) -> bool:
        return len(self._busy) < self.config.instances

    @property
    def started(self) -> int:
        """Instances that exist now, busy or idle."""
        return len(self._idle) + len(self._busy)

    def acquire(self) -> Worker | None:
        """A warm idle instance, else a new one, or None when all `instances` are busy."""
        if not self.has_capacity:
            return None
        worker = self._idle.pop() if self._idle else self._new_worker(self.config)
        self._busy.add(worker)
        return worker

    def release(self, worker: Worker) -> None:
        self._busy.discard(worker)
        if not worker.broken:
            self._idle.append(worker)

    def drain(self) -> list[Worker]:
        """Every instance, taken out of the pool to be stopped."""
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        self._busy.clear()
        return workers
