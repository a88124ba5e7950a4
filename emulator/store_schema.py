"""The store's tables and rows. A store file made before a column existed gets it on open, with
the default, so an older `--db` keeps working."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    job_name TEXT NOT NULL,
    status TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_name TEXT NOT NULL,
    time_interval INTEGER NOT NULL,
    create_time_ms INTEGER NOT NULL,
    bucket TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    overwrite_format TEXT NOT NULL,
    sequence_format TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs (create_time_ms);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    create_timestamp INTEGER NOT NULL,
    is_overlay INTEGER NOT NULL,
    oss_bucket TEXT NOT NULL,
    oss_object TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_time ON records (job_id, create_timestamp, id);
CREATE INDEX IF NOT EXISTS records_by_object ON records (oss_bucket, oss_object);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS templates (
    template_id TEXT PRIMARY KEY,
    template_name TEXT NOT NULL,
    time_interval INTEGER NOT NULL,
    overwrite_format TEXT NOT NULL,
    sequence_format TEXT NOT NULL,
    create_time_ms INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    type TEXT NOT NULL
);
"""

# Columns added to `jobs` after its first version: (name, SQL type and default).
ADDED_JOB_COLUMNS = (
    ("callback_url", "TEXT NOT NULL DEFAULT ''"),
    ("stream_url", "TEXT NOT NULL DEFAULT ''"),
    ("last_modified_ms", "INTEGER NOT NULL DEFAULT 0"),
    ("snapshots_taken", "INTEGER NOT NULL DEFAULT 0"),
)


def create(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for name, declaration in ADDED_JOB_COLUMNS:
        if name not in present:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")


@dataclass(frozen=True)
class Job:
    """A live snapshot job. `last_modified_ms` is when it was last changed (started, stopped);
    `snapshots_taken` numbers the next snapshot's `{Sequence}`."""

    job_id: str
    job_name: str
    status: str
    template_id: str
    template_name: str
    time_interval: int
    create_time_ms: int
    bucket: str
    endpoint: str
    overwrite_format: str
    sequence_format: str
    callback_url: str = ""
    stream_url: str = ""
    last_modified_ms: int = 0
    snapshots_taken: int = 0


@dataclass(frozen=True)
class Template:
    template_id: str
    template_name: str
    time_interval: int
    overwrite_format: str
    sequence_format: str
    create_time_ms: int
    last_modified_ms: int
    type: str = "custom"


@dataclass(frozen=True)
class Record:
    job_id: str
    create_timestamp: int
    is_overlay: bool
    oss_bucket: str
    oss_object: str


JOB_COLUMNS = ", ".join(f.name for f in fields(Job))
TEMPLATE_COLUMNS = ", ".join(f.name for f in fields(Template))
RECORD_COLUMNS = ", ".join(f.name for f in fields(Record))


def record(row: tuple[str, int, int, str, str]) -> Record:
    return Record(row[0], row[1], bool(row[2]), row[3], row[4])
