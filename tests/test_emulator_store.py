"""A store file written before jobs had callback URLs, stream URLs and templates opens as it is:
its jobs answer with the defaults, and live snapshots and new templates work on it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from emulator.store import Job, Store, Template

# The schema the emulator wrote before the job lifecycle came (commit 55714df).
FIRST_SCHEMA = """
CREATE TABLE jobs (job_id TEXT PRIMARY KEY, job_name TEXT NOT NULL, status TEXT NOT NULL,
    template_id TEXT NOT NULL, template_name TEXT NOT NULL, time_interval INTEGER NOT NULL,
    create_time_ms INTEGER NOT NULL, bucket TEXT NOT NULL, endpoint TEXT NOT NULL,
    overwrite_format TEXT NOT NULL, sequence_format TEXT NOT NULL);
CREATE TABLE records (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL,
    create_timestamp INTEGER NOT NULL, is_overlay INTEGER NOT NULL, oss_bucket TEXT NOT NULL,
    oss_object TEXT NOT NULL);
CREATE TABLE objects (bucket TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (bucket, key))
    WITHOUT ROWID;
INSERT INTO jobs VALUES ('job-1', 'camera', 'started', 'tpl', 'every-5s', 5, 1000, 'b',
    'oss-cn-shanghai.aliyuncs.com', 'o/{JobId}.jpg', 's/{JobId}/{UnixTimestamp}.jpg');
INSERT INTO records VALUES (1, 'job-1', 2000, 0, 'b', 's/job-1/2000.jpg');
INSERT INTO objects VALUES ('b', 's/job-1/2000.jpg');
"""


def test_a_store_from_before_the_job_lifecycle_opens_with_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(FIRST_SCHEMA)

    store = Store(path)

    assert store.jobs() == [Job("job-1", "camera", "started", "tpl", "every-5s", 5, 1000, "b",
                                "oss-cn-shanghai.aliyuncs.com", "o/{JobId}.jpg",
                                "s/{JobId}/{UnixTimestamp}.jpg")]
    job = store.jobs()[0]
    store.add_snapshot(job, 7000, "s/job-1/7000.jpg", "o/job-1.jpg")
    store.add_template(Template("t-1", "n", 5, "", "s/{JobId}/{Sequence}.jpg", 1, 1))
    store.close()
    reopened = Store(path)
    assert [r.create_timestamp for r in reopened.records("job-1")] == [2000, 7000, 7001]
    assert reopened.job("job-1") == replace(job, snapshots_taken=1)
    assert [t.template_id for t in reopened.templates()] == ["t-1"]
