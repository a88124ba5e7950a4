"""The local Function Compute endpoint: functions, their instances and async tasks behind FC 3.0's
invocation API on 127.0.0.1. Use as a context manager, or `start()` / `stop()`."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from emulator.fc.api import FcApi
from emulator.fc.config import FunctionConfig
from emulator.fc.dispatch import Dispatcher
from emulator.fc.httpd import api_server
from emulator.fc.tasks import AsyncTask
from emulator.fc.worker import Identity
from emulator.signing import AccessKey

LOOPBACK = "127.0.0.1"
DEFAULT_ACCOUNT_ID = "1234567890123456"
DEFAULT_REGION = "cn-shanghai"


class FunctionCompute:
    """`credentials` is the identity accepted for signed API calls (fresh STS-style keys by
    default); `role_credentials` are the function role's keys its invocations get, and are
    accepted too, so that a function can invoke functions (default: `credentials`).

    `clock` (seconds) stamps tasks and times retries and event age; signatures are checked
    against the real time, which clients sign with.
    """

    def __init__(
        self,
        *,
        credentials: AccessKey | None = None,
        role_credentials: AccessKey | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        host: str = LOOPBACK,
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials or AccessKey.generate(sts=True)
        self.role_credentials = role_credentials or self.credentials
        self.identity = Identity(account_id, region, self.role_credentials)
        self._dispatcher = Dispatcher(self.identity, clock)
        api = FcApi(self._dispatcher, self.identity, [self.credentials, self.role_credentials])
        self._server = api_server(api.handle, host, port)
        self._log_dir: Path | None = None

    @property
    def endpoint(self) -> str:
        """`127.0.0.1:PORT`, known from construction on (the port is bound then)."""
        return self._server.endpoint

    def add_function(self, config: FunctionConfig) -> None:
        self._dispatcher.add_function(config)

    def start(self) -> FunctionCompute:
        self._log_dir = Path(tempfile.mkdtemp(prefix="fc-emulator-"))
        self._dispatcher.start(self._log_dir)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and end every instance; invocations still running fail."""
        self._server.stop()
        self._dispatcher.stop()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def __enter__(self) -> FunctionCompute:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_idle(self, timeout_s: float = 60.0) -> bool:
        """True once no async task is enqueued, running or waiting for a retry; False if that
        has not happened within `timeout_s`."""
        return self._dispatcher.wait_idle(timeout_s)

    def tasks(self, function: str | None = None) -> list[AsyncTask]:
        """Every async task (of one function), in the order they were submitted."""
        return self._dispatcher.tasks(function)

    def task(self, function: str, task_id: str) -> AsyncTask | None:
        return self._dispatcher.task(function, task_id)

    def instances(self, function: str) -> int:
        """How many instances (worker processes) of the function exist now."""
        return self._dispatcher.instances(function)
