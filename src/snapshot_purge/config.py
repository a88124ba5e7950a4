"""Settings from environment variables: each has a documented default (README, "Configuration").

A request field overrides the matching variable; that merge happens in `request.py`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from snapshot_purge.errors import BadRequest
from snapshot_purge.rules import RetentionRule

DEFAULT_REGION = "cn-shanghai"
DEFAULT_KEY_PATTERN = "snapshots/{JobId}/{UnixTimestamp}.jpg"
LOOPBACK_HOSTS = ("127.", "localhost", "[::1]", "::1")
ALL_JOBS = "*"
RULES_EXAMPLE = '[{"JobName": "news-*", "RetentionDays": 3}]'


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
    discover_jobs: bool = False
    job_discovery_days: float = 400.0
    retention_days: float = 7.0
    retention_rules: tuple[RetentionRule, ...] = ()
    lookback_days: float = 2.0
    delete_original_file: bool = True
    dry_run: bool = False
    max_files: int | None = None
    key_pattern: str = DEFAULT_KEY_PATTERN
    max_qps: float | None = None
    concurrency: int = 8
    max_attempts: int = 6
    connect_timeout_ms: int = 5_000
    read_timeout_ms: int = 10_000
    deadline_margin_s: float = 15.0
    run_timeout_s: float | None = None
    fanout: bool = False
    fanout_endpoint: Endpoint | None = None
    fanout_function: str | None = None
    fanout_jobs_per_shard: int = 50
    fanout_max_hops: int = 20
    account_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _EnvReader(env)
        region = reader.text("ICE_REGION") or env.get("FC_REGION") or DEFAULT_REGION
        fanout_endpoint = reader.text("FANOUT_ENDPOINT")
        job_ids = reader.job_ids("SNAPSHOT_JOB_IDS")
        return cls(
            region=region,
            endpoint=parse_endpoint(reader.text("ICE_ENDPOINT"), region, "ICE_ENDPOINT"),
            job_ids=() if job_ids == (ALL_JOBS,) else job_ids,
            discover_jobs=job_ids == (ALL_JOBS,),
            job_discovery_days=reader.number(
                "JOB_DISCOVERY_DAYS", cls.job_discovery_days, minimum=1.0
            ),
            retention_days=reader.number("RETENTION_DAYS", cls.retention_days, minimum=0.0),
            retention_rules=reader.rules("RETENTION_RULES"),
            lookback_days=reader.number("LOOKBACK_DAYS", cls.lookback_days, minimum=0.0),
            delete_original_file=reader.flag("DELETE_ORIGINAL_FILE", cls.delete_original_file),
            dry_run=reader.flag("DRY_RUN", cls.dry_run),
            max_files=reader.optional_int("MAX_FILES_PER_RUN", minimum=1),
            key_pattern=reader.text("SNAPSHOT_KEY_PATTERN") or DEFAULT_KEY_PATTERN,
            max_qps=reader.optional_number("ICE_MAX_QPS", minimum=0.1),
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
            fanout=reader.flag("FANOUT", cls.fanout),
            fanout_endpoint=(
                parse_endpoint(fanout_endpoint, region, "FANOUT_ENDPOINT")
                if fanout_endpoint
                else None
            ),
            fanout_function=reader.text("FANOUT_FUNCTION") or env.get("FC_FUNCTION_NAME") or None,
            fanout_jobs_per_shard=int(
                reader.number("FANOUT_JOBS_PER_SHARD", cls.fanout_jobs_per_shard, minimum=1)
            ),
            fanout_max_hops=int(reader.number("FANOUT_MAX_HOPS", cls.fanout_max_hops, minimum=0)),
            account_id=env.get("FC_ACCOUNT_ID") or None,
        )


def parse_endpoint(value: str, region: str, name: str) -> Endpoint:
    """`host[:port]` or a URL. A bare loopback host means the local emulator, which speaks HTTP."""
    if not value:
        return Endpoint(f"ice.{region}.aliyuncs.com", "https")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        host = rest.rstrip("/")
        if scheme not in ("http", "https") or not host or "/" in host:
            raise BadRequest(name, f"{value!r} is not host[:port] or an http(s)://host[:port] URL")
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
        if not math.isfinite(value):
            raise BadRequest(name, f"{raw!r} is not a finite number (environment variable)")
        if value < minimum:
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
        if ALL_JOBS in ids and len(ids) > 1:
            raise BadRequest(
                name, f"{ALL_JOBS!r} means every job: give it alone, or list ids (environment"
                " variable)"
            )
        return ids

    def rules(self, name: str) -> tuple[RetentionRule, ...]:
        raw = self.text(name)
        if not raw:
            return ()
        try:
            rules = json.loads(raw)
        except json.JSONDecodeError as err:
            raise BadRequest(
                name, f"is not valid JSON ({err.msg} at column {err.colno}); expected a list like"
                f" {RULES_EXAMPLE} (environment variable)"
            ) from None
        if not isinstance(rules, list):
            raise BadRequest(name, f"must be a list like {RULES_EXAMPLE} (environment variable)")
        return tuple(self._rule(name, index, rule) for index, rule in enumerate(rules))

    @staticmethod
    def _rule(name: str, index: int, rule: object) -> RetentionRule:
        try:
            return RetentionRule.model_validate(rule)
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            where = "".join(f".{part}" for part in first["loc"])
            raise BadRequest(
                f"{name}[{index}]{where}", f"{first['msg']} (environment variable)"
            ) from None
