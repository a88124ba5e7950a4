"""HTTP for the FC endpoint: a threaded server that hands every request to the API, and that
closes its clients' kept-alive connections when it stops (else they would go on being served)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from emulator.fc.api import Reply

Answer = Callable[[str, str, Mapping[str, str], bytes], Reply]
# How often serve_forever() looks for a stop request (its default, 0.5 s, slows every stop).
STOP_POLL_S = 0.02


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], answer: Answer) -> None:
        super().__init__(address, _Handler)
        self.answer = answer
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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "fc-emulator"
    # Headers and body go out in two writes: with Nagle on, the body waits for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the endpoint's output is its user's."""

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.answer(self.command, self.path, headers, body)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client stopped waiting (a sync invocation longer than its read timeout).
            self.close_connection = True

    do_GET = do_POST = _serve


class ApiServer:
    def __init__(self, answer: Answer, host: str, port: int) -> None:
        self._server = _Server((host, port), answer)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
            name="fc-endpoint", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the port and open connections; safe before start and twice."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._server.connections_lock:
            connections = list(self._server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
