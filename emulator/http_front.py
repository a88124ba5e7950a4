"""The HTTP side of the emulator: a threaded server on one port that hands each request to the
emulator (or, under `/_emulator/`, to its unsigned admin pages) and writes the answer, or closes
the connection with none when a fault says so."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator.serving import LocalServer, QuietHandler

DROPPED = "ConnectionDropped"
ADMIN_PREFIX = "/_emulator/"


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
        self._server = LocalServer(host, port, _RequestHandler, self, name="ice-emulator")

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


class _RequestHandler(QuietHandler):
    server_version = "ice-emulator"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        front: HttpFront = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            self._answer(*front.admin(self.command, self.path, body))
            return
        reply = front.handle(
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
