"""One invocation from event to summary: parse, plan, find the jobs, run or hand on, report."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from snapshot_purge import cursor
from snapshot_purge.clock import Clock, Deadline, Sleep
from snapshot_purge.config import Settings
from snapshot_purge.cursor import Remainder
from snapshot_purge.errors import ApiFailure, BadRequest, DeadlineReached, PermissionDenied
from snapshot_purge.events import parse_event
from snapshot_purge.execute import DEADLINE_REASON, Runner, RunResult
from snapshot_purge.executors import ApiDeleteExecutor, DryRunExecutor
from snapshot_purge.fanout import Dispatch, FunctionInvoker
from snapshot_purge.ice import Credentials, IceApi
from snapshot_purge.jobs import PendingJobs, ResolvedJobs, resolve
from snapshot_purge.keys import KeyPattern
from snapshot_purge.model import JobWork, RunIdentity, Trigger
from snapshot_purge.report import Progress, Reporter, RunOutcome
from snapshot_purge.request import RunPlan, build_plan


def handle(
    event: bytes | str | dict[str, Any],
    context: Any,
    *,
    logger: Logger,
    env: Mapping[str, str] = os.environ,
    wall_clock: Clock = time.time,
    monotonic: Clock = time.monotonic,
    progress: Progress | None = None,
    retry_sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Purge what the event makes due; return the summary (also logged as `purge_summary`).

    `wall_clock` decides what is due; `monotonic` measures the run against its deadline;
    `retry_sleep` waits between attempts (tests skip it).
    """
    started = monotonic()
    request_id = str(getattr(context, "request_id", "") or "local")
    try:
        settings = Settings.from_env(env)
        parsed = parse_event(event)
        plan = build_plan(parsed, settings, int(wall_clock() * 1000))
        pattern = KeyPattern(settings.key_pattern)
    except BadRequest as err:
        logger.error(
            "bad_request", extra={"field": err.field, "error": str(err), "request_id": request_id}
        )
        raise
    timeout = function_timeout(context) or settings.run_timeout_s
    deadline = Deadline(
        None if timeout is None else started + timeout, settings.deadline_margin_s, monotonic
    )
    credentials = resolve_credentials(context, env)
    api = IceApi.from_settings(
        settings, credentials, deadline, retry_sleep=retry_sleep, qps_share=plan.qps_share
    )
    identity = plan.identity or RunIdentity(request_id)
    reporter = Reporter(logger, plan.trigger, request_id, identity, plan.dry_run, api.stats,
                        progress, monotonic)
    run_keys = reporter.run_keys()
    logger.append_keys(**run_keys)
    try:
        invocation = _Invocation(settings, plan, identity, api, reporter, credentials, retry_sleep)
        return invocation.run(logger, pattern)
    finally:
        logger.remove_keys(list(run_keys))


class _Invocation:
    def __init__(
        self,
        settings: Settings,
        plan: RunPlan,
        identity: RunIdentity,
        api: IceApi,
        reporter: Reporter,
        credentials: Credentials | None,
        retry_sleep: Sleep,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.identity = identity
        self.api = api
        self.reporter = reporter
        self.credentials = credentials
        self.retry_sleep = retry_sleep

    def run(self, logger: Logger, pattern: KeyPattern) -> dict[str, Any]:
        plan = self.plan
        for note in plan.notes:
            logger.warning("request_note", extra={"note": note})
        for echo in plan.oss_echoes:
            self.reporter.past_retention(echo.job_id, echo.key, echo.create_timestamp)
        extra: dict[str, Any] = {
            "ignored_objects": len(plan.ignored_objects),
            "oss_echoes": len(plan.oss_echoes),
        }
        if self.settings.max_qps is not None:
            extra["qps_ceiling"] = round(self.settings.max_qps * plan.qps_share, 3)
        try:
            resolved = self._resolve()
        except (ApiFailure, DeadlineReached) as failure:
            return self._stopped_before_start(failure, extra)
        jobs = plan.jobs + resolved.work
        not_found = tuple(missing.job_id or "" for missing in resolved.not_found)
        if self._coordinates(jobs):
            return self._fan_out(jobs, not_found, extra)
        return self._run_here(jobs, resolved, not_found, pattern, extra)

    def _resolve(self) -> ResolvedJobs:
        pending = self.plan.pending
        if pending is None:
            return ResolvedJobs(())
        return resolve(
            self.api, pending.selection, pending.policy, as_of_ms=self.plan.as_of_ms,
            concurrency=self.settings.concurrency,
        )

    def _coordinates(self, jobs: tuple[JobWork, ...]) -> bool:
        return (
            self.settings.fanout
            and self.plan.trigger is not Trigger.SHARD
            and self.plan.identity is None
            and len(jobs) > self.settings.fanout_jobs_per_shard
        )

    def _run_here(
        self,
        jobs: tuple[JobWork, ...],
        resolved: ResolvedJobs,
        not_found: tuple[str, ...],
        pattern: KeyPattern,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        plan = self.plan
        executor = DryRunExecutor() if plan.dry_run else ApiDeleteExecutor(self.api)

        def key_timestamp(key: str) -> int | None:
            matched = pattern.match(key)
            return matched.create_timestamp if matched else None

        runner = Runner(self.api, executor, self.reporter, concurrency=self.settings.concurrency,
                        object_timestamps=key_timestamp)
        try:
            result = runner.run(jobs, plan.max_files)
        except BadRequest as refused:
            self.reporter.summary(RunOutcome(False, str(refused), jobs=len(jobs)), extra=extra)
            raise
        remainder, jobs_left = self._remainder(resolved, result)
        outcome = RunOutcome(
            complete=remainder.empty,
            stopped_reason=result.stopped_reason or _unlisted(result),
            jobs=len(jobs),
            errors=result.errors,
            jobs_not_found=not_found + result.jobs_not_found,
            permission_denied=result.permission_error is not None,
        )
        if not remainder.empty:
            outcome = self._hand_on(remainder, replace(outcome, jobs_left=jobs_left), result)
        summary = self.reporter.summary(outcome, extra=extra)
        if result.permission_error is not None:
            raise result.permission_error
        return summary

    def _remainder(self, resolved: ResolvedJobs, result: RunResult) -> tuple[Remainder, int]:
        """What is left of the jobs the run took, plus the ones it never took; and how many
        jobs that is."""
        plan = self.plan
        explicit = len(plan.jobs)
        untaken_explicit = plan.jobs[result.taken:]
        taken_resolved = max(0, result.taken - explicit)
        pending: PendingJobs | None = None
        if plan.pending is not None and taken_resolved < len(resolved.work):
            after = resolved.work[taken_resolved - 1].job_id if taken_resolved else None
            selection = plan.pending.selection
            if after is not None:
                selection = replace(selection, after=after)
            pending = PendingJobs(selection, plan.pending.policy)
        left = result.leftover + untaken_explicit
        remainder = Remainder(self.identity, plan.dry_run, left, pending, plan.qps_share)
        return remainder, len(left) + len(resolved.work) - taken_resolved

    def _hand_on(self, remainder: Remainder, outcome: RunOutcome, result: RunResult
                 ) -> RunOutcome:
        """Continue by itself where it may (a deadline, FANOUT on, hops left); else the cursor
        goes to the person reading the summary."""
        outcome = replace(outcome, cursor=cursor.encode(remainder))
        settings = self.settings
        if result.stopped_reason != DEADLINE_REASON or not settings.fanout:
            return outcome
        hop = self.identity.hop + 1
        if hop > settings.fanout_max_hops:
            return replace(outcome, errors=(*outcome.errors, (
                f"stopped after {settings.fanout_max_hops} continuations (FANOUT_MAX_HOPS):"
                " raise it, the function timeout or the QPS quota, or resume with the cursor"
            )))
        onward = replace(remainder, identity=replace(self.identity, hop=hop))
        try:
            dispatch = self._invoker().dispatch(onward)
        except (ApiFailure, BadRequest) as failure:
            return replace(outcome, errors=(*outcome.errors, f"continuation failed: {failure}"))
        return replace(
            outcome, continued=dispatch.to_json(),
            stopped_reason=f"{DEADLINE_REASON}; continued as hop {hop} ({dispatch.task_id})",
        )

    def _fan_out(
        self, jobs: tuple[JobWork, ...], not_found: tuple[str, ...], extra: dict[str, Any]
    ) -> dict[str, Any]:
        """Coordinator: each shard of jobs to its own invocation, with its share of the QPS."""
        per_shard = self.settings.fanout_jobs_per_shard
        chunks = [jobs[at:at + per_shard] for at in range(0, len(jobs), per_shard)]
        share = self.plan.qps_share / len(chunks)
        invoker = self._invoker()
        dispatched: list[Dispatch] = []
        undispatched: list[JobWork] = []
        errors: list[str] = []
        for index, chunk in enumerate(chunks):
            shard = Remainder(replace(self.identity, shard=index), self.plan.dry_run, chunk,
                              None, share)
            try:
                dispatched.append(invoker.dispatch(shard))
            except PermissionDenied:
                raise
            except ApiFailure as failure:
                undispatched += chunk
                errors.append(f"shard {index}: {failure}")
        left = Remainder(self.identity, self.plan.dry_run, tuple(undispatched), None,
                         self.plan.qps_share)
        outcome = RunOutcome(
            complete=left.empty,
            stopped_reason=None if left.empty else f"{len(errors)} shard(s) not dispatched",
            cursor=None if left.empty else cursor.encode(left),
            jobs=len(jobs),
            jobs_left=len(undispatched),
            errors=tuple(errors),
            jobs_not_found=not_found,
            dispatched=tuple(d.to_json() for d in dispatched),
        )
        return self.reporter.summary(outcome, extra={**extra, "shards": len(chunks)})

    def _invoker(self) -> FunctionInvoker:
        return FunctionInvoker.from_settings(self.settings, self.credentials,
                                             sleep=self.retry_sleep)

    def _stopped_before_start(
        self, failure: ApiFailure | DeadlineReached, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """Finding the jobs failed: nothing was deleted; the whole plan is the cursor."""
        plan = self.plan
        left = Remainder(self.identity, plan.dry_run, plan.jobs, plan.pending, plan.qps_share)
        reason = DEADLINE_REASON if isinstance(failure, DeadlineReached) else str(failure)
        outcome = RunOutcome(
            complete=False, stopped_reason=f"finding the jobs: {reason}",
            cursor=cursor.encode(left), jobs_left=len(plan.jobs),
            errors=() if isinstance(failure, DeadlineReached) else (str(failure),),
            permission_denied=isinstance(failure, PermissionDenied),
        )
        summary = self.reporter.summary(outcome, extra=extra)
        if isinstance(failure, PermissionDenied):
            raise failure
        return summary


def _unlisted(result: RunResult) -> str | None:
    if not result.failed_windows:
        return None
    return (
        f"{result.failed_windows} window(s) could not be listed; what is left of them is in"
        " `cursor`"
    )


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
