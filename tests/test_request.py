"""Parsed event + settings + clock -> the plan of a run (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from emulator_support import JOB_A, JOB_B
from support import platform_fixture

from snapshot_purge import cursor
from snapshot_purge.config import Settings
from snapshot_purge.cursor import Remainder
from snapshot_purge.errors import BadRequest
from snapshot_purge.events import parse_event
from snapshot_purge.jobs import JobSelection, PendingJobs
from snapshot_purge.model import DAY_MS, JobWork, RunIdentity, Trigger
from snapshot_purge.plan import RangePolicy, RetentionPolicy
from snapshot_purge.request import OssEcho, RunPlan, build_plan
from snapshot_purge.rules import RetentionRule

NOW_MS = 1_764_050_400_000  # 2025-11-25T06:00:00Z
SETTINGS = Settings(job_ids=(JOB_A,), retention_days=7, lookback_days=2)


def plan(event: Any, settings: Settings = SETTINGS) -> RunPlan:
    return build_plan(parse_event(event), settings, NOW_MS)


def oss_event(*records: tuple[str, str], at: str = "2025-11-25T06:00:00.000Z") -> dict[str, Any]:
    """The platform's native OSS sample, with one record per (eventName, key)."""
    template = platform_fixture("oss-trigger-sample.json")["events"][0]
    events = []
    for name, key in records:
        record = json.loads(json.dumps(template))
        record["eventName"], record["oss"]["object"]["key"] = name, key
        record["eventTime"] = at
        events.append(record)
    return {"events": events}


def test_retention_sweep_covers_the_lookback_behind_the_cutoff_of_the_configured_jobs() -> None:
    made = plan({"RetentionDays": 1.5})

    assert made.trigger is Trigger.MANUAL and made.jobs == ()
    assert made.pending == PendingJobs(
        JobSelection((JOB_A,)), RetentionPolicy(NOW_MS, 1.5, 2, True)
    )
    cutoff = NOW_MS - int(1.5 * DAY_MS)
    assert made.pending.policy.work_for(JOB_A, None) == JobWork(
        JOB_A, True, ranges=((cutoff - 2 * DAY_MS, cutoff),)
    )


def test_request_fields_override_the_environment() -> None:
    event = {"JobIds": [JOB_B], "LookbackDays": 0.5, "DeleteOriginalFile": False, "DryRun": True,
             "MaxFiles": 10}

    made = plan(event, replace(SETTINGS, dry_run=False, max_files=99))

    assert made.pending == PendingJobs(
        JobSelection((JOB_B,)), RetentionPolicy(NOW_MS, 7, 0.5, False)
    )
    assert (made.dry_run, made.max_files) == (True, 10)


def test_a_timer_sweeps_as_of_its_trigger_time_so_a_redelivery_sweeps_the_same_windows() -> None:
    event = {"triggerTime": "2025-11-25T05:00:00Z", "triggerName": "sweep", "payload": ""}

    made = plan(event)

    assert made.trigger is Trigger.TIMER and made.as_of_ms == NOW_MS - 3_600_000
    assert isinstance(made.pending.policy, RetentionPolicy)  # type: ignore[union-attr]
    assert made.pending.policy.as_of_ms == NOW_MS - 3_600_000  # type: ignore[union-attr]


def test_a_timer_payload_that_is_not_json_runs_on_the_defaults_and_says_so() -> None:
    event = {"triggerTime": "2025-11-25T05:00:00Z", "triggerName": "sweep", "payload": "hourly"}

    made = plan(event)

    (note,) = made.notes
    assert note.startswith("payload 'hourly' is not a JSON request: the function's variables")


def test_every_job_is_selected_only_with_an_explicit_star() -> None:
    from_request = plan({"JobIds": "*", "JobKeyword": "news", "JobStatus": "started",
                         "ExcludeJobIds": [JOB_B]})
    from_variable = plan({}, Settings(discover_jobs=True))

    assert from_request.pending is not None and from_variable.pending is not None
    assert from_request.pending.selection == JobSelection(
        None, keyword="news", status="started", exclude=frozenset({JOB_B}), discovery_days=400
    )
    assert from_variable.pending.selection.job_ids is None
    with pytest.raises(BadRequest, match=r'^JobIds: no snapshot job given.*"\*" for every job'):
        plan({}, Settings())


def test_rules_in_the_request_replace_the_variable() -> None:
    configured = (RetentionRule(JobName="news-*", RetentionDays=3),)
    settings = replace(SETTINGS, retention_rules=configured)

    kept = plan({}, settings)
    replaced = plan({"Rules": [{"JobName": "sport-*", "RetentionDays": 1,
                                "DeleteOriginalFile": False}]}, settings)

    assert kept.pending is not None and replaced.pending is not None
    assert isinstance(kept.pending.policy, RetentionPolicy)
    assert isinstance(replaced.pending.policy, RetentionPolicy)
    assert kept.pending.policy.rules == configured
    assert replaced.pending.policy.rules == (
        RetentionRule(JobName="sport-*", RetentionDays=1, DeleteOriginalFile=False),
    )
    work = replaced.pending.policy.work_for(JOB_A, "sport-7")
    assert (work.rule, work.delete_original_file) == ("sport-*", False)
    assert replaced.pending.policy.work_for(JOB_A, "news-1").rule == "default"


def test_range_is_one_policy_for_every_selected_job() -> None:
    made = plan({"JobIds": [JOB_A, JOB_B], "StartTime": "2025-11-20T00:00:00Z",
                 "EndTime": "2025-11-21T12:00:00Z"})

    start = 1_763_596_800_000
    assert made.pending == PendingJobs(
        JobSelection((JOB_A, JOB_B)), RangePolicy(start, start + 36 * 3_600_000, True)
    )


def test_explicit_list_of_ten_thousand_is_one_job_of_named_files() -> None:
    stamps = list(range(1_660_638_613_798, 1_660_638_613_798 + 10_000 * 5000, 5000))

    made = plan({"JobId": JOB_B, "CreateTimestampList": stamps})

    assert made.jobs == (JobWork(JOB_B, True, timestamps=tuple(stamps)),)
    assert made.pending is None
    with pytest.raises(BadRequest, match=r"^CreateTimestampList: List should have at most 10000"):
        plan({"JobId": JOB_B, "CreateTimestampList": [*stamps, stamps[-1] + 5000]})


@pytest.mark.parametrize(
    ("event", "field", "problem"),
    [
        ({"CreateTimestampList": [1660638613798]}, "JobId", "is required"),
        ({"JobIds": [JOB_A], "CreateTimestampList": [1660638613798]}, "JobIds", "cannot be"),
        ({"JobId": JOB_A, "JobIds": [JOB_B]}, "JobIds", "give either JobId or JobIds"),
        ({"JobId": JOB_A, "CreateTimestampList": [1660638613798], "RetentionDays": 3},
         "RetentionDays", "cannot be combined with CreateTimestampList"),
        ({"StartTime": "2025-11-20T00:00:00Z"}, "EndTime", "is required"),
        ({"StartTime": "2025-11-21T00:00:00Z", "EndTime": "2025-11-20T00:00:00Z"}, "EndTime",
         "must be after StartTime"),
        ({"StartTime": "2025-11-20T00:00:00Z", "EndTime": "2030-01-01T00:00:00Z"}, "EndTime",
         "is in the future"),
        ({"StartTime": 1763596800, "EndTime": "2025-11-21T00:00:00Z"}, "StartTime",
         "give an ISO 8601 UTC time"),
        ({"RetentionDays": float("nan")}, "RetentionDays", "finite number"),
        ({"JobIds": "a1b2"}, "JobIds", 'give "*" for every job'),
        ({"JobIds": [JOB_A], "JobKeyword": "news"}, "JobKeyword", 'with "JobIds": "*"'),
        ({"Rules": [{"JobName": "x", "RetentionDays": 0}]}, "Rules[0].RetentionDays",
         "greater than 0"),
        ({"Cursor": "c1.abc", "JobId": JOB_A}, "JobId", "cannot be combined with Cursor"),
        ({"Cursor": "c1.abc", "DeleteOriginalFile": True}, "DeleteOriginalFile",
         "cannot be combined with Cursor"),
        ({"Cursor": "not-a-cursor"}, "Cursor", "is not a cursor of this function"),
        ({"Cursor": "c1.abc"}, "Cursor", "is damaged"),
    ],
)
def test_conflicting_or_incomplete_requests_name_the_field(event: dict[str, Any], field: str,
                                                           problem: str) -> None:
    with pytest.raises(BadRequest) as raised:
        plan(event)

    assert raised.value.field == field
    assert problem in raised.value.problem


def dry_cursor(dry_run: bool) -> str:
    remainder = Remainder(RunIdentity("run-1", hop=2), dry_run,
                          (JobWork(JOB_A, True, ranges=((NOW_MS - DAY_MS, NOW_MS - 1000),)),))
    return cursor.encode(remainder)


def test_a_cursor_resumes_with_the_settings_of_the_run_that_made_it() -> None:
    made = plan({"Cursor": dry_cursor(True)}, replace(SETTINGS, dry_run=False))

    assert made.dry_run is True
    assert made.identity == RunIdentity("run-1", hop=2)
    assert made.jobs == (JobWork(JOB_A, True, ranges=((NOW_MS - DAY_MS, NOW_MS - 1000),)),)


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_cursor_with_a_different_dry_run_is_refused_with_the_reason(dry_run: bool) -> None:
    with pytest.raises(BadRequest) as raised:
        plan({"Cursor": dry_cursor(dry_run), "DryRun": not dry_run})

    made_by = "a dry run" if dry_run else "a run that deletes"
    assert str(raised.value) == (
        f"DryRun: is {str(not dry_run).lower()}, but the cursor was made by {made_by}: a resumed"
        " run does what the original did. Leave DryRun out, or start a new run without the"
        " cursor"
    )


def test_a_deleting_cursor_is_refused_where_dry_run_is_switched_on() -> None:
    with pytest.raises(BadRequest, match=r"^DRY_RUN: is true on this function"):
        plan({"Cursor": dry_cursor(False)}, replace(SETTINGS, dry_run=True))


def test_removed_objects_of_one_job_become_one_listing_that_keeps_the_files() -> None:
    stamps = [NOW_MS - i * 5000 for i in range(3)]
    made = plan(oss_event(
        *[("ObjectRemoved:DeleteObjects", f"snapshots/{JOB_A}/{s}.jpg") for s in stamps],
        ("ObjectRemoved:DeleteObject", f"snapshots/{JOB_B}/{stamps[0]}.jpg"),
        ("ObjectRemoved:DeleteObject", "image/a.jpg"),
    ))

    assert made.trigger is Trigger.OSS and made.oss_echoes == ()
    assert made.ignored_objects == ("image/a.jpg",)
    job_a = {work.job_id: work for work in made.jobs}[JOB_A]
    assert job_a.only_objects == frozenset(f"snapshots/{JOB_A}/{s}.jpg" for s in stamps)
    assert job_a.delete_original_file is False
    ((start, end),) = job_a.ranges
    assert start <= min(stamps) and max(stamps) < end and end - start <= 5 * 60_000


def test_removed_objects_spread_over_days_get_one_listing_per_day() -> None:
    stamps = [NOW_MS - 4 * DAY_MS, NOW_MS - DAY_MS]
    made = plan(oss_event(*[("ObjectRemoved:DeleteObjects", f"snapshots/{JOB_A}/{s}.jpg")
                            for s in stamps]), replace(SETTINGS, retention_days=30))

    ((_, work),) = [(w.job_id, w) for w in made.jobs]
    assert len(work.ranges) == 2 and all(end - start <= DAY_MS for start, end in work.ranges)


def test_removed_objects_past_the_longest_retention_are_echoes_with_no_work() -> None:
    rules = (RetentionRule(JobName="news-*", RetentionDays=10),)
    settings = replace(SETTINGS, retention_days=7, retention_rules=rules)
    old, recent = NOW_MS - 11 * DAY_MS, NOW_MS - 9 * DAY_MS
    keys = [f"snapshots/{JOB_A}/{old}.jpg", f"snapshots/{JOB_A}/{recent}.jpg"]

    made = plan(oss_event(*[("ObjectRemoved:DeleteObject", key) for key in keys]), settings)

    assert made.oss_echoes == (OssEcho(JOB_A, keys[0], old),)
    assert [work.only_objects for work in made.jobs] == [frozenset({keys[1]})]


def test_created_object_drives_a_rolling_retention_for_its_job_as_of_the_event() -> None:
    made = plan(oss_event(("ObjectCreated:PutObject", f"snapshots/{JOB_B}/1764050000000.jpg"),
                          at="2025-11-25T05:00:00.000Z"), replace(SETTINGS, lookback_days=0.25))

    assert made.jobs == ()
    assert made.pending == PendingJobs(
        JobSelection((JOB_B,)), RetentionPolicy(NOW_MS - 3_600_000, 7, 0.25, True)
    )
