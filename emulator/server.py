"""The emulator's HTTP front: the ICE RPC protocol as the official SDK speaks it.

A request is `GET` or `POST /?Param=...` with `x-acs-action` / `x-acs-version` headers and an
`ACS3-HMAC-SHA256` signature; the answer is JSON with a `RequestId`, or an error body with
`Code` / `Message` / `RequestId` and the HTTP status the real service uses. Requests pass, in
order: added latency, the signature check, the per-action QPS cap, the drawn fault, the action.

Also served, unsigned, for development tools: `GET /_emulator/state` and `GET /_emulator/calls`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulator.api import VERSION, IceService, ServiceError
from emulator.faults import Fate, FaultInjector, Faults
from emulator.signing import AccessKey, AuthError, SignedRequest, Verifier
from emulator.store import Store

LOOPBACK = "127.0.0.1"
DROPPED = "ConnectionDropped"
ADMIN_PREFIX = "/_emulator/"
RECENT_REQUESTS = 64
# How often the serving thread looks for a stop request: stop() waits up to this long (the
# default, 0.5 s, made every emulator's stop cost half a second).
STOP_POLL_S = 0.02

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


@dataclass(frozen=True)
class RawRequest:
    """A request as it arrived, to replay or tamper with in tests."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """An answer: `status` None means the connection is closed with no answer; `hold_s` is how
    long the answer is held back first."""

    status: int | None
    body: dict[str, Any] = field(default_factory=dict)
    hold_s: float = 0.0


class Emulator:
    """A local ICE endpoint. Use as a context manager, or `start()` / `stop()`.

    `credentials` is the one identity accepted (fresh random keys by default; an STS-style key
    with a token when `sts=True`). `clock` is the service's now, for default time windows;
    `fault_clock` the monotonic time that QPS windows are counted in (tests pass a fake one).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        faults: Faults | None = None,
        credentials: AccessKey | None = None,
        sts: bool = False,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        fault_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store or Store()
        self.service = IceService(self.store, clock)
        self._verifier = Verifier(credentials or AccessKey.generate(sts=sts))
        self._fault_clock = fault_clock
        self._injector = FaultInjector(faults or Faults(), fault_clock)
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.recent: deque[RawRequest] = deque(maxlen=RECENT_REQUESTS)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

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

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> Emulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
            name="ice-emulator", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the port and the clients' open (keep-alive) connections.

        Safe before `start()` and when called twice.
        """
        if self._thread is not None:
            # shutdown() waits for serve_forever() to return: it would wait forever if that
            # never ran.
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        # Closing the listening socket leaves established connections to their threads, which
        # would go on answering a client that keeps its connection alive.
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def count(self, action: str, code: str | None = None) -> int:
        """Requests of `action` received (answered with `code`: "OK", an error code, or
        ConnectionDropped)."""
        with self._lock:
            return sum(
                n for (seen, answer), n in self._counts.items()
                if seen == action and (code is None or answer == code)
            )

    def calls(self) -> dict[str, dict[str, int]]:
        with self._lock:
            table: dict[str, dict[str, int]] = {}
            for (action, code), n in sorted(self._counts.items()):
                table.setdefault(action, {})[code] = n
            return table

    def _counted(self, action: str, code: str) -> None:
        with self._lock:
            self._counts[(action, code)] += 1

    def admin(self, path: str) -> dict[str, Any] | None:
        if path == ADMIN_PREFIX + "state":
            return asdict(self.store.state())
        if path == ADMIN_PREFIX + "calls":
            return {"calls": self.calls()}
        return None

    def handle(self, request: RawRequest) -> Reply:
        """What the service answers to one request (taking the added latency first)."""
        target = urlsplit(request.target)
        headers = {name.lower(): value for name, value in request.headers}
        self.recent.append(request)
        action = headers.get("x-acs-action", "")
        request_id = str(uuid.uuid4()).upper()
        injector = self._injector
        if injector.faults.latency_ms:
            time.sleep(injector.faults.latency_ms / 1000)
        query = parse_qsl(target.query, keep_blank_values=True)
        try:
            self._verifier.verify(
                SignedRequest(request.method, target.path, query, headers, request.body)
            )
            if headers.get("x-acs-version") != VERSION:
                raise ServiceError(400, "InvalidVersion",
                                   f"Specified version {headers.get('x-acs-version')!r} is not"
                                   f" valid; ICE is {VERSION}.")
            if not injector.admit(action):
                raise THROTTLED
            fate = injector.fate()
            if fate in SERVER_ERRORS:
                raise SERVER_ERRORS[fate]
            if fate is Fate.DROP_BEFORE:
                self._counted(action, DROPPED)
                return Reply(None)
            answer = self.service.call(action, dict(query))
        except (AuthError, ServiceError) as error:
            self._counted(action, error.code)
            return Reply(error.status, {"Code": error.code, "Message": error.message,
                                        "RequestId": request_id})
        if fate is Fate.DROP_AFTER:
            self._counted(action, DROPPED)
            return Reply(None)
        self._counted(action, "OK")
        hold_s = injector.faults.slow_ms / 1000 if fate is Fate.SLOW else 0.0
        return Reply(200, {"RequestId": request_id, **answer}, hold_s)


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(_IceRequestHandler):
        pass

    Handler.emulator = emulator
    return Handler


class _IceRequestHandler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"
    server_version = "ice-emulator"
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm on, the body then waits for the client's delayed ACK, ~40 ms on every call.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.emulator._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator._closed(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator's output is the caller's."""

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            state = self.emulator.admin(path)
            if state is None:
                self._answer(404, {"Code": "NotFound", "Message": f"nothing at {path}"})
            else:
                self._answer(200, state)
            return
        reply = self.emulator.handle(
            RawRequest(self.command, self.path, tuple(self.headers.items()), body)
        )
        if reply.status is None:
            self._drop()
            return
        if reply.hold_s:
            time.sleep(reply.hold_s)
        self._answer(reply.status, reply.body)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            if "RequestId" in body:
                self.send_header("x-acs-request-id", body["RequestId"])
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a slow answer past its read timeout).
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
