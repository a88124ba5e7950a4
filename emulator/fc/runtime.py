"""The runtime inside one worker process, i.e. one Function Compute instance.

Run as a script (`python runtime.py`) by the worker, with the standard library only, so that the
function's `sys.path` holds its code and nothing of the emulator. Protocol, one JSON object a line:
stdin brings the setup (handler, code paths, the context's fixed parts), then invocations, one at
a time (`request_id`, base64 `payload`, `log_path`); each answer goes back on stdout. While the
handler runs, file descriptors 1 and 2 point at the invocation's log file, so everything it
prints, by any means, is its log.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class Credentials:
    def __init__(self, access_key_id: str, access_key_secret: str,
                 security_token: str | None) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token


class FunctionMeta:
    def __init__(self, name: str, handler: str, memory: int, timeout: float) -> None:
        self.name = name
        self.handler = handler
        self.memory = memory
        self.timeout = timeout


class Context:
    """What FC hands the handler; `credentials` is None on the python3.12 runtime."""

    def __init__(self, request_id: str, setup: dict[str, Any]) -> None:
        self.request_id = request_id
        keys = setup["credentials"]
        self.credentials = None if keys is None else Credentials(**keys)
        self.function = FunctionMeta(**setup["function"])
        self.region: str = setup["region"]
        self.account_id: str = setup["account_id"]


@contextmanager
def output_to(path: str) -> Iterator[None]:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = (os.dup(1), os.dup(2))
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for kept in saved:
            os.close(kept)


def load_handler(spec: str) -> Callable[[bytes, Context], Any]:
    module_name, _, function_name = spec.rpartition(".")
    handler: Callable[[bytes, Context], Any] = getattr(
        importlib.import_module(module_name), function_name
    )
    return handler


def encode_result(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


def failure(error: Exception) -> dict[str, Any]:
    """The answer for an exception, printed to the log first as FC's runtime does; the
    runtime's own frames are left out of both."""
    trace = error.__traceback__
    while trace is not None and trace.tb_frame.f_code.co_filename == __file__:
        trace = trace.tb_next
    traceback.print_exception(type(error), error, trace)
    return {
        "ok": False,
        "error_type": type(error).__name__,
        "error_message": str(error),
        "stack_trace": [[f'File "{frame.filename}"', f"line {frame.lineno}", f"in {frame.name}",
                         frame.line or ""] for frame in traceback.extract_tb(trace)],
    }


class Instance:
    """Imports the handler once, on the first invocation (as FC does), then keeps it warm."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        self.handler: Callable[[bytes, Context], Any] | None = None

    def invoke(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            if self.handler is None:
                self.handler = load_handler(self.setup["handler"])
            result = self.handler(base64.b64decode(request["payload"]),
                                  Context(request["request_id"], self.setup))
            body = encode_result(result)
        except Exception as error:
            return failure(error)
        return {"ok": True, "body": base64.b64encode(body).decode()}


def serve(instance: Instance, requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        request = json.loads(line)
        with output_to(request["log_path"]):
            answer = instance.invoke(request)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    # The protocol keeps the process's own stdin and stdout; the handler gets /dev/null in
    # their place (and its log file as stdout while it runs), so it cannot upset the protocol.
    requests = os.fdopen(os.dup(0), encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 0)
    os.dup2(quiet, 1)
    os.close(quiet)
    setup = json.loads(requests.readline())
    # sys.path[0] is this file's directory: the function's code takes its place.
    sys.path[0:1] = setup["code_paths"]
    serve(Instance(setup), requests, answers)


if __name__ == "__main__":
    main()
