"""A stand-in for the Function Compute context object, for local runs and tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FcCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


@dataclass(frozen=True)
class FcFunction:
    name: str = "purge"
    handler: str = "index.handler"
    memory: int = 512
    timeout: int = 900


@dataclass(frozen=True)
class FcContext:
    """What the python3.10 runtime passes; python3.12 passes no `credentials` (None here)."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    credentials: FcCredentials | None = None
    function: FcFunction = field(default_factory=FcFunction)
    region: str = "cn-shanghai"
    account_id: str = "local"
