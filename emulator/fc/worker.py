"""One Function Compute instance: a long-lived process running `runtime.py`, one invocation at a
time, started on its first invocation.

A handler that raises is a failed invocation on a healthy instance. A process that dies, or an
invocation still running at the function's timeout, is a failed invocation too, and the instance
is gone (killed, in the second case): the pool starts a fresh one when it needs one.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import secrets
import selectors
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from emulator.fc.config import FunctionConfig
from emulator.fc.tasks import FunctionError, Outcome
from emulator.signing import AccessKey

RUNTIME = Path(__file__).with_name("runtime.py")
# Only what a process needs to run at all: FC's environment is the function's, not the host's.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
READ_CHUNK = 1 << 16
# How long a process that closed its pipe may take to exit before it is killed.
EXIT_GRACE_S = 1.0


@dataclass(frozen=True)
class Identity:
    """The account the endpoint plays, and the function role's credentials its instances get."""

    account_id: str
    region: str
    role: AccessKey


class _Gone(Exception):
    """The process ended, or was ended, before it answered."""


class _TimedOut(Exception):
    """The invocation was still running at the function's timeout."""


class Worker:
    def __init__(self, config: FunctionConfig, identity: Identity, log_dir: Path) -> None:
        self.config = config
        self.instance_id = f"c-{secrets.token_hex(8)}"
        self.broken = False
        self._identity = identity
        self._log_dir = log_dir
        self._attempts = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._unread = b""

    def invoke(self, request_id: str, payload: bytes) -> Outcome:
        log_path = self._log_dir / f"{self.instance_id}-{next(self._attempts)}.log"
        log_path.touch()
        body, error = self._run(request_id, payload, log_path)
        log = ""
        # Gone only when the endpoint stopped meanwhile and removed its log directory.
        with contextlib.suppress(FileNotFoundError):
            log = log_path.read_text(errors="replace")
            log_path.unlink()
        return Outcome(body, error, log, self.instance_id)

    def stop(self) -> None:
        """End the process (if any); the worker is not used again."""
        self.broken = True
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    def environment(self) -> dict[str, str]:
        """The function's variables, and those FC sets: its identity and the role's keys."""
        env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        env.update(self.config.environment)
        role = self._identity.role
        env.update({
            "FC_FUNCTION_NAME": self.config.name,
            "FC_REGION": self._identity.region,
            "FC_ACCOUNT_ID": self._identity.account_id,
            "FC_INSTANCE_ID": self.instance_id,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": role.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": role.access_key_secret,
            # The credentials chain would otherwise ask the ECS metadata service, off this host.
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        })
        if role.security_token:
            env["ALIBABA_CLOUD_SECURITY_TOKEN"] = role.security_token
        return env

    def _setup(self) -> dict[str, Any]:
        config, role = self.config, self._identity.role
        timeout = int(config.timeout_s) if config.timeout_s.is_integer() else config.timeout_s
        return {
            "handler": config.handler,
            "code_paths": [str(path) for path in config.code_paths],
            "credentials": {
                "access_key_id": role.access_key_id,
                "access_key_secret": role.access_key_secret,
                "security_token": role.security_token,
            } if config.context_credentials else None,
            "function": {"name": config.name, "handler": config.handler,
                         "memory": config.memory_mb, "timeout": timeout},
            "region": self._identity.region,
            "account_id": self._identity.account_id,
        }

    def _run(self, request_id: str, payload: bytes, log_path: Path
             ) -> tuple[bytes, FunctionError | None]:
        request = {"request_id": request_id, "payload": base64.b64encode(payload).decode(),
                   "log_path": str(log_path)}
        try:
            process = self._started()
            self._send(process, request)
            answer = self._answer(process, time.monotonic() + self.config.timeout_s)
        except _TimedOut:
            self.stop()
            return b"", FunctionError(
                f"Function timed out after {self.config.timeout_s:g} seconds"
            )
        except _Gone:
            code = self._exit_code()
            return b"", FunctionError(
                "Process exited unexpectedly before completing request"
                + ("" if code is None else f" (exit code {code})")
            )
        except OSError as error:
            self.stop()
            return b"", FunctionError(
                f"the instance could not start {self.config.python}: {error}"
            )
        if answer["ok"]:
            return base64.b64decode(answer["body"]), None
        return b"", FunctionError(answer["error_message"], answer["error_type"],
                                  tuple(answer["stack_trace"]))

    def _exit_code(self) -> int | None:
        """The code of a process that closed its end, once it is gone (None if it lingers)."""
        process = self._process
        code = None
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = process.wait(timeout=EXIT_GRACE_S)
        self.stop()
        return code

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            first_path = self.config.code_paths[0] if self.config.code_paths else self._log_dir
            self._process = subprocess.Popen(
                [self.config.python, str(RUNTIME)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.environment(),
                cwd=first_path, bufsize=0,
                # Ctrl-C in the terminal stops the endpoint, which ends its instances itself.
                start_new_session=True,
            )
            self._send(self._process, self._setup())
        return self._process

    @staticmethod
    def _send(process: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
        stdin: IO[bytes] | None = process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
        except (OSError, ValueError):
            # A broken pipe, or a pipe that stop() closed meanwhile.
            raise _Gone from None

    def _answer(self, process: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
        stdout: IO[bytes] | None = process.stdout
        assert stdout is not None
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(stdout, selectors.EVENT_READ)
                while b"\n" not in self._unread:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not selector.select(remaining):
                        raise _TimedOut
                    chunk = os.read(stdout.fileno(), READ_CHUNK)
                    if not chunk:
                        raise _Gone
                    self._unread += chunk
            except (OSError, ValueError) as error:
                # A pipe that stop() closed meanwhile, from another thread.
                raise _Gone from error
        line, _, self._unread = self._unread.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer
