"""What a store holds, per job, and where its records and OSS objects are out of step: what
`ice-emulator state` shows and `/_emulator/state` serves."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class JobState:
    job_id: str
    records: int
    overlay_records: int
    oldest_ms: int | None
    newest_ms: int | None


@dataclass(frozen=True)
class StoreState:
    jobs: tuple[JobState, ...]
    objects: int
    objects_without_records: int
    records_without_objects: int
    sample_objects_without_records: tuple[str, ...]
    sample_records_without_objects: tuple[str, ...]


_ORPHAN_OBJECTS = (
    " FROM objects WHERE NOT EXISTS (SELECT 1 FROM records"
    " WHERE records.oss_bucket = objects.bucket AND records.oss_object = objects.key)"
)
_ORPHAN_RECORDS = (
    " FROM records WHERE NOT EXISTS (SELECT 1 FROM objects"
    " WHERE objects.bucket = records.oss_bucket AND objects.key = records.oss_object)"
)


def read_state(db: sqlite3.Connection, sample: int) -> StoreState:
    """The report; the caller holds the store's lock."""
    per_job = db.execute(
        "SELECT jobs.job_id, COUNT(records.id), COALESCE(SUM(records.is_overlay), 0),"
        " MIN(records.create_timestamp), MAX(records.create_timestamp)"
        " FROM jobs LEFT JOIN records ON records.job_id = jobs.job_id"
        " GROUP BY jobs.job_id ORDER BY jobs.create_time_ms, jobs.job_id"
    ).fetchall()
    (objects,) = db.execute("SELECT COUNT(*) FROM objects").fetchone()
    (objects_alone,) = db.execute("SELECT COUNT(*)" + _ORPHAN_OBJECTS).fetchone()
    (records_alone,) = db.execute("SELECT COUNT(*)" + _ORPHAN_RECORDS).fetchone()
    object_samples = db.execute(
        "SELECT key" + _ORPHAN_OBJECTS + " ORDER BY bucket, key LIMIT ?", (sample,)
    ).fetchall()
    record_samples = db.execute(
        "SELECT oss_object" + _ORPHAN_RECORDS + " ORDER BY job_id, create_timestamp LIMIT ?",
        (sample,),
    ).fetchall()
    return StoreState(
        jobs=tuple(JobState(row[0], row[1], int(row[2]), row[3], row[4]) for row in per_job),
        objects=int(objects),
        objects_without_records=int(objects_alone),
        records_without_objects=int(records_alone),
        sample_objects_without_records=tuple(key for (key,) in object_samples),
        sample_records_without_objects=tuple(key for (key,) in record_samples),
    )
