"""Delivering OSS event notifications, as OSS triggers would: to a local URL (an HTTP POST of
the JSON) or to a Function Compute endpoint (an asynchronous `InvokeFunction` through the
official `alibabacloud-fc20230330` SDK).

Deliveries run on a thread of their own, in the order the events happened, so that the emulator
answers its API calls without waiting for a function. Each is counted; `flush()` waits until
everything published so far has been tried.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.oss_events import EventFilter, ObjectEvent, Origin, shaped

RESULTS_KEPT = 10_000
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class UrlTarget:
    """An HTTP endpoint that takes the event as a POSTed JSON body."""

    url: str

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class FcTarget:
    """A function behind a Function Compute 3.0 endpoint (`host:port`), invoked asynchronously."""

    endpoint: str
    function_name: str
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    protocol: str = "http"

    def __str__(self) -> str:
        return f"fc://{self.endpoint}/{self.function_name}"


@dataclass(frozen=True)
class Trigger:
    """Where events go, in which shape (`oss` or `eventbridge`), and which events."""

    target: UrlTarget | FcTarget
    shape: str = "oss"
    filter: EventFilter = field(default_factory=EventFilter)
    origin: Origin = field(default_factory=Origin)


@dataclass(frozen=True)
class Delivery:
    """One try: the event, where it went, and how it ended (`detail` says why it failed)."""

    target: str
    event_name: str
    key: str
    delivered: bool
    detail: str = ""


def _post(target: UrlTarget, payload: bytes) -> None:
    request = urllib.request.Request(target.url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
        answer.read()


class _FcInvoker:
    """One SDK client per target, made on first use (the SDK loads in about half a second)."""

    def __init__(self) -> None:
        self._clients: dict[FcTarget, Any] = {}

    def invoke(self, target: FcTarget, payload: bytes) -> None:
        from alibabacloud_fc20230330 import models as fc
        from darabonba.runtime import RuntimeOptions

        client = self._clients.get(target) or self._client(target)
        client.invoke_function_with_options(
            target.function_name, fc.InvokeFunctionRequest(body=payload),
            fc.InvokeFunctionHeaders(x_fc_invocation_type="Async"), RuntimeOptions(),
        )

    def _client(self, target: FcTarget) -> Any:
        from alibabacloud_fc20230330.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        client = Client(Config(
            endpoint=target.endpoint, protocol=target.protocol, region_id="cn-shanghai",
            access_key_id=target.access_key_id, access_key_secret=target.access_key_secret,
            security_token=target.security_token, connect_timeout=5000,
            read_timeout=int(TIMEOUT_S * 1000),
        ))
        self._clients[target] = client
        return client


class Deliveries:
    def __init__(self, triggers: Sequence[Trigger] = ()) -> None:
        self.triggers = tuple(triggers)
        self._queue: deque[tuple[Trigger, ObjectEvent]] = deque()
        self._results: deque[Delivery] = deque(maxlen=RESULTS_KEPT)
        self._counts = {"delivered": 0, "failed": 0}
        self._busy = 0
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._fc = _FcInvoker()

    def publish(self, events: Iterable[ObjectEvent]) -> None:
        """Queue each event for every trigger whose filter it passes."""
        with self._changed:
            for event in events:
                self._queue.extend((trigger, event) for trigger in self.triggers
                                   if trigger.filter.matches(event))
            self._changed.notify_all()

    def start(self) -> None:
        if self.triggers and self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="ice-emulator-events",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every event published so far was tried; False if `timeout_s` ran out."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout_s)

    def counts(self) -> dict[str, int]:
        with self._changed:
            return {**self._counts, "pending": len(self._queue) + self._busy}

    def results(self) -> list[Delivery]:
        with self._changed:
            return list(self._results)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                trigger, event = self._queue.popleft()
                self._busy = 1
            result = self._deliver(trigger, event)
            with self._changed:
                self._results.append(result)
                self._counts["delivered" if result.delivered else "failed"] += 1
                self._busy = 0
                self._changed.notify_all()

    def _deliver(self, trigger: Trigger, event: ObjectEvent) -> Delivery:
        payload = json.dumps(shaped(event, trigger.shape, trigger.origin)).encode()
        target = trigger.target
        try:
            if isinstance(target, FcTarget):
                self._fc.invoke(target, payload)
            else:
                _post(target, payload)
        except Exception as error:  # whatever went wrong is this delivery's outcome
            return Delivery(str(target), event.event_name, event.key, False,
                            f"{type(error).__name__}: {error}")
        return Delivery(str(target), event.event_name, event.key, True)
