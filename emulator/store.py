"""The emulator's state: snapshot templates and jobs, their file records and the OSS objects, in
SQLite.

Records are indexed by job and creation time, so a list page is one index range scan even at
millions of records; objects are indexed by bucket and key, so records and objects can be joined
both ways to show what is out of step. One connection, shared by the server's threads under a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass

from emulator.store_report import JobState, StoreState, read_state
from emulator.store_schema import JOB_COLUMNS, RECORD_COLUMNS, Job, Record, Template, record
from emulator.store_templates import TemplateRows, marks

__all__ = ["Deleted", "Job", "JobState", "OverlayInRequest", "Record", "Store", "StoreState",
           "Template"]

INSERT_CHUNK = 50_000


class OverlayInRequest(Exception):
    """A delete named the overlay file, which ICE will not delete: nothing was deleted."""

    def __init__(self, create_timestamp: int) -> None:
        super().__init__(create_timestamp)
        self.create_timestamp = create_timestamp


@dataclass(frozen=True)
class Deleted:
    """What a delete of files did: whether each timestamp was found, and the OSS objects that went
    (bucket, key)."""

    found: list[bool]
    objects: list[tuple[str, str]]


def _like(keyword: str) -> str:
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Store(TemplateRows):
    """`path` is a SQLite file (kept between runs) or ":memory:" (the default, for tests)."""

    # --- Jobs -------------------------------------------------------------------------------

    def add_job(self, job: Job) -> None:
        with self._transaction() as db:
            db.execute(f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES ({marks(Job)})", astuple(job))

    def jobs(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY create_time_ms, job_id").fetchall()
        return [Job(*row) for row in rows]

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else Job(*row)

    def find_jobs(self, start_ms: int, end_ms: int, *, status: str | None, keyword: str,
                  descending: bool, offset: int, limit: int) -> tuple[list[Job], int]:
        """One page of the jobs created in [start_ms, end_ms], and how many there are in all.

        Jobs created in the same millisecond keep the order they were added in, so a page
        stays put while jobs are submitted (they come after every earlier one).
        """
        where = ["create_time_ms BETWEEN ? AND ?"]
        args: list[str | int] = [start_ms, end_ms]
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if keyword:
            where.append("(job_id = ? OR job_name LIKE ? ESCAPE '\\')")
            args += [keyword, _like(keyword)]
        condition = " AND ".join(where)
        order = "DESC" if descending else "ASC"
        with self._lock:
            (total,) = self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE {condition}", args).fetchone()
            rows = self._db.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE {condition}"
                f" ORDER BY create_time_ms {order}, rowid {order} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [Job(*row) for row in rows], int(total)

    def set_job_status(self, job_id: str, status: str, now_ms: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET status = ?, last_modified_ms = ? WHERE job_id = ?",
                       (status, now_ms, job_id))

    def set_snapshots_taken(self, job_id: str, count: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE jobs SET snapshots_taken = ? WHERE job_id = ?", (count, job_id))

    # --- Records and objects ----------------------------------------------------------------

    def add_records(self, records: Iterable[Record], *, with_objects: bool = True) -> int:
        """Insert records (and, unless told otherwise, their OSS objects); the number added."""
        added = 0
        chunk: list[Record] = []
        for item in records:
            chunk.append(item)
            if len(chunk) == INSERT_CHUNK:
                added += self._insert(chunk, with_objects)
                chunk = []
        return added + (self._insert(chunk, with_objects) if chunk else 0)

    def _insert(self, chunk: Sequence[Record], with_objects: bool) -> int:
        with self._transaction() as db:
            db.executemany(f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                           [astuple(r) for r in chunk])
            if with_objects:
                db.executemany("INSERT OR IGNORE INTO objects VALUES (?, ?)",
                               [(r.oss_bucket, r.oss_object) for r in chunk])
        return len(chunk)

    def add_snapshot(self, job: Job, stamp: int, sequence_key: str | None,
                     overlay_key: str | None) -> None:
        """One snapshot as ICE takes it: a new file (its record and object) and the overlay file
        overwritten in place, its record moved to just after the new file."""
        with self._transaction() as db:
            if sequence_key is not None:
                db.execute(f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?, ?, 0, ?, ?)",
                           (job.job_id, stamp, job.bucket, sequence_key))
                db.execute("INSERT OR IGNORE INTO objects VALUES (?, ?)",
                           (job.bucket, sequence_key))
            if overlay_key is not None:
                db.execute("DELETE FROM records WHERE job_id = ? AND is_overlay",
                           (job.job_id,))
                db.execute(f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?, ?, 1, ?, ?)",
                           (job.job_id, stamp + 1, job.bucket, overlay_key))
                db.execute("INSERT OR IGNORE INTO objects VALUES (?, ?)",
                           (job.bucket, overlay_key))
            db.execute("UPDATE jobs SET snapshots_taken = snapshots_taken + 1 WHERE job_id = ?",
                       (job.job_id,))

    def records(self, job_id: str | None = None) -> list[Record]:
        """Every record (of one job), oldest first. For tests and small stores."""
        query = f"SELECT {RECORD_COLUMNS} FROM records"
        args: tuple[str, ...] = ()
        if job_id is not None:
            query, args = query + " WHERE job_id = ?", (job_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY job_id, create_timestamp, id", args)
            return [record(row) for row in rows]

    def records_between(
        self, job_id: str, start_ms: int, end_ms: int, limit: int, *, descending: bool = False
    ) -> list[Record]:
        """At most `limit` records of the job with start_ms <= CreateTimestamp < end_ms."""
        order = "DESC" if descending else "ASC"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {RECORD_COLUMNS} FROM records"
                " WHERE job_id = ? AND create_timestamp >= ? AND create_timestamp < ?"
                f" ORDER BY create_timestamp {order}, id {order} LIMIT ?",
                (job_id, start_ms, end_ms, limit),
            )
            return [record(row) for row in rows]

    def delete_files(
        self, job_id: str, timestamps: Sequence[int], *, delete_objects: bool
    ) -> Deleted:
        """Delete the job's records with these timestamps, all or nothing.

        Raises OverlayInRequest, deleting nothing, when one of them is the overlay file.
        """
        found: list[bool] = []
        removed: list[tuple[str, str]] = []
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
                    for _, _, bucket, key in rows:
                        if db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?",
                                      (bucket, key)).rowcount:
                            removed.append((bucket, key))
        return Deleted(found, removed)

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

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> list[str]:
        """Remove objects as a person or script deleting them from OSS would: records stay.
        The keys that were there."""
        with self._transaction() as db:
            return [key for key in keys if db.execute(
                "DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key)).rowcount]

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
            return read_state(self._db, sample)
