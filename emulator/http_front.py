"""The HTTP side of the emulator: a threaded server on one port that hands each request to the
emulator (or, under `/_emulator/`, to its unsigned admin pages) and writes the answer, or closes
the connection with none when a fault says so."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

DROPPED = "ConnectionDropped"
ADMIN_PREFIX = "/_emulator/"
# How often the serving thread looks for a stop request: stop() waits up to this long (the
# default, 0.5 s, made every emulator's stop cost half a second).
STOP_POLL_S = 0.02


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


Handle = Callable[[RawRequest], Reply]
Admin = Callable[[str, str, bytes], "tuple[int, dict[str, Any]]"]


class HttpFront:
    def __init__(self, host: str, port: int, handle: Handle, admin: Admin) -> None:
        self.handle = handle
        self.admin = admin
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
            name="ice-emulator", daemon=True,
        )
        self._thread.start()

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

    def opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


def _handler_for(front: HttpFront) -> type[BaseHTTPRequestHandler]:
    class Handler(_RequestHandler):
        pass

    Handler.front = front
    return Handler


class _RequestHandler(BaseHTTPRequestHandler):
    front: HttpFront
    protocol_version = "HTTP/1.1"
    server_version = "ice-emulator"
    # The status line and headers go out in one write and the body in another: with Nagle's
    # algorithm on, the body then waits for the client's delayed ACK, ~40 ms on every call.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.front.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.front.closed(self.connection)

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
            self._answer(*self.front.admin(self.command, self.path, body))
            return
        reply = self.front.handle(
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
