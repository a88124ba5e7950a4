"""Sample data: snapshot jobs that took a snapshot every `interval_s` seconds for `days` days.

Object keys follow the job's snapshot template, as ICE names them: `SequenceFormat` for each
snapshot (`{JobId}`, `{Date}`, `{UnixTimestamp}` in milliseconds, `{Sequence}`) and
`OverwriteFormat` for the one overlay file that each new snapshot overwrites in place.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone

from emulator.store import Job, Record, Store, Template

DEFAULT_SEQUENCE_FORMAT = "snapshots/{JobId}/{UnixTimestamp}.jpg"
DEFAULT_OVERWRITE_FORMAT = "snapshots/{JobId}/overlay.jpg"
DEFAULT_BUCKET = "snapshot-bucket"
DEFAULT_OSS_ENDPOINT = "oss-cn-shanghai.aliyuncs.com"
DAY_MS = 86_400_000
# The first jobs seeded by count get these ids, the ones the sample events in events/ name.
SAMPLE_JOB_IDS = (
    "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
)
PLACEHOLDER = re.compile(r"\{(JobId|Date|UnixTimestamp|Sequence)\}")


def render_key(template: str, job_id: str, create_timestamp: int, sequence: int) -> str:
    """An object key from a snapshot template's format, for one snapshot."""
    moment = datetime.fromtimestamp(create_timestamp / 1000, tz=timezone.utc)
    values = {
        "JobId": job_id,
        "Date": moment.strftime("%Y-%m-%d-%H-%M-%S"),
        "UnixTimestamp": str(create_timestamp),
        "Sequence": str(sequence),
    }
    return PLACEHOLDER.sub(lambda found: values[found.group(1)], template)


def seed(
    store: Store,
    *,
    jobs: list[str] | int,
    interval_s: int,
    days: float,
    end_ms: int | None = None,
    overlay: bool = True,
    sequence_format: str = DEFAULT_SEQUENCE_FORMAT,
    overwrite_format: str = DEFAULT_OVERWRITE_FORMAT,
    bucket: str = DEFAULT_BUCKET,
    random_seed: int = 0,
    names: Sequence[str] | None = None,
    created_ms: Sequence[int] | None = None,
) -> list[Job]:
    """Add jobs with a snapshot every `interval_s` seconds over the `days` before `end_ms`, each
    with its snapshot template.

    Timestamps carry milliseconds, as real ones do. The overlay record, when wanted, has the
    newest timestamp: each snapshot overwrites it, so it is never older than the last one.
    `names` and `created_ms` give each job its name and creation time (by default
    `channel-N`, and the time of its first snapshot), e.g. to spread jobs over many days.
    """
    if not 5 <= interval_s <= 3600:
        raise ValueError(f"interval_s {interval_s}: ICE snapshot intervals are 5..3600 seconds")
    if "{UnixTimestamp}" not in sequence_format and "{Sequence}" not in sequence_format:
        raise ValueError("sequence_format needs {UnixTimestamp} or {Sequence}, as ICE requires")
    rng = random.Random(random_seed)
    end = int(time.time() * 1000) if end_ms is None else end_ms
    start = end - int(days * DAY_MS)
    job_ids = jobs if isinstance(jobs, list) else [
        SAMPLE_JOB_IDS[n] if n < len(SAMPLE_JOB_IDS) else f"{rng.getrandbits(128):032x}"
        for n in range(jobs)
    ]
    for given, name in ((names, "names"), (created_ms, "created_ms")):
        if given is not None and len(given) != len(job_ids):
            raise ValueError(f"{name} has {len(given)} items for {len(job_ids)} jobs")
    added = []
    for index, job_id in enumerate(job_ids):
        created = start if created_ms is None else created_ms[index]
        template_id = f"{rng.getrandbits(128):032x}"
        if store.template(template_id) is not None:
            # Seeded before with the same random_seed: the same draw, but a template of its own.
            template_id = uuid.uuid4().hex
        template = Template(template_id, f"every-{interval_s}s", interval_s, overwrite_format,
                            sequence_format, created, created)
        job = Job(
            job_id=job_id,
            job_name=f"channel-{index + 1}" if names is None else names[index],
            status="started",
            template_id=template.template_id,
            template_name=template.template_name,
            time_interval=interval_s,
            create_time_ms=created,
            bucket=bucket,
            endpoint=DEFAULT_OSS_ENDPOINT,
            overwrite_format=overwrite_format,
            sequence_format=sequence_format,
            last_modified_ms=created,
        )
        store.add_template(template)
        store.add_job(job)
        taken = store.add_records(_snapshots(job, start, end, overlay, rng)) - int(overlay)
        store.set_snapshots_taken(job.job_id, taken)
        added.append(job)
    return added


def _snapshots(job: Job, start: int, end: int, overlay: bool, rng: random.Random
               ) -> Iterator[Record]:
    step = job.time_interval * 1000
    stamp = start + rng.randrange(1000)
    sequence = 0
    newest = stamp
    while stamp < end:
        yield Record(job.job_id, stamp, False, job.bucket,
                     render_key(job.sequence_format, job.job_id, stamp, sequence))
        newest = stamp
        sequence += 1
        stamp = start + sequence * step + rng.randrange(1000)
    if overlay:
        key = render_key(job.overwrite_format, job.job_id, newest, sequence)
        yield Record(job.job_id, newest + 1, True, job.bucket, key)
