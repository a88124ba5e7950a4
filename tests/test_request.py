"""Parsed event + settings + clock -> the work of a run."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from support import platform_fixture

from snapshot_purge.config import Settings
from snapshot_purge.errors import BadRequest
from snapshot_purge.events import parse_event
from snapshot_purge.model import DAY_MS, ExplicitTask, Slice, SliceTask, Trigger
from snapshot_purge.request import build_work

JOB_A = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
JOB_B = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
NOW_MS = 1_764_050_400_000  # 2025-11-25T06:00:00Z
SETTINGS = Settings(job_ids=(JOB_A,), retention_days=7, lookback_days=2)


def oss_event(*records: tuple[str, str]) -> dict[str, Any]:
    """The platform's native OSS sample, with one record per (eventName, key)."""
    sample = platform_fixture("oss-trigger-sample.json")
    template = sample["events"][0]
    events = []
    for name, key in records:
        record = json.loads(json.dumps(template))
        record["eventName"], record["oss"]["object"]["key"] = name, key
        events.append(record)
    return {"events": events}


def test_retention_sweep_scans_the_lookback_behind_the_cutoff_in_day_slices() -> None:
    work = build_work(parse_event({"RetentionDays": 1.5}), SETTINGS, NOW_MS)

    cutoff = NOW_MS - int(1.5 * DAY_MS)
    assert work.trigger is Trigger.MANUAL
    assert [t.slice for t in work.tasks if isinstance(t, SliceTask)] == [
        Slice(JOB_A, cutoff - 2 * DAY_MS, cutoff - DAY_MS),
        Slice(JOB_A, cutoff - DAY_MS, cutoff),
    ]
    assert all(isinstance(t, SliceTask) and t.delete_original_file for t in work.tasks)


def test_request_fields_override_the_environment() -> None:
    event = {"JobIds": [JOB_B], "LookbackDays": 0.5, "DeleteOriginalFile": False, "DryRun": True,
             "MaxFiles": 10}

    work = build_work(parse_event(event), replace(SETTINGS, dry_run=False, max_files=99), NOW_MS)

    cutoff = NOW_MS - 7 * DAY_MS
    assert work.tasks == (SliceTask(Slice(JOB_B, cutoff - DAY_MS // 2, cutoff), False),)
    assert (work.dry_run, work.max_files) == (True, 10)


def test_range_is_split_per_job_and_day() -> None:
    event = {"JobIds": [JOB_A, JOB_B], "StartTime": "2025-11-20T00:00:00Z",
             "EndTime": "2025-11-21T12:00:00Z"}

    work = build_work(parse_event(event), SETTINGS, NOW_MS)

    start = 1_763_596_800_000
    assert [t.slice for t in work.tasks if isinstance(t, SliceTask)] == [
        Slice(JOB_A, start, start + DAY_MS), Slice(JOB_A, start + DAY_MS, start + 36 * 3_600_000),
        Slice(JOB_B, start, start + DAY_MS), Slice(JOB_B, start + DAY_MS, start + 36 * 3_600_000),
    ]


def test_explicit_list_is_one_task_without_listing() -> None:
    event = {"JobId": JOB_B, "CreateTimestampList": [1660638613798, 1660638618798]}

    work = build_work(parse_event(event), SETTINGS, NOW_MS)

    assert work.tasks == (ExplicitTask(JOB_B, (1660638613798, 1660638618798), True),)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"CreateTimestampList": [1660638613798]}, "JobId"),
        ({"JobIds": [JOB_A], "CreateTimestampList": [1660638613798]}, "JobIds"),
        ({"JobId": JOB_A, "JobIds": [JOB_B]}, "JobIds"),
        ({"JobId": JOB_A, "CreateTimestampList": [1660638613798], "RetentionDays": 3},
         "RetentionDays"),
        ({"StartTime": "2025-11-20T00:00:00Z"}, "EndTime"),
        ({"StartTime": "2025-11-21T00:00:00Z", "EndTime": "2025-11-20T00:00:00Z"}, "EndTime"),
        ({"StartTime": "2025-11-20T00:00:00Z", "EndTime": "2030-01-01T00:00:00Z"}, "EndTime"),
        ({"StartTime": "2025-11-20T00:00:00Z", "EndTime": "2025-11-21T00:00:00Z",
          "RetentionDays": 2}, "RetentionDays"),
        ({"Cursor": [{"JobId": JOB_A, "StartTimestamp": 1, "EndTimestamp": 2,
                      "DeleteOriginalFile": True}], "JobId": JOB_A}, "JobId"),
    ],
)
def test_conflicting_or_incomplete_requests_name_the_field(event: dict[str, Any], field: str
                                                           ) -> None:
    with pytest.raises(BadRequest) as raised:
        build_work(parse_event(event), SETTINGS, NOW_MS)

    assert raised.value.field == field


def test_sweep_without_any_job_says_where_to_set_one() -> None:
    with pytest.raises(BadRequest, match="SNAPSHOT_JOB_IDS"):
        build_work(parse_event({"RetentionDays": 1}), Settings(), NOW_MS)


def test_cursor_resumes_exactly_the_slices_it_names() -> None:
    entry = {"JobId": JOB_A, "StartTimestamp": NOW_MS - DAY_MS, "EndTimestamp": NOW_MS - 1000,
             "DeleteOriginalFile": False, "OssObjects": ["k1"]}

    work = build_work(parse_event({"Cursor": [entry], "DryRun": True}), SETTINGS, NOW_MS)

    assert work.tasks == (
        SliceTask(Slice(JOB_A, NOW_MS - DAY_MS, NOW_MS - 1000), False, frozenset({"k1"})),
    )
    (task,) = work.tasks
    assert isinstance(task, SliceTask) and task.to_json() == entry


def test_removed_objects_of_one_job_become_one_listing_that_keeps_the_files() -> None:
    stamps = [1_764_000_000_000 + i * 5000 for i in range(3)]
    event = oss_event(
        *[("ObjectRemoved:DeleteObjects", f"snapshots/{JOB_A}/{s}.jpg") for s in stamps],
        ("ObjectRemoved:DeleteObject", f"snapshots/{JOB_B}/{stamps[0]}.jpg"),
        ("ObjectRemoved:DeleteObject", "image/a.jpg"),
    )

    work = build_work(parse_event(event), SETTINGS, NOW_MS)

    assert work.trigger is Trigger.OSS
    assert work.ignored_objects == ("image/a.jpg",)
    by_job = {t.slice.job_id: t for t in work.tasks if isinstance(t, SliceTask)}
    assert len(work.tasks) == 2
    task_a = by_job[JOB_A]
    assert task_a.only_objects == frozenset(f"snapshots/{JOB_A}/{s}.jpg" for s in stamps)
    assert task_a.delete_original_file is False
    assert task_a.slice.start_ms <= stamps[0] and stamps[-1] < task_a.slice.end_ms
    assert task_a.slice.end_ms - task_a.slice.start_ms <= 5 * 60_000


def test_removed_objects_spread_over_days_get_one_listing_per_day() -> None:
    stamps = [1_764_000_000_000, 1_764_000_000_000 + 3 * DAY_MS]
    event = oss_event(*[("ObjectRemoved:DeleteObjects", f"snapshots/{JOB_A}/{s}.jpg")
                        for s in stamps])

    work = build_work(parse_event(event), SETTINGS, NOW_MS)

    slices = [t.slice for t in work.tasks if isinstance(t, SliceTask)]
    assert len(slices) == 2
    assert all(s.end_ms - s.start_ms <= DAY_MS for s in slices)


def test_created_object_drives_a_rolling_retention_for_its_job() -> None:
    event = oss_event(("ObjectCreated:PutObject", f"snapshots/{JOB_B}/1764050000000.jpg"))
    event["events"][0]["eventTime"] = "2025-11-25T06:00:00.000Z"

    work = build_work(parse_event(event), replace(SETTINGS, lookback_days=0.25), NOW_MS)

    cutoff = NOW_MS - 7 * DAY_MS
    assert work.tasks == (SliceTask(Slice(JOB_B, cutoff - DAY_MS // 4, cutoff), True),)
