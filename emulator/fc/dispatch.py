"""Who runs what, where: async tasks start on a free instance of their function as soon as they
are ready (queued in order, retries when due); sync invocations take a free instance at once.

One lock (the condition) guards the task book and the pools. Each attempt runs on its own thread,
which blocks on its worker; the dispatcher thread only hands out work and sleeps until a task is
submitted, an attempt ends or a retry falls due.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from emulator.fc.config import FunctionConfig
from emulator.fc.instances import InstancePool
from emulator.fc.tasks import AsyncTask, Outcome, TaskBook
from emulator.fc.worker import Identity, Worker


class NoFreeInstance(Exception):
    def __init__(self, config: FunctionConfig) -> None:
        super().__init__(f"all {config.instances} instance(s) of function {config.name!r} are"
                         " busy")


class Dispatcher:
    def __init__(self, identity: Identity, clock: Callable[[], float]) -> None:
        self._identity = identity
        self._clock = clock
        self._book = TaskBook()
        self._changed = threading.Condition()
        self._pools: dict[str, InstancePool] = {}
        self._log_dir: Path | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add_function(self, config: FunctionConfig) -> None:
        with self._changed:
            if config.name in self._pools:
                raise ValueError(f"function {config.name!r} is already added")
            self._pools[config.name] = InstancePool(config, self._new_worker)
            self._changed.notify_all()

    def config(self, function: str) -> FunctionConfig | None:
        with self._changed:
            pool = self._pools.get(function)
            return None if pool is None else pool.config

    def instances(self, function: str) -> int:
        """How many instances of the function exist now (busy or idle)."""
        with self._changed:
            return self._pools[function].started

    def submit(self, function: str, task_id: str, payload: bytes, request_id: str) -> AsyncTask:
        """Queue an async invocation; raises DuplicateTask for a task id the function has."""
        with self._changed:
            task = self._book.submit(function, task_id, payload, request_id, self._clock())
            self._changed.notify_all()
            return task

    def invoke(self, function: str, request_id: str, payload: bytes) -> Outcome:
        """Run a sync invocation now; NoFreeInstance if every instance is busy."""
        with self._changed:
            pool = self._pools[function]
            worker = pool.acquire()
            if worker is None:
                raise NoFreeInstance(pool.config)
        try:
            return worker.invoke(request_id, payload)
        finally:
            with self._changed:
                pool.release(worker)
                self._changed.notify_all()

    def task(self, function: str, task_id: str) -> AsyncTask | None:
        with self._changed:
            return self._book.get(function, task_id)

    def tasks(self, function: str | None = None) -> list[AsyncTask]:
        with self._changed:
            return self._book.tasks(function)

    def wait_idle(self, timeout_s: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._book.active() == 0, timeout_s)

    def start(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._thread = threading.Thread(target=self._run, name="fc-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop starting work and end every instance; running attempts fail."""
        with self._changed:
            self._stopping = True
            workers = [worker for pool in self._pools.values() for worker in pool.drain()]
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for worker in workers:
            worker.stop()

    def _new_worker(self, config: FunctionConfig) -> Worker:
        if self._log_dir is None:
            raise RuntimeError("start the endpoint before invoking")
        return Worker(config, self._identity, self._log_dir)

    def _run(self) -> None:
        with self._changed:
            while not self._stopping:
                started = self._start_ready()
                # Taking work may also have expired tasks: wake wait_idle() to look.
                self._changed.notify_all()
                if not started:
                    self._changed.wait(self._until_next_ready())

    def _start_ready(self) -> bool:
        now = self._clock()
        started = False
        for pool in self._pools.values():
            while pool.has_capacity:
                task = self._book.take(pool.config, now)
                if task is None:
                    break
                worker = pool.acquire()
                assert worker is not None, "the pool had capacity a moment ago, under this lock"
                threading.Thread(target=self._attempt, args=(pool, worker, task),
                                 name=f"fc-{task.task_id}", daemon=True).start()
                started = True
        return started

    def _until_next_ready(self) -> float | None:
        free = {name for name, pool in self._pools.items() if pool.has_capacity}
        ready_at = self._book.next_ready_at(free)
        return None if ready_at is None else max(0.0, ready_at - self._clock())

    def _attempt(self, pool: InstancePool, worker: Worker, task: AsyncTask) -> None:
        outcome = worker.invoke(task.request_id, task.payload)
        with self._changed:
            pool.release(worker)
            self._book.finish(pool.config, task.task_id, outcome, self._clock())
            self._changed.notify_all()
