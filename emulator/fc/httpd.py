"""HTTP for the FC endpoint: every request goes to the API, answered with its status, headers
and raw body."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from emulator.fc.api import Reply
from emulator.serving import LocalServer, QuietHandler

Answer = Callable[[str, str, Mapping[str, str], bytes], Reply]


class _Handler(QuietHandler):
    server_version = "fc-emulator"

    def _serve(self) -> None:
        answer: Answer = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = answer(self.command, self.path, headers, body)
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


def api_server(answer: Answer, host: str, port: int) -> LocalServer:
    return LocalServer(host, port, _Handler, answer, name="fc-endpoint")
