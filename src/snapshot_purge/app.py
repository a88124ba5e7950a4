"""One invocation from event to summary: parse, plan, run, report. The handler is a thin shell."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from snapshot_purge.clock import Clock, Deadline, Sleep
from snapshot_purge.config import Settings
from snapshot_purge.errors import BadRequest, DeadlineReached
from snapshot_purge.events import parse_event
from snapshot_purge.execute import DEADLINE_REASON, ApiDeleteExecutor, DryRunExecutor, Runner
from snapshot_purge.ice import Credentials, IceApi
from snapshot_purge.keys import KeyPattern
from snapshot_purge.model import SliceTask
from snapshot_purge.report import Progress, Reporter, RunOutcome
from snapshot_purge.request import build_work


def handle(
    event: bytes | str | dict[str, Any],
    context: Any,
    *,
    logger: Logger,
    env: Mapping[str, str] = os.environ,
    wall_clock: Clock = time.time,
    progress: Progress | None = None,
    retry_sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Purge what the event makes due; return the summary (also logged as `purge_summary`).

    `wall_clock` decides what is due; `retry_sleep` waits between attempts (tests skip it).
    """
    started = time.monotonic()
    request_id = str(getattr(context, "request_id", "") or "local")
    try:
        settings = Settings.from_env(env)
        parsed = parse_event(event)
        work = build_work(parsed, settings, int(wall_clock() * 1000))
        pattern = KeyPattern(settings.key_pattern)
    except BadRequest as err:
        logger.error(
            "bad_request", extra={"field": err.field, "error": str(err), "request_id": request_id}
        )
        raise
    timeout = function_timeout(context) or settings.run_timeout_s
    deadline = Deadline(None if timeout is None else started + timeout, settings.deadline_margin_s)
    api = IceApi.from_settings(
        settings, resolve_credentials(context, env), deadline, retry_sleep=retry_sleep
    )
    executor = DryRunExecutor() if work.dry_run else ApiDeleteExecutor(api)
    reporter = Reporter(logger, work.trigger, request_id, work.dry_run, api.stats, progress)

    def key_timestamp(key: str) -> int | None:
        matched = pattern.match(key)
        return matched.create_timestamp if matched else None

    runner = Runner(
        api, executor, reporter, concurrency=settings.concurrency, object_timestamps=key_timestamp
    )
    try:
        outcome = runner.run(work.tasks, work.max_files)
    except BadRequest as refused:
        reporter.summary(RunOutcome(False, str(refused)))
        raise
    except DeadlineReached:
        remaining = tuple(task for task in work.tasks if isinstance(task, SliceTask))
        outcome = RunOutcome(False, DEADLINE_REASON, remaining)
    summary = reporter.summary(outcome, ignored_objects=len(work.ignored_objects))
    if runner.permission_error is not None:
        raise runner.permission_error
    return summary


def function_timeout(context: Any) -> float | None:
    """Function Compute gives the configured timeout, not the time left: the caller counts."""
    timeout = getattr(getattr(context, "function", None), "timeout", None)
    return float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None


def resolve_credentials(context: Any, env: Mapping[str, str]) -> Credentials | None:
    """The function role's STS credentials: on the context (python3.10), else the variables
    Function Compute sets (python3.12, read now, not at import); None means the SDK's default
    credential chain (profiles and the rest, for local runs)."""
    given = getattr(context, "credentials", None)
    key_id = getattr(given, "access_key_id", None) or getattr(given, "accessKeyId", None)
    if given is not None and key_id:
        return Credentials(
            str(key_id),
            str(getattr(given, "access_key_secret", None) or getattr(given, "accessKeySecret", "")),
            getattr(given, "security_token", None) or getattr(given, "securityToken", None),
        )
    if env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") and env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        return Credentials(
            env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None,
        )
    return None
