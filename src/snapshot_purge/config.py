"""Settings from environment variables: each has a documented default (README, "Configuration").

A request field overrides the matching variable; that merge happens in `request.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from snapshot_purge.errors import BadRequest

DEFAULT_REGION = "cn-shanghai"
DEFAULT_KEY_PATTERN = "snapshots/{JobId}/{UnixTimestamp}.jpg"
LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")


@dataclass(frozen=True)
class Endpoint:
    host: str
    protocol: str


@dataclass(frozen=True)
class Settings:
    region: str = DEFAULT_REGION
    endpoint: Endpoint = field(
        default_factory=lambda: Endpoint(f"ice.{DEFAULT_REGION}.aliyuncs.com", "https")
    )
    job_ids: tuple[str, ...] = ()
    retention_days: float = 7.0
    lookback_days: float = 2.0
    delete_original_file: bool = True
    dry_run: bool = False
    max_files: int | None = None
    key_pattern: str = DEFAULT_KEY_PATTERN
    max_qps: float = 20.0
    concurrency: int = 8
    max_attempts: int = 6
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 10_000
    deadline_margin_s: float = 15.0
    run_timeout_s: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _EnvReader(env)
        region = reader.text("ICE_REGION") or env.get("FC_REGION") or DEFAULT_REGION
        return cls(
            region=region,
            endpoint=parse_endpoint(reader.text("ICE_ENDPOINT"), region),
            job_ids=reader.job_ids("SNAPSHOT_JOB_IDS"),
            retention_days=reader.number("RETENTION_DAYS", cls.retention_days, minimum=0.0),
            lookback_days=reader.number("LOOKBACK_DAYS", cls.lookback_days, minimum=0.0),
            delete_original_file=reader.flag("DELETE_ORIGINAL_FILE", cls.delete_original_file),
            dry_run=reader.flag("DRY_RUN", cls.dry_run),
            max_files=reader.optional_int("MAX_FILES_PER_RUN", minimum=1),
            key_pattern=reader.text("SNAPSHOT_KEY_PATTERN") or DEFAULT_KEY_PATTERN,
            max_qps=reader.number("ICE_MAX_QPS", cls.max_qps, minimum=0.1),
            concurrency=int(reader.number("ICE_CONCURRENCY", cls.concurrency, minimum=1)),
            max_attempts=int(reader.number("ICE_MAX_ATTEMPTS", cls.max_attempts, minimum=1)),
            connect_timeout_ms=int(
                reader.number("ICE_CONNECT_TIMEOUT_MS", cls.connect_timeout_ms, minimum=1)
            ),
            read_timeout_ms=int(
                reader.number("ICE_READ_TIMEOUT_MS", cls.read_timeout_ms, minimum=1)
            ),
            deadline_margin_s=reader.number(
                "DEADLINE_MARGIN_SECONDS", cls.deadline_margin_s, minimum=0.0
            ),
            run_timeout_s=reader.optional_number("RUN_TIMEOUT_SECONDS", minimum=1.0),
        )


def parse_endpoint(value: str, region: str) -> Endpoint:
    """`host[:port]` or a URL. A bare loopback host means the local emulator, which speaks HTTP."""
    if not value:
        return Endpoint(f"ice.{region}.aliyuncs.com", "https")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        host = rest.rstrip("/")
        if scheme not in ("http", "https") or not host or "/" in host:
            raise BadRequest(
                "ICE_ENDPOINT", f"{value!r} is not host[:port] or an http(s)://host[:port] URL"
            )
        return Endpoint(host, scheme)
    protocol = "http" if value.startswith(LOOPBACK_HOSTS) else "https"
    return Endpoint(value, protocol)


@dataclass(frozen=True)
class _EnvReader:
    env: Mapping[str, str]

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self.optional_number(name, minimum=minimum)
        return default if value is None else value

    def optional_number(self, name: str, *, minimum: float) -> float | None:
        raw = self.text(name)
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise BadRequest(name, f"{raw!r} is not a number (environment variable)") from None
        if not math.isfinite(value) or value < minimum:
            raise BadRequest(
                name, f"{raw!r} must be a number >= {minimum:g} (environment variable)"
            )
        return value

    def optional_int(self, name: str, *, minimum: int) -> int | None:
        value = self.optional_number(name, minimum=minimum)
        if value is None:
            return None
        if value != int(value):
            raise BadRequest(name, f"{value:g} must be a whole number (environment variable)")
        return int(value)

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in ("true", "1", "yes"):
            return True
        if raw in ("false", "0", "no"):
            return False
        raise BadRequest(
            name, f"{raw!r} is not a boolean; use true or false (environment variable)"
        )

    def job_ids(self, name: str) -> tuple[str, ...]:
        ids = tuple(part.strip() for part in self.text(name).split(",") if part.strip())
        if len(set(ids)) != len(ids):
            raise BadRequest(name, "lists a job id twice (environment variable)")
        return ids
