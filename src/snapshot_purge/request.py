"""A parsed event + settings + the clock -> the plan of one run (pure).

A request field overrides the matching environment variable, which overrides the default. Jobs
that need ICE calls to be known (discovery, or names for rules) stay `pending` here; `jobs.py`
resolves them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from snapshot_purge import cursor
from snapshot_purge.config import Settings
from snapshot_purge.errors import BadRequest
from snapshot_purge.events import ALL_JOBS, OssRecord, ParsedEvent, PurgeRequest
from snapshot_purge.jobs import JobSelection, PendingJobs
from snapshot_purge.keys import KeyMatch, KeyPattern
from snapshot_purge.model import DAY_MS, JobWork, Range, RunIdentity, Trigger
from snapshot_purge.plan import (
    RangePolicy,
    RetentionPolicy,
    ceil_second,
    floor_second,
)

SELECTION_FIELDS = {"JobId", "JobIds", "JobKeyword", "JobStatus", "ExcludeJobIds"}
HOW_FIELDS = {"DeleteOriginalFile", "DryRun", "MaxFiles"}


@dataclass(frozen=True)
class OssEcho:
    """A removed object past the retention cutoff: the sweep's own echo, or the sweep's
    business anyway. Acknowledged with no ICE call."""

    job_id: str
    key: str
    create_timestamp: int | None


@dataclass(frozen=True)
class RunPlan:
    trigger: Trigger
    dry_run: bool
    max_files: int | None
    as_of_ms: int
    jobs: tuple[JobWork, ...] = ()
    pending: PendingJobs | None = None
    identity: RunIdentity | None = None  # carried by a cursor or shard; None starts a new run
    qps_share: float = 1.0
    ignored_objects: tuple[str, ...] = ()
    oss_echoes: tuple[OssEcho, ...] = ()
    notes: tuple[str, ...] = ()


def build_plan(parsed: ParsedEvent, settings: Settings, now_ms: int) -> RunPlan:
    request = parsed.request
    if parsed.shard is not None:
        return _resumed(parsed.shard, Trigger.SHARD, None, None, settings, now_ms)
    dry_run = settings.dry_run if request.DryRun is None else request.DryRun
    max_files = request.MaxFiles or settings.max_files
    if parsed.trigger is Trigger.OSS:
        return _oss_plan(parsed, settings, dry_run, max_files, now_ms)
    if request.Cursor is not None:
        _refuse_with(request, "Cursor", {"DryRun", "MaxFiles"})
        return _resumed(request.Cursor, Trigger.MANUAL, request.DryRun, max_files, settings, now_ms)
    as_of_ms = now_ms if parsed.received_at is None else int(parsed.received_at.timestamp() * 1000)
    delete_original = (
        settings.delete_original_file
        if request.DeleteOriginalFile is None
        else request.DeleteOriginalFile
    )
    plan = RunPlan(parsed.trigger, dry_run, max_files, as_of_ms, notes=parsed.notes)
    if request.CreateTimestampList is not None:
        _refuse_with(request, "CreateTimestampList", {"JobId"} | HOW_FIELDS)
        if request.JobId is None:
            raise BadRequest("JobId", "is required with CreateTimestampList (one job per request)")
        stamps = tuple(request.CreateTimestampList)
        return replace(plan, jobs=(JobWork(request.JobId, delete_original, timestamps=stamps),))
    selection = _selection(request, settings)
    if request.StartTime is not None or request.EndTime is not None:
        _refuse_with(request, "StartTime", SELECTION_FIELDS | HOW_FIELDS | {"EndTime"})
        if request.StartTime is None or request.EndTime is None:
            missing = "StartTime" if request.StartTime is None else "EndTime"
            raise BadRequest(missing, "is required: a range needs both StartTime and EndTime")
        start_ms = int(request.StartTime.timestamp() * 1000)
        end_ms = int(request.EndTime.timestamp() * 1000)
        if start_ms >= end_ms:
            raise BadRequest("EndTime", "must be after StartTime")
        if end_ms > now_ms:
            raise BadRequest("EndTime", "is in the future; snapshots not yet taken cannot be due")
        policy = RangePolicy(start_ms, end_ms, delete_original)
        return replace(plan, pending=PendingJobs(selection, policy))
    retention = request.RetentionDays or settings.retention_days
    lookback = request.LookbackDays or settings.lookback_days
    if retention <= 0:
        raise BadRequest("RetentionDays", "must be more than 0 (RETENTION_DAYS is 0)")
    if lookback <= 0:
        raise BadRequest("LookbackDays", "must be more than 0 (LOOKBACK_DAYS is 0)")
    rules = settings.retention_rules if request.Rules is None else tuple(request.Rules)
    sweep = RetentionPolicy(as_of_ms, retention, lookback, delete_original, rules)
    return replace(plan, pending=PendingJobs(selection, sweep))


def _resumed(
    token: str,
    trigger: Trigger,
    dry_run: bool | None,
    max_files: int | None,
    settings: Settings,
    now_ms: int,
) -> RunPlan:
    """A cursor or shard does exactly what the run that made it would have done."""
    remainder = cursor.decode(token)
    if dry_run is not None and dry_run != remainder.dry_run:
        made_by = "a dry run" if remainder.dry_run else "a run that deletes"
        raise BadRequest(
            "DryRun",
            f"is {str(dry_run).lower()}, but the cursor was made by {made_by}: a resumed run does"
            " what the original did. Leave DryRun out, or start a new run without the cursor",
        )
    if settings.dry_run and not remainder.dry_run:
        raise BadRequest(
            "DRY_RUN",
            "is true on this function, but the cursor was made by a run that deletes; nothing"
            " was done. Unset DRY_RUN to carry on deleting, or start a new dry run",
        )
    return RunPlan(
        trigger,
        remainder.dry_run,
        max_files or settings.max_files,
        now_ms,
        jobs=remainder.jobs,
        pending=remainder.pending,
        identity=remainder.identity,
        qps_share=remainder.qps_share,
    )


def _refuse_with(request: PurgeRequest, field: str, allowed: set[str]) -> None:
    given = {name for name, value in request if value is not None}
    extra = sorted(given - allowed - {field})
    if extra:
        raise BadRequest(extra[0], f"cannot be combined with {field}")


def _selection(request: PurgeRequest, settings: Settings) -> JobSelection:
    if request.JobId is not None and request.JobIds is not None:
        raise BadRequest("JobIds", "give either JobId or JobIds, not both")
    ids: tuple[str, ...] | None
    if request.JobId is not None:
        ids = (request.JobId,)
    elif request.JobIds == ALL_JOBS:
        ids = None
    elif request.JobIds is not None:
        ids = tuple(request.JobIds)
    elif settings.discover_jobs:
        ids = None
    elif settings.job_ids:
        ids = settings.job_ids
    else:
        raise BadRequest(
            "JobIds",
            'no snapshot job given: set JobId or JobIds in the request ("*" for every job), or'
            " SNAPSHOT_JOB_IDS",
        )
    if ids is not None:
        for name in ("JobKeyword", "JobStatus"):
            if getattr(request, name) is not None:
                raise BadRequest(name, 'narrows discovery: give it with "JobIds": "*"')
    return JobSelection(
        ids,
        keyword=request.JobKeyword,
        status=request.JobStatus,
        exclude=frozenset(request.ExcludeJobIds or ()),
        discovery_days=settings.job_discovery_days,
    )


def _oss_plan(
    parsed: ParsedEvent, settings: Settings, dry_run: bool, max_files: int | None, now_ms: int
) -> RunPlan:
    """Removed objects: one listing per job (per day of keys) matched by OssObject, records only,
    unless the object was past the retention cutoff when it went (the sweep's echo). Created
    objects drive a rolling retention for their job: what aged out by the event's time."""
    pattern = KeyPattern(settings.key_pattern)
    oldest_days = RetentionPolicy(
        now_ms, settings.retention_days, settings.lookback_days, settings.delete_original_file,
        settings.retention_rules,
    ).oldest_retention_days
    removed: dict[str, list[tuple[KeyMatch, str]]] = defaultdict(list)
    created: dict[str, int] = {}
    echoes: list[OssEcho] = []
    ignored: list[str] = []
    for record in parsed.oss_records:
        key = record.oss.object.key
        matched = pattern.match(key)
        event_ms = _event_ms(record)
        if matched is None:
            ignored.append(key)
        elif not record.removed:
            created[matched.job_id] = max(event_ms, created.get(matched.job_id, 0))
        elif matched.window_end_ms < event_ms - round(oldest_days * DAY_MS):
            echoes.append(OssEcho(matched.job_id, key, matched.create_timestamp))
        else:
            removed[matched.job_id].append((matched, key))
    jobs = tuple(_matching_work(job_id, matches) for job_id, matches in removed.items())
    pending = None
    if created:
        policy = RetentionPolicy(
            max(created.values()), settings.retention_days, settings.lookback_days,
            settings.delete_original_file, settings.retention_rules,
        )
        pending = PendingJobs(JobSelection(tuple(sorted(created))), policy)
    return RunPlan(
        Trigger.OSS, dry_run, max_files, now_ms, jobs=jobs, pending=pending,
        ignored_objects=tuple(ignored), oss_echoes=tuple(echoes),
    )


def _event_ms(record: OssRecord) -> int:
    return int(record.eventTime.timestamp() * 1000)


def _matching_work(job_id: str, matches: list[tuple[KeyMatch, str]]) -> JobWork:
    """Records only (the object is gone), listed in as few windows of at most a day as cover
    the keys: the removals of one batch are usually neighbours, one page or a few."""
    spans: list[Range] = []
    for match, _ in sorted(matches, key=lambda item: item[0].window_start_ms):
        start, end = floor_second(match.window_start_ms), ceil_second(match.window_end_ms)
        if spans and max(end, spans[-1][1]) - spans[-1][0] <= DAY_MS:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    keys = frozenset(key for _, key in matches)
    return JobWork(job_id, False, ranges=tuple(spans), only_objects=keys)
