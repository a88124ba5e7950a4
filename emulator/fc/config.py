"""A function as the local Function Compute endpoint runs it: code, handler, environment, limits
and its asynchronous invocation settings, checked against the platform's rules."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# FC 3.0: letters, digits, `_` and `-`, not starting with a digit or `-`, at most 128.
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*\.[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The python3.12 runtime dropped `context.credentials`; the role's keys are in the environment.
RUNTIMES_WITH_CONTEXT_CREDENTIALS = frozenset({"python3.9", "python3.10"})
RUNTIMES = RUNTIMES_WITH_CONTEXT_CREDENTIALS | {"python3.12"}
RESERVED_ENV_PREFIX = "FC_"
ENV_LIMIT_BYTES = 4096
MAX_TIMEOUT_S = 86_400.0
MAX_ASYNC_RETRY_ATTEMPTS = 8
MAX_EVENT_AGE_S = 604_800.0


@dataclass(frozen=True)
class FunctionConfig:
    """One function. `code_paths` go first on the worker's `sys.path`; `python` runs the workers.

    `retry_delay_s` is the wait before the first retry of a failed async invocation (FC: 0.5 s);
    each further retry waits twice as long as the one before.
    """

    name: str
    code_paths: tuple[Path, ...]
    handler: str = "index.handler"
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 900.0
    memory_mb: int = 512
    runtime: str = "python3.10"
    instances: int = 4
    max_async_retry_attempts: int = 3
    max_async_event_age_s: float = 86_400.0
    retry_delay_s: float = 0.5
    python: str = sys.executable

    def __post_init__(self) -> None:
        object.__setattr__(self, "code_paths",
                           tuple(Path(path).resolve() for path in self.code_paths))
        object.__setattr__(self, "environment", dict(self.environment))
        # Seconds given as a whole number (`timeout_s=8`) are seconds all the same.
        for name in ("timeout_s", "max_async_event_age_s", "retry_delay_s"):
            object.__setattr__(self, name, float(getattr(self, name)))
        problems = self._problems()
        if problems:
            raise ValueError(f"FunctionConfig({self.name!r}): " + "; ".join(problems))

    @property
    def context_credentials(self) -> bool:
        return self.runtime in RUNTIMES_WITH_CONTEXT_CREDENTIALS

    def _problems(self) -> list[str]:
        problems = []
        if not FUNCTION_NAME.match(self.name):
            problems.append("name: use letters, digits, '_' and '-', at most 128, not starting"
                            " with a digit or '-'")
        if not HANDLER.match(self.handler):
            problems.append(f"handler {self.handler!r}: use module.function, e.g. index.handler")
        missing = [str(path) for path in self.code_paths if not path.is_dir()]
        if missing:
            problems.append(f"code_paths: no such directory: {', '.join(missing)}")
        if self.runtime not in RUNTIMES:
            problems.append(f"runtime {self.runtime!r}: one of {', '.join(sorted(RUNTIMES))}")
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            problems.append(f"timeout_s {self.timeout_s}: more than 0, at most {MAX_TIMEOUT_S:g}")
        if self.memory_mb <= 0:
            problems.append(f"memory_mb {self.memory_mb}: more than 0")
        if self.instances < 1:
            problems.append(f"instances {self.instances}: at least 1")
        if not 0 <= self.max_async_retry_attempts <= MAX_ASYNC_RETRY_ATTEMPTS:
            problems.append(f"max_async_retry_attempts {self.max_async_retry_attempts}:"
                            f" 0..{MAX_ASYNC_RETRY_ATTEMPTS}")
        if not 0 < self.max_async_event_age_s <= MAX_EVENT_AGE_S:
            problems.append(f"max_async_event_age_s {self.max_async_event_age_s}: more than 0,"
                            f" at most {MAX_EVENT_AGE_S:g}")
        if self.retry_delay_s < 0:
            problems.append(f"retry_delay_s {self.retry_delay_s}: 0 or more")
        problems.extend(_environment_problems(self.environment))
        return problems


def _environment_problems(environment: Mapping[str, str]) -> list[str]:
    problems = []
    for name in environment:
        if not ENV_NAME.match(name):
            problems.append(f"environment {name!r}: letters, digits and '_', not starting with a"
                            " digit")
        elif name.upper().startswith(RESERVED_ENV_PREFIX):
            problems.append(f"environment {name!r}: names starting {RESERVED_ENV_PREFIX} are"
                            " reserved by Function Compute")
    size = sum(len(name.encode()) + len(value.encode()) for name, value in environment.items())
    if size > ENV_LIMIT_BYTES:
        problems.append(f"environment: {size} bytes of names and values; Function Compute allows"
                        f" {ENV_LIMIT_BYTES} in all")
    return problems
