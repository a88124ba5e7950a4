"""A parsed event + settings + the clock -> the work of one run (pure).

A request field overrides the matching environment variable, which overrides the default.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from snapshot_purge.config import Settings
from snapshot_purge.errors import BadRequest
from snapshot_purge.events import ParsedEvent, PurgeRequest
from snapshot_purge.keys import KeyMatch, KeyPattern
from snapshot_purge.model import DAY_MS, ExplicitTask, Slice, SliceTask, Task, Trigger
from snapshot_purge.plan import ceil_second, floor_second, split_window, sweep_tasks


@dataclass(frozen=True)
class Work:
    trigger: Trigger
    tasks: tuple[Task, ...]
    dry_run: bool
    max_files: int | None
    ignored_objects: tuple[str, ...] = ()


def build_work(parsed: ParsedEvent, settings: Settings, now_ms: int) -> Work:
    request = parsed.request
    dry_run = settings.dry_run if request.DryRun is None else request.DryRun
    max_files = request.MaxFiles or settings.max_files
    if parsed.trigger is Trigger.OSS:
        tasks, ignored = _oss_tasks(parsed, settings)
        return Work(parsed.trigger, tasks, dry_run, max_files, ignored)
    return Work(parsed.trigger, _request_tasks(request, settings, now_ms), dry_run, max_files)


def _request_tasks(request: PurgeRequest, settings: Settings, now_ms: int) -> tuple[Task, ...]:
    delete_original = (
        settings.delete_original_file
        if request.DeleteOriginalFile is None
        else request.DeleteOriginalFile
    )
    given = {name for name, value in request if value is not None}
    if request.Cursor is not None:
        _refuse_with(given, "Cursor", {"MaxFiles", "DryRun"})
        return tuple(
            SliceTask(
                Slice(entry.JobId, entry.StartTimestamp, entry.EndTimestamp),
                entry.DeleteOriginalFile,
                None if entry.OssObjects is None else frozenset(entry.OssObjects),
            )
            for entry in request.Cursor
        )
    if request.JobId is not None and request.JobIds is not None:
        raise BadRequest("JobIds", "give either JobId or JobIds, not both")
    if request.CreateTimestampList is not None:
        _refuse_with(
            given, "CreateTimestampList", {"JobId", "DeleteOriginalFile", "DryRun", "MaxFiles"}
        )
        if request.JobId is None:
            raise BadRequest("JobId", "is required with CreateTimestampList (one job per request)")
        return (ExplicitTask(request.JobId, tuple(request.CreateTimestampList), delete_original),)
    job_ids = _job_ids(request, settings)
    if request.StartTime is not None or request.EndTime is not None:
        _refuse_with(
            given,
            "StartTime",
            {"JobId", "JobIds", "EndTime", "DeleteOriginalFile", "DryRun", "MaxFiles"},
        )
        if request.StartTime is None or request.EndTime is None:
            missing = "StartTime" if request.StartTime is None else "EndTime"
            raise BadRequest(missing, "is required: a range needs both StartTime and EndTime")
        start_ms = int(request.StartTime.timestamp() * 1000)
        end_ms = int(request.EndTime.timestamp() * 1000)
        if start_ms >= end_ms:
            raise BadRequest("EndTime", "must be after StartTime")
        if end_ms > now_ms:
            raise BadRequest("EndTime", "is in the future; snapshots not yet taken cannot be due")
        if start_ms % 1000 or end_ms % 1000:
            raise BadRequest("StartTime", "and EndTime take whole seconds (yyyy-MM-ddTHH:mm:ssZ)")
        return tuple(sweep_tasks(job_ids, start_ms, end_ms, delete_original_file=delete_original))
    retention = request.RetentionDays or settings.retention_days
    lookback = request.LookbackDays or settings.lookback_days
    if retention <= 0:
        raise BadRequest("RetentionDays", "must be more than 0 (RETENTION_DAYS is 0)")
    if lookback <= 0:
        raise BadRequest("LookbackDays", "must be more than 0 (LOOKBACK_DAYS is 0)")
    cutoff_ms = now_ms - int(retention * DAY_MS)
    return tuple(
        sweep_tasks(
            job_ids,
            cutoff_ms - int(lookback * DAY_MS),
            cutoff_ms,
            delete_original_file=delete_original,
        )
    )


def _refuse_with(given: set[str], field: str, allowed: set[str]) -> None:
    extra = sorted(given - allowed - {field})
    if extra:
        raise BadRequest(extra[0], f"cannot be combined with {field}")


def _job_ids(request: PurgeRequest, settings: Settings) -> tuple[str, ...]:
    if request.JobId is not None:
        return (request.JobId,)
    if request.JobIds is not None:
        return tuple(request.JobIds)
    if settings.job_ids:
        return settings.job_ids
    raise BadRequest(
        "JobIds", "no snapshot job given: set JobId or JobIds in the request, or SNAPSHOT_JOB_IDS"
    )


def _oss_tasks(parsed: ParsedEvent, settings: Settings) -> tuple[tuple[Task, ...], tuple[str, ...]]:
    """Removed objects: one listing per job (per day of keys) matched by OssObject, records only.

    Created objects drive a rolling retention for their job: what aged out by the event's time.
    """
    pattern = KeyPattern(settings.key_pattern)
    removed: dict[str, list[tuple[KeyMatch, str]]] = defaultdict(list)
    created: dict[str, int] = {}
    ignored: list[str] = []
    for record in parsed.oss_records:
        key = record.oss.object.key
        matched = pattern.match(key)
        if matched is None:
            ignored.append(key)
        elif record.removed:
            removed[matched.job_id].append((matched, key))
        else:
            event_ms = int(record.eventTime.timestamp() * 1000)
            created[matched.job_id] = max(event_ms, created.get(matched.job_id, 0))
    tasks: list[Task] = []
    for job_id, matches in removed.items():
        tasks.extend(_match_tasks(job_id, matches))
    for job_id, event_ms in created.items():
        cutoff_ms = event_ms - int(settings.retention_days * DAY_MS)
        tasks.extend(
            sweep_tasks(
                [job_id],
                cutoff_ms - int(settings.lookback_days * DAY_MS),
                cutoff_ms,
                delete_original_file=settings.delete_original_file,
            )
        )
    return tuple(tasks), tuple(ignored)


def _match_tasks(job_id: str, matches: list[tuple[KeyMatch, str]]) -> list[SliceTask]:
    """Group the keys of one job into as few listing windows of at most a day as cover them."""
    ordered = sorted(matches, key=lambda item: item[0].window_start_ms)
    tasks: list[SliceTask] = []
    group: list[tuple[KeyMatch, str]] = []

    def flush() -> None:
        start = floor_second(group[0][0].window_start_ms)
        end = ceil_second(max(m.window_end_ms for m, _ in group))
        keys = frozenset(key for _, key in group)
        tasks.extend(
            SliceTask(window, delete_original_file=False, only_objects=keys)
            for window in split_window(job_id, start, end)
        )

    for match, key in ordered:
        if (
            group
            and ceil_second(match.window_end_ms) - floor_second(group[0][0].window_start_ms)
            > DAY_MS
        ):
            flush()
            group = []
        group.append((match, key))
    if group:
        flush()
    return tasks
