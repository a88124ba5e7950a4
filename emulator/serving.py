"""A local endpoint's HTTP server: threaded, on one port, quick to start and stop, and closing its
clients' kept-alive connections when it stops (else they would go on being served)."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How often the serving thread looks for a stop request: stop() waits up to this long (the
# default, 0.5 s, made every stop cost half a second).
STOP_POLL_S = 0.02


class _TrackingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 owner: Any) -> None:
        super().__init__(address, handler)
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class LocalServer:
    """`handler` reaches the endpoint it serves as `self.server.owner`."""

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler], owner: Any,
                 *, name: str) -> None:
        self._server = _TrackingServer((host, port), handler, owner)
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
            name=self._name, daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close the port and the open connections; safe before start and twice."""
        if self._thread is not None:
            # shutdown() waits for serve_forever() to return: forever, if that never ran.
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._server.connections_lock:
            connections = list(self._server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no access log (the endpoint's output is its user's), and
    Nagle off: headers and body go out in two writes, and with Nagle on the body waits for the
    client's delayed ACK, about 40 ms on every call."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""
