"""The emulator's state: snapshot jobs, their file records and the OSS objects, in SQLite.

Records are indexed by job and creation time, so a list page is one index range scan even at
millions of records; objects are indexed by bucket and key, so records and objects can be joined
both ways to show what is out of step. One connection, shared by the server's threads under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
"""

INSERT_CHUNK = 50_000


@dataclass(frozen=True)
class Job:
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


@dataclass(frozen=True)
class Record:
    job_id: str
    create_timestamp: int
    is_overlay: bool
    oss_bucket: str
    oss_object: str


@dataclass(frozen=True)
class JobState:
    job_id: str
    records: int
    overlay_records: int
    oldest_ms: int | None
    newest_ms: int | None


@dataclass(frozen=True)
class StoreState:
    """What `python3 dev.py emulator state` shows."""

    jobs: tuple[JobState, ...]
    objects: int
    objects_without_records: int
    records_without_objects: int
    sample_objects_without_records: tuple[str, ...]
    sample_records_without_objects: tuple[str, ...]


class OverlayInRequest(Exception):
    """A delete named the overlay file, which ICE will not delete: nothing was deleted."""

    def __init__(self, create_timestamp: int) -> None:
        super().__init__(create_timestamp)
        self.create_timestamp = create_timestamp


_RECORD_COLUMNS = "job_id, create_timestamp, is_overlay, oss_bucket, oss_object"


def _record(row: tuple[str, int, int, str, str]) -> Record:
    return Record(row[0], row[1], bool(row[2]), row[3], row[4])


class Store:
    """`path` is a SQLite file (kept between runs) or ":memory:" (the default, for tests)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            # A development tool's state: speed over durability across power loss.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def add_job(self, job: Job) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.job_id, job.job_name, job.status, job.template_id, job.template_name,
                    job.time_interval, job.create_time_ms, job.bucket, job.endpoint,
                    job.overwrite_format, job.sequence_format,
                ),
            )

    def jobs(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY create_time_ms, job_id").fetchall()
        return [Job(*row) for row in rows]

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else Job(*row)

    def add_records(self, records: Iterable[Record], *, with_objects: bool = True) -> int:
        """Insert records (and, unless told otherwise, their OSS objects); the number added."""
        added = 0
        chunk: list[Record] = []
        for record in records:
            chunk.append(record)
            if len(chunk) == INSERT_CHUNK:
                added += self._insert(chunk, with_objects)
                chunk = []
        return added + (self._insert(chunk, with_objects) if chunk else 0)

    def _insert(self, chunk: Sequence[Record], with_objects: bool) -> int:
        with self._transaction() as db:
            db.executemany(
                f"INSERT INTO records ({_RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                [
                    (r.job_id, r.create_timestamp, int(r.is_overlay), r.oss_bucket, r.oss_object)
                    for r in chunk
                ],
            )
            if with_objects:
                db.executemany(
                    "INSERT OR IGNORE INTO objects VALUES (?, ?)",
                    [(r.oss_bucket, r.oss_object) for r in chunk],
                )
        return len(chunk)

    def records(self, job_id: str | None = None) -> list[Record]:
        """Every record (of one job), oldest first. For tests and small stores."""
        query = f"SELECT {_RECORD_COLUMNS} FROM records"
        args: tuple[str, ...] = ()
        if job_id is not None:
            query, args = query + " WHERE job_id = ?", (job_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY job_id, create_timestamp, id", args)
            return [_record(row) for row in rows]

    def records_between(
        self, job_id: str, start_ms: int, end_ms: int, limit: int, *, descending: bool = False
    ) -> list[Record]:
        """At most `limit` records of the job with start_ms <= CreateTimestamp < end_ms."""
        order = "DESC" if descending else "ASC"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM records"
                " WHERE job_id = ? AND create_timestamp >= ? AND create_timestamp < ?"
                f" ORDER BY create_timestamp {order}, id {order} LIMIT ?",
                (job_id, start_ms, end_ms, limit),
            )
            return [_record(row) for row in rows]

    def delete_files(
        self, job_id: str, timestamps: Sequence[int], *, delete_objects: bool
    ) -> list[bool]:
        """Delete the job's records with these timestamps, all or nothing; whether each was found.

        Raises OverlayInRequest, deleting nothing, when one of them is the overlay file.
        """
        found: list[bool] = []
        with self._transaction() as db:
            for stamp in timestamps:
                rows = db.execute(
                    "SELECT id, is_overlay, oss_bucket, oss_object FROM records"
                    " WHERE job_id = ? AND create_timestamp = ?",
                    (job_id, stamp),
                ).fetchall()
                if any(is_overlay for _, is_overlay, _, _ in rows):
                    raise OverlayInRequest(stamp)
                found.append(bool(rows))
                db.executemany("DELETE FROM records WHERE id = ?", [(row[0],) for row in rows])
                if delete_objects:
                    db.executemany(
                        "DELETE FROM objects WHERE bucket = ? AND key = ?",
                        [(bucket, key) for _, _, bucket, key in rows],
                    )
        return found

    def object_keys(self, bucket: str | None = None) -> list[str]:
        with self._lock:
            if bucket is None:
                rows = self._db.execute("SELECT key FROM objects ORDER BY bucket, key")
            else:
                rows = self._db.execute(
                    "SELECT key FROM objects WHERE bucket = ? ORDER BY key", (bucket,)
                )
            return [key for (key,) in rows]

    def put_objects(self, bucket: str, keys: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO objects VALUES (?, ?)", [(bucket, k) for k in keys]
            )

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        """Remove objects as a person or script deleting them from OSS would: records stay."""
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM objects WHERE bucket = ? AND key = ?", [(bucket, k) for k in keys]
            )

    def count_files(self, job_id: str, start_ms: int, end_ms: int) -> int:
        """Snapshot files (overlay records aside) of the job with start_ms <= timestamp < end_ms."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM records WHERE job_id = ? AND create_timestamp >= ?"
                " AND create_timestamp < ? AND NOT is_overlay",
                (job_id, start_ms, end_ms),
            ).fetchone()
        return int(count)

    def count_records(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM records").fetchone()
        return int(count)

    def state(self, sample: int = 5) -> StoreState:
        with self._lock:
            per_job = self._db.execute(
                "SELECT jobs.job_id, COUNT(records.id), COALESCE(SUM(records.is_overlay), 0),"
                " MIN(records.create_timestamp), MAX(records.create_timestamp)"
                " FROM jobs LEFT JOIN records ON records.job_id = jobs.job_id"
                " GROUP BY jobs.job_id ORDER BY jobs.create_time_ms, jobs.job_id"
            ).fetchall()
            (objects,) = self._db.execute("SELECT COUNT(*) FROM objects").fetchone()
            orphan_objects = (
                " FROM objects WHERE NOT EXISTS (SELECT 1 FROM records"
                " WHERE records.oss_bucket = objects.bucket AND records.oss_object = objects.key)"
            )
            orphan_records = (
                " FROM records WHERE NOT EXISTS (SELECT 1 FROM objects"
                " WHERE objects.bucket = records.oss_bucket AND objects.key = records.oss_object)"
            )
            (objects_alone,) = self._db.execute("SELECT COUNT(*)" + orphan_objects).fetchone()
            (records_alone,) = self._db.execute("SELECT COUNT(*)" + orphan_records).fetchone()
            object_samples = self._db.execute(
                "SELECT key" + orphan_objects + " ORDER BY bucket, key LIMIT ?", (sample,)
            ).fetchall()
            record_samples = self._db.execute(
                "SELECT oss_object" + orphan_records + " ORDER BY job_id, create_timestamp LIMIT ?",
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
