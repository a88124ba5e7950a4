"""The emulator: the ICE RPC protocol as the SDKs speak it, over the store, with faults, denials,
live snapshots and OSS event notifications.

A request is `GET` or `POST /` with its parameters in the query and/or a form-encoded body,
signed with signature V3 (`x-acs-*` headers) or the older RPC signature (`Signature` and
friends as parameters). The answer is JSON with a `RequestId`, or an error body with `Code`,
`Message`, `RequestId`, `HostId` and `Recommend` and the HTTP status the real service uses.
Requests pass, in order: added latency, the signature check, the version, the per-action QPS cap,
the denials, the drawn fault, the action.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import parse_qsl, urlsplit

from emulator import admin
from emulator.api import VERSION, IceService, ServiceError
from emulator.delivery import Deliveries, Trigger
from emulator.denials import Denial, refusal
from emulator.faults import Fate, FaultInjector, Faults
from emulator.http_front import DROPPED, HttpFront, RawRequest, Reply
from emulator.live import LiveSnapshots
from emulator.oss_events import REMOVED_BY_HAND, REMOVED_BY_ICE, ObjectEvent
from emulator.signing import AccessKey, AuthError, SignedRequest, Verifier
from emulator.signing_v3 import load_public_key
from emulator.store import Store

__all__ = ["LOOPBACK", "Emulator", "RawRequest", "Reply"]

LOOPBACK = "127.0.0.1"
RECENT_REQUESTS = 64
EVENTS_KEPT = 10_000
FORM = "application/x-www-form-urlencoded"

SERVER_ERRORS = {
    Fate.INTERNAL_ERROR: ServiceError(
        500, "InternalError", "The request processing has failed due to some unknown error."
    ),
    Fate.UNAVAILABLE: ServiceError(
        503, "ServiceUnavailable",
        "The request has failed due to a temporary failure of the server.",
    ),
}
THROTTLED = ServiceError(400, "Throttling.User", "Request was denied due to user flow control.")


def error_body(error: AuthError | ServiceError, request_id: str, host: str) -> dict[str, str]:
    """An error answer with every field a real one carries."""
    return {
        "RequestId": request_id,
        "HostId": host,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=ICE"
                     f"&requestId={request_id}",
    }


class Emulator:
    """A local ICE endpoint. Use as a context manager, or `start()` / `stop()`.

    - `credentials`: the one identity accepted (fresh random keys by default; an STS-style key
      with a token when `sts=True`); `rsa_public_key`: PEM of the key that verifies
      `ACS3-RSA-SHA256` signatures.
    - `clock`: the service's now (epoch seconds): creation times, default windows, live
      snapshots; `fault_clock`: the monotonic time QPS windows are counted in; `auth_clock`:
      the time request dates are checked against (real time: the clients sign with it).
    - `denials`: 403 answers switched on; `triggers`: where OSS events go.
    - `live`: take snapshots for started jobs on a thread; without it `live.tick()` takes them.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        faults: Faults | None = None,
        denials: Sequence[Denial] = (),
        credentials: AccessKey | None = None,
        sts: bool = False,
        rsa_public_key: str | None = None,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        fault_clock: Callable[[], float] = time.monotonic,
        auth_clock: Callable[[], float] = time.time,
        triggers: Sequence[Trigger] = (),
        live: bool = False,
    ) -> None:
        self.store = store or Store()
        self.clock = clock
        self.service = IceService(self.store, clock, self._removed_by_ice)
        self._verifier = Verifier(credentials or AccessKey.generate(sts=sts),
                                  load_public_key(rsa_public_key) if rsa_public_key else None,
                                  auth_clock)
        self._fault_clock = fault_clock
        self._injector = FaultInjector(faults or Faults(), fault_clock)
        self.denials = tuple(denials)
        self.deliveries = Deliveries(triggers)
        self.live = LiveSnapshots(self.store, clock, self._publish)
        self._live_thread = live
        self._counts: Counter[tuple[str, str]] = Counter()
        self.recent: deque[RawRequest] = deque(maxlen=RECENT_REQUESTS)
        self.events: deque[ObjectEvent] = deque(maxlen=EVENTS_KEPT)
        self._events_lock = threading.Lock()
        self._front = HttpFront(host, port, self.handle,
                                lambda method, target, body: admin.answer(self, method, target,
                                                                          body))

    @property
    def endpoint(self) -> str:
        return self._front.endpoint

    @property
    def credentials(self) -> AccessKey:
        return self._verifier.key

    def rotate_security_token(self) -> AccessKey:
        """A new STS token; the previous one is answered as expired from now on."""
        return self._verifier.rotate_token()

    @property
    def faults(self) -> Faults:
        return self._injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._injector = FaultInjector(faults, self._fault_clock)

    def start(self) -> Emulator:
        self.deliveries.start()
        if self._live_thread:
            self.live.start()
        self._front.start()
        return self

    def stop(self) -> None:
        """Stop serving (closing the port and open connections), taking snapshots and
        delivering; safe before `start()` and twice."""
        self._front.stop()
        self.live.stop()
        self.deliveries.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- OSS objects and their events -------------------------------------------------------

    def _publish(self, events: Iterable[ObjectEvent]) -> None:
        batch = list(events)
        with self._events_lock:
            self.events.extend(batch)
        self.deliveries.publish(batch)

    def _removed_by_ice(self, objects: Sequence[tuple[str, str]]) -> None:
        now = int(self.clock() * 1000)
        self._publish(ObjectEvent(REMOVED_BY_ICE, bucket, key, now) for bucket, key in objects)

    def delete_by_hand(self, bucket: str, keys: Iterable[str]) -> list[str]:
        """Delete OSS objects as a person would in the console: records stay, and OSS notifies
        of each removal. The keys that were there."""
        removed = self.store.delete_objects(bucket, keys)
        now = int(self.clock() * 1000)
        self._publish(ObjectEvent(REMOVED_BY_HAND, bucket, key, now) for key in removed)
        return removed

    # --- Counting ---------------------------------------------------------------------------

    def count(self, action: str, code: str | None = None) -> int:
        """Requests of `action` received (answered with `code`: "OK", an error code, or
        ConnectionDropped)."""
        with self._events_lock:
            return sum(
                n for (seen, answer), n in self._counts.items()
                if seen == action and (code is None or answer == code)
            )

    def calls(self) -> dict[str, dict[str, int]]:
        with self._events_lock:
            table: dict[str, dict[str, int]] = {}
            for (action, code), n in sorted(self._counts.items()):
                table.setdefault(action, {})[code] = n
            return table

    def _counted(self, action: str, code: str) -> None:
        with self._events_lock:
            self._counts[(action, code)] += 1

    # --- Requests ---------------------------------------------------------------------------

    def handle(self, request: RawRequest) -> Reply:
        """What the service answers to one request (taking the added latency first)."""
        target = urlsplit(request.target)
        headers = {name.lower(): value for name, value in request.headers}
        self.recent.append(request)
        query = parse_qsl(target.query, keep_blank_values=True)
        form = (parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
                if headers.get("content-type", "").startswith(FORM) else [])
        signed = SignedRequest(request.method, target.path, query, headers, request.body, form)
        params = dict(query) | dict(form)
        if signed.is_rpc_signed:
            action, version = params.get("Action", ""), params.get("Version")
        else:
            action, version = headers.get("x-acs-action", ""), headers.get("x-acs-version")
        request_id = str(uuid.uuid4()).upper()
        injector = self._injector
        if injector.faults.latency_ms:
            time.sleep(injector.faults.latency_ms / 1000)
        try:
            self._verifier.verify(signed)
            if version != VERSION:
                raise ServiceError(400, "InvalidVersion", f"Specified version {version!r} is"
                                                          f" not valid; ICE is {VERSION}.")
            if not injector.admit(action):
                raise THROTTLED
            denied = refusal(self.denials, action, *self.service.scope(params))
            if denied is not None:
                raise denied
            fate = injector.fate()
            if fate in SERVER_ERRORS:
                raise SERVER_ERRORS[fate]
            if fate is Fate.DROP_BEFORE:
                self._counted(action, DROPPED)
                return Reply(None)
            answer = self.service.call(action, params)
        except (AuthError, ServiceError) as error:
            self._counted(action, error.code)
            return Reply(error.status, error_body(error, request_id,
                                                  headers.get("host", self.endpoint)))
        if fate is Fate.DROP_AFTER:
            self._counted(action, DROPPED)
            return Reply(None)
        self._counted(action, "OK")
        hold_s = injector.faults.slow_ms / 1000 if fate is Fate.SLOW else 0.0
        return Reply(200, {"RequestId": request_id, **answer}, hold_s)
