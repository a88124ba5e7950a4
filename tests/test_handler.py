"""The handler end to end: events in, the official SDK over HTTP to the emulator, records and
objects gone or kept, one log line per file and a summary that adds up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import DELETE, JOB_A, JOB_B, LIST_FILES, NOW_MS
from support import Harness, platform_fixture

from devtools.fc_context import FcContext, FcCredentials
from emulator.seed import seed
from emulator.server import Emulator
from emulator.store import Record, Store
from snapshot_purge.errors import BadRequest, PermissionDenied
from snapshot_purge.model import DAY_MS


@pytest.fixture
def harness() -> Iterator[Harness]:
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=600, days=4, end_ms=NOW_MS)
    with Emulator(store) as emulator:
        yield Harness(emulator, NOW_MS)


def due_between(harness: Harness, start_ms: int, end_ms: int, jobs: tuple[str, ...] = (JOB_A, JOB_B)
                ) -> list[Record]:
    return [r for r in harness.emulator.store.records()
            if r.job_id in jobs and start_ms <= r.create_timestamp < end_ms and not r.is_overlay]


def timer_event(policy: dict[str, Any]) -> dict[str, Any]:
    return {"triggerTime": "2026-11-20T12:00:00Z", "triggerName": "sweep",
            "payload": json.dumps(policy)}


def file_lines(harness: Harness) -> dict[tuple[str, int], dict[str, Any]]:
    lines = harness.logs.files()
    keyed = {(line["job_id"], line["create_timestamp"]): line for line in lines}
    assert len(keyed) == len(lines), "a file was reported twice"
    return keyed


def test_timer_sweep_deletes_exactly_the_files_past_retention_within_the_lookback(
    harness: Harness,
) -> None:
    cutoff = NOW_MS - DAY_MS
    due = due_between(harness, cutoff - DAY_MS, cutoff)
    records_before, objects_before = harness.records(), harness.objects()

    summary = harness.invoke(timer_event({"RetentionDays": 1, "LookbackDays": 1}),
                             SNAPSHOT_JOB_IDS=f"{JOB_A},{JOB_B}")

    gone = {(r.job_id, r.create_timestamp) for r in due}
    assert harness.records() == records_before - gone
    assert harness.objects() == objects_before - {r.oss_object for r in due}
    lines = file_lines(harness)
    assert set(lines) == gone
    for record in due:
        line = lines[(record.job_id, record.create_timestamp)]
        assert line["result"] == "OK"
        assert line["oss_object"] == record.oss_object
        assert line["trigger"] == "timer"
        assert line["delete_original_file"] is True and line["dry_run"] is False
        assert line["request_id"] == harness.context.request_id
        assert line["api_request_id"]
        assert line["level"] == "INFO"
    assert summary["complete"] is True
    assert summary["files"] == {"OK": len(due), "NotFound": 0, "DryRun": 0, "Skipped": 0,
                                "Failed": 0}
    pages_per_job = -(-len(due) // 2 // 100)
    assert summary["api_calls"] == {
        LIST_FILES: harness.emulator.count(LIST_FILES),
        DELETE: harness.emulator.count(DELETE),
    }
    assert harness.emulator.count(DELETE) == 2 * -(-len(due) // 2 // 200)
    assert harness.emulator.count(LIST_FILES) <= 2 * (pages_per_job + 1)
    assert harness.logs.summaries() == [{**harness.logs.summaries()[0], **summary}]


def test_file_at_the_cutoff_stays_and_file_at_the_window_start_goes(harness: Harness) -> None:
    cutoff = NOW_MS - DAY_MS
    start = cutoff - DAY_MS
    harness.emulator.store.add_records([
        Record(JOB_A, cutoff, False, "snapshot-bucket", "edge/at-cutoff.jpg"),
        Record(JOB_A, cutoff - 1, False, "snapshot-bucket", "edge/just-before-cutoff.jpg"),
        Record(JOB_A, start, False, "snapshot-bucket", "edge/at-start.jpg"),
        Record(JOB_A, start - 1, False, "snapshot-bucket", "edge/just-before-start.jpg"),
    ])

    harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 1})

    objects = harness.objects()
    assert "edge/at-cutoff.jpg" in objects
    assert "edge/just-before-start.jpg" in objects
    assert "edge/just-before-cutoff.jpg" not in objects
    assert "edge/at-start.jpg" not in objects


def test_overlay_file_in_the_window_is_reported_and_kept(harness: Harness) -> None:
    stamp = NOW_MS - DAY_MS - 3_600_500
    harness.emulator.store.add_records(
        [Record(JOB_A, stamp, True, "snapshot-bucket", f"snapshots/{JOB_A}/overlay.jpg")]
    )

    summary = harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 1})

    assert (JOB_A, stamp) in harness.records()
    line = file_lines(harness)[(JOB_A, stamp)]
    assert (line["result"], line["reason"]) == ("Skipped", "overlay")
    assert summary["files"]["Skipped"] == 1


def test_explicit_list_reports_each_file_and_keeps_objects_unless_asked(harness: Harness
                                                                        ) -> None:
    kept, also = harness.emulator.store.records(JOB_B)[:2]
    missing = kept.create_timestamp + 1

    summary = harness.invoke({"JobId": JOB_B, "DeleteOriginalFile": False,
                              "CreateTimestampList": [kept.create_timestamp, missing,
                                                      also.create_timestamp]})

    assert (JOB_B, kept.create_timestamp) not in harness.records()
    assert (JOB_B, also.create_timestamp) not in harness.records()
    assert {kept.oss_object, also.oss_object} <= harness.objects()
    lines = file_lines(harness)
    assert lines[(JOB_B, missing)]["result"] == "NotFound"
    assert lines[(JOB_B, kept.create_timestamp)]["result"] == "OK"
    assert lines[(JOB_B, kept.create_timestamp)]["delete_original_file"] is False
    assert "oss_object" not in lines[(JOB_B, missing)]
    assert summary["trigger"] == "manual"
    assert harness.emulator.count(LIST_FILES) == 0 and harness.emulator.count(DELETE) == 1


def test_overlay_in_an_explicit_list_is_isolated_and_the_rest_deleted(harness: Harness) -> None:
    overlay = next(r for r in harness.emulator.store.records(JOB_A) if r.is_overlay)
    others = [r.create_timestamp for r in harness.emulator.store.records(JOB_A)[:7]]

    summary = harness.invoke({"JobId": JOB_A,
                              "CreateTimestampList": [*others[:3], overlay.create_timestamp,
                                                      *others[3:]]})

    assert (JOB_A, overlay.create_timestamp) in harness.records()
    assert not {(JOB_A, s) for s in others} & harness.records()
    line = file_lines(harness)[(JOB_A, overlay.create_timestamp)]
    assert (line["result"], line["reason"]) == ("Skipped", "OverlayNotSupported")
    assert summary["files"]["OK"] == 7 and summary["files"]["Skipped"] == 1
    assert harness.emulator.count(DELETE, code="OverlayNotSupported") >= 1


def test_redelivered_explicit_delete_is_harmless(harness: Harness) -> None:
    stamps = [r.create_timestamp for r in harness.emulator.store.records(JOB_A)[:3]]
    harness.invoke({"JobId": JOB_A, "CreateTimestampList": stamps})

    again = harness.invoke({"JobId": JOB_A, "CreateTimestampList": stamps})

    assert again["files"]["NotFound"] == 3 and again["complete"] is True
    reasons = {line["reason"] for line in harness.logs.files()[-3:]}
    assert reasons == {"NoValidSnapshot"}


def test_range_deletes_what_lies_in_it_for_each_job(harness: Harness) -> None:
    start, end = NOW_MS - 3 * DAY_MS - 7000, NOW_MS - 2 * DAY_MS - 3_600_000 - 7000
    due = due_between(harness, start, end)
    before = harness.records()

    summary = harness.invoke({"JobIds": [JOB_A, JOB_B], "StartTime": "2026-11-17T12:00:00Z",
                              "EndTime": "2026-11-18T11:00:00Z"})

    assert harness.records() == before - {(r.job_id, r.create_timestamp) for r in due}
    assert summary["files"]["OK"] == len(due) > 0


def test_dry_run_lists_and_reports_but_deletes_nothing(harness: Harness) -> None:
    cutoff = NOW_MS - DAY_MS
    due = due_between(harness, cutoff - DAY_MS, cutoff, (JOB_A,))
    before, objects = harness.records(), harness.objects()

    summary = harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 1,
                              "DryRun": True})

    assert harness.records() == before and harness.objects() == objects
    assert harness.emulator.count(DELETE) == 0
    lines = file_lines(harness)
    assert set(lines) == {(r.job_id, r.create_timestamp) for r in due}
    assert all(line["result"] == "DryRun" and line["dry_run"] is True
               and "api_request_id" not in line for line in lines.values())
    assert summary["files"]["DryRun"] == len(due)


def test_max_files_refuses_the_whole_run_before_any_delete(harness: Harness) -> None:
    before = harness.records()

    with pytest.raises(BadRequest, match=r"MaxFiles: 288 files are due, more than the limit of 10"):
        harness.invoke({"JobIds": [JOB_A, JOB_B], "RetentionDays": 1, "LookbackDays": 1,
                        "MaxFiles": 10})

    assert harness.records() == before
    assert harness.emulator.count(DELETE) == 0
    (summary,) = harness.logs.summaries()
    assert summary["complete"] is False and "MaxFiles" in summary["stopped_reason"]


def test_max_files_within_the_limit_deletes_in_full_batches(harness: Harness) -> None:
    cutoff = NOW_MS - DAY_MS
    due = due_between(harness, cutoff - 2 * DAY_MS, cutoff, (JOB_A,))

    summary = harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 2,
                              "MaxFiles": len(due)})

    assert summary["files"]["OK"] == len(due)
    assert harness.emulator.count(DELETE) == -(-len(due) // 200)


def test_unknown_job_is_skipped_and_the_others_go_on(harness: Harness) -> None:
    unknown = "ffffffffffffffffffffffffffffffff"
    due = due_between(harness, NOW_MS - 2 * DAY_MS, NOW_MS - DAY_MS, (JOB_A,))

    summary = harness.invoke({"JobIds": [unknown, JOB_A], "RetentionDays": 1,
                              "LookbackDays": 1})

    assert summary["jobs_not_found"] == [unknown]
    assert summary["files"]["OK"] == len(due)
    (logged,) = harness.logs.summaries()
    assert summary["errors"] == [] and logged["level"] == "WARNING"


def test_wrong_secret_stops_the_run_with_a_clear_error_and_deletes_nothing(harness: Harness
                                                                           ) -> None:
    before = harness.records()
    wrong = FcContext(credentials=FcCredentials(harness.emulator.credentials.access_key_id,
                                                "not-the-secret"))

    with pytest.raises(PermissionDenied, match=r"SignatureDoesNotMatch.*access key secret"):
        harness.invoke({"JobIds": [JOB_A, JOB_B], "RetentionDays": 1, "LookbackDays": 2},
                       context=wrong)

    assert harness.records() == before
    (summary,) = harness.logs.summaries()
    assert summary["complete"] is False
    assert summary["stopped_reason"].startswith("permission denied")
    assert summary["cursor"], "the undone slices are returned for a retry"


def test_python312_runtime_reads_the_role_credentials_from_the_environment(harness: Harness
                                                                           ) -> None:
    credentials = harness.emulator.credentials
    stamps = [r.create_timestamp for r in harness.emulator.store.records(JOB_A)[:2]]

    summary = harness.invoke(
        {"JobId": JOB_A, "CreateTimestampList": stamps},
        context=FcContext(credentials=None),
        ALIBABA_CLOUD_ACCESS_KEY_ID=credentials.access_key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=credentials.access_key_secret,
    )

    assert summary["files"]["OK"] == 2


def oss_event(*records: tuple[str, str]) -> dict[str, Any]:
    sample = platform_fixture("oss-trigger-sample.json")
    events = []
    for name, key in records:
        record = json.loads(json.dumps(sample["events"][0]))
        record["eventName"], record["oss"]["object"]["key"] = name, key
        record["oss"]["bucket"]["name"] = "snapshot-bucket"
        events.append(record)
    return {"events": events}


def test_objects_removed_from_oss_lose_their_records_in_one_listing_and_one_delete_per_job(
    harness: Harness,
) -> None:
    store = harness.emulator.store
    removed = store.records(JOB_A)[10:13] + store.records(JOB_B)[20:21]
    store.delete_objects("snapshot-bucket", [r.oss_object for r in removed])
    before, objects = harness.records(), harness.objects()
    event = oss_event(*[("ObjectRemoved:DeleteObjects", r.oss_object) for r in removed],
                      ("ObjectRemoved:DeleteObject", "unrelated/file.txt"))

    summary = harness.invoke(json.dumps(event).encode())

    assert harness.records() == before - {(r.job_id, r.create_timestamp) for r in removed}
    assert harness.objects() == objects
    lines = file_lines(harness)
    for record in removed:
        line = lines[(record.job_id, record.create_timestamp)]
        assert (line["result"], line["oss_object"], line["trigger"]) == (
            "OK", record.oss_object, "oss")
        assert line["delete_original_file"] is False
    assert harness.emulator.count(LIST_FILES) == 2 and harness.emulator.count(DELETE) == 2
    assert summary["ignored_objects"] == 1


def test_redelivered_oss_removal_reports_not_found_without_deleting(harness: Harness) -> None:
    record = harness.emulator.store.records(JOB_A)[5]
    event = oss_event(("ObjectRemoved:DeleteObject", record.oss_object))
    harness.invoke(event)
    calls = harness.emulator.count(DELETE)

    again = harness.invoke(event)

    assert harness.emulator.count(DELETE) == calls
    assert again["files"]["NotFound"] == 1
    line = harness.logs.files()[-1]
    assert (line["result"], line["reason"], line["oss_object"], line["create_timestamp"]) == (
        "NotFound", "NoRecord", record.oss_object, record.create_timestamp)


def test_eventbridge_removal_drops_the_record(harness: Harness) -> None:
    record = harness.emulator.store.records(JOB_B)[3]
    event = platform_fixture("oss-eventbridge-sample.json")
    event["data"]["eventName"] = "ObjectRemoved:DeleteObject"
    event["type"] = "oss:ObjectRemoved:DeleteObject"
    event["data"]["oss"]["object"]["key"] = record.oss_object

    harness.invoke(event)

    assert (JOB_B, record.create_timestamp) not in harness.records()
    assert record.oss_object in harness.objects()


def test_created_object_drives_rolling_retention_for_its_job_only(harness: Harness) -> None:
    cutoff = NOW_MS - DAY_MS
    due = due_between(harness, cutoff - 3_600_000, cutoff, (JOB_B,))
    event = oss_event(("ObjectCreated:PutObject", f"snapshots/{JOB_B}/{NOW_MS}.jpg"))
    event["events"][0]["eventTime"] = "2026-11-20T12:00:07.000Z"

    summary = harness.invoke(event, RETENTION_DAYS="1", LOOKBACK_DAYS=str(1 / 24))

    assert summary["files"]["OK"] == len(due) > 0
    assert {line["job_id"] for line in harness.logs.files()} == {JOB_B}


@pytest.mark.parametrize(
    "event",
    [
        b"{broken",
        {"JobId": JOB_A, "CreateTimestampList": [1795176007]},
        {"JobId": JOB_A, "CreateTimestampList": [-5]},
        {"JobId": JOB_A, "CreateTimestampList": []},
        {"JobId": JOB_A, "CreateTimestampList": list(range(10**12, 10**12 + 10_001))},
        {"JobId": JOB_A, "RetentionDays": "7"},
        {"JobId": JOB_A, "Retention": 7},
        {"JobId": JOB_A, "StartTime": "2026-11-17T00:00:00Z"},
        {"Cursor": [{"JobId": JOB_A, "StartTimestamp": NOW_MS - 3 * DAY_MS,
                     "EndTimestamp": NOW_MS - DAY_MS, "DeleteOriginalFile": False,
                     "OssObjects": [f"snapshots/{JOB_A}/{NOW_MS - 2 * DAY_MS}.jpg"]}]},
    ],
)
def test_bad_input_is_refused_and_every_file_stays(harness: Harness, event: Any) -> None:
    before, objects = harness.records(), harness.objects()

    with pytest.raises(BadRequest):
        harness.invoke(event)

    assert harness.records() == before and harness.objects() == objects
    assert harness.emulator.count(LIST_FILES) == 0 and harness.emulator.count(DELETE) == 0
    (line,) = harness.logs.lines()
    assert line["message"] == "bad_request" and line["level"] == "ERROR"


def test_key_pattern_without_a_time_refuses_oss_events_and_keeps_the_record(harness: Harness
                                                                            ) -> None:
    record = harness.emulator.store.records(JOB_A)[40]

    with pytest.raises(BadRequest, match="SNAPSHOT_KEY_PATTERN"):
        harness.invoke(oss_event(("ObjectRemoved:DeleteObject", record.oss_object)),
                       SNAPSHOT_KEY_PATTERN="snapshots/{JobId}/{Sequence}.jpg")
    assert (JOB_A, record.create_timestamp) in harness.records()
