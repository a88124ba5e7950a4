"""Seed the ICE emulator so that an event's own path runs: its jobs, its object keys, its named
timestamps and its time ranges exist, whatever day the event was written on.

A sample with fixed dates against data seeded around "now" deletes nothing and shows nothing;
this seeds around the event's own time instead, adds the exact records it names, and removes from
OSS the objects an `ObjectRemoved` event says are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.seed import DEFAULT_BUCKET, DEFAULT_SEQUENCE_FORMAT, SAMPLE_JOB_IDS, render_key, seed
from emulator.store import Record, Store
from snapshot_purge.config import Settings
from snapshot_purge.events import ALL_JOBS, ParsedEvent
from snapshot_purge.keys import KeyPattern
from snapshot_purge.model import DAY_MS

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SampleSeed:
    jobs: tuple[str, ...]
    start_ms: int
    end_ms: int
    named_records: int
    removed_objects: tuple[str, ...]


def seed_for_event(
    store: Store,
    parsed: ParsedEvent,
    settings: Settings,
    *,
    now_ms: int,
    jobs: int,
    days: float,
    interval_s: int,
) -> SampleSeed:
    """Snapshots every `interval_s` for the event's jobs (else `jobs` sample jobs) over at least
    `days` before the event's time, reaching back past what its retention makes due."""
    request = parsed.request
    pattern = KeyPattern(settings.key_pattern)
    as_of = now_ms
    if parsed.received_at is not None:
        as_of = int(parsed.received_at.timestamp() * 1000)
    named: dict[tuple[str, int], str | None] = {}
    removed: list[str] = []
    for record in parsed.oss_records:
        matched = pattern.match(record.oss.object.key)
        if matched is None:
            continue
        stamp = matched.create_timestamp or matched.window_start_ms
        named[(matched.job_id, stamp)] = record.oss.object.key
        if record.removed:
            removed.append(record.oss.object.key)
    if parsed.oss_records:
        as_of = max(int(r.eventTime.timestamp() * 1000) for r in parsed.oss_records)
    if request.JobId is not None:
        named.update({(request.JobId, stamp): None for stamp in request.CreateTimestampList or ()})

    job_ids = _event_jobs(parsed) | {job for job, _ in named}
    if not job_ids:
        job_ids = set(SAMPLE_JOB_IDS[:jobs])
    retention = request.RetentionDays or settings.retention_days
    lookback = request.LookbackDays or settings.lookback_days
    rules = request.Rules if request.Rules is not None else settings.retention_rules
    oldest = max([retention, *(rule.RetentionDays for rule in rules)])
    references = [stamp for _, stamp in named]
    for moment in (request.StartTime, request.EndTime):
        if moment is not None:
            references.append(int(moment.timestamp() * 1000))
    start = min([as_of - round((oldest + lookback + 1) * DAY_MS), as_of - round(days * DAY_MS),
                 *(stamp - DAY_MS for stamp in references)])
    end = max([as_of, *(stamp + HOUR_MS for stamp in references)])
    ordered = sorted(job_ids)
    seed(store, jobs=ordered, interval_s=interval_s, days=(end - start) / DAY_MS, end_ms=end)
    added = _add_named(store, named)
    if removed:
        store.delete_objects(_bucket(parsed), removed)
    return SampleSeed(tuple(ordered), start, end, added, tuple(removed))


def _event_jobs(parsed: ParsedEvent) -> set[str]:
    request = parsed.request
    if request.JobId is not None:
        return {request.JobId}
    if isinstance(request.JobIds, list) and request.JobIds != [ALL_JOBS]:
        return set(request.JobIds)
    return set()


def _bucket(parsed: ParsedEvent) -> str:
    return parsed.oss_records[0].oss.bucket.name if parsed.oss_records else DEFAULT_BUCKET


def _add_named(store: Store, named: dict[tuple[str, int], str | None]) -> int:
    """The records the event names, where seeding did not make them by chance."""
    existing = {(r.job_id, r.create_timestamp) for job in {j for j, _ in named}
                for r in store.records(job)}
    records = [
        Record(job, stamp, False, DEFAULT_BUCKET,
               key or render_key(DEFAULT_SEQUENCE_FORMAT, job, stamp, 0))
        for (job, stamp), key in sorted(named.items())
        if (job, stamp) not in existing
    ]
    return store.add_records(records)
