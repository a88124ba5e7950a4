"""Safe in an operator's hands: a dry run never turns into a real one, cursors stay small, failures
are loud, credential problems stop at once, explicit lists of any length, helpful notes."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator

import pytest
from emulator_support import DELETE, JOB_A, JOB_B, LIST_FILES, NOW_MS
from support import Harness, TickingClock

from devtools.fc_context import FcContext, FcFunction
from emulator.seed import seed
from emulator.server import Emulator
from emulator.store import Record, Store
from snapshot_purge.errors import BadRequest, PermissionDenied
from snapshot_purge.model import DAY_MS


@pytest.fixture
def harness() -> Iterator[Harness]:
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=300, days=12, end_ms=NOW_MS)
    with Emulator(store) as emulator:
        yield Harness(emulator, NOW_MS)


def short_lived(harness: Harness) -> FcContext:
    return FcContext(credentials=harness.context.credentials, function=FcFunction(timeout=10))


def test_a_dry_run_stopped_by_its_deadline_resumes_as_a_dry_run_and_deletes_nothing(
    harness: Harness,
) -> None:
    records, objects = harness.records(), harness.objects()
    dry_range = {"JobIds": [JOB_A, JOB_B], "StartTime": "2026-11-09T00:00:00Z",
                 "EndTime": "2026-11-19T00:00:00Z", "DryRun": True}

    first = harness.invoke(dry_range, context=short_lived(harness), monotonic=TickingClock(0.5),
                           DEADLINE_MARGIN_SECONDS="0", DELETE_ORIGINAL_FILE="true")
    resumed = harness.invoke({"Cursor": first["cursor"]})

    assert first["complete"] is False and first["stopped_reason"].startswith("deadline")
    assert resumed["complete"] is True and resumed["dry_run"] is True
    assert first["files"]["DryRun"] > 0 and resumed["files"]["DryRun"] > 0
    assert resumed["files"]["OK"] == 0 and harness.emulator.count(DELETE) == 0
    assert harness.records() == records and harness.objects() == objects
    reported = [(line["job_id"], line["create_timestamp"]) for line in harness.logs.files()]
    due = {(r.job_id, r.create_timestamp) for r in harness.emulator.store.records()
           if 1794182400000 <= r.create_timestamp < 1795046400000 and not r.is_overlay}
    assert sorted(reported) == sorted(due), "every file reported once, across both runs"


def test_a_cursor_with_another_dry_run_setting_is_refused_and_nothing_is_deleted(
    harness: Harness,
) -> None:
    records = harness.records()
    first = harness.invoke({"JobIds": [JOB_A, JOB_B], "RetentionDays": 1, "LookbackDays": 10,
                            "DryRun": True},
                           context=short_lived(harness), monotonic=TickingClock(0.5),
                           DEADLINE_MARGIN_SECONDS="0")

    with pytest.raises(BadRequest, match=r"^DryRun: is false, but the cursor was made by a dry"):
        harness.invoke({"Cursor": first["cursor"], "DryRun": False})

    assert harness.records() == records and harness.emulator.count(DELETE) == 0


def test_a_ten_year_dry_run_leaves_a_cursor_of_a_few_hundred_bytes(harness: Harness) -> None:
    decade = {"JobIds": [JOB_A, JOB_B], "StartTime": "2016-11-20T00:00:00Z",
              "EndTime": "2026-11-20T00:00:00Z", "DryRun": True}

    summary = harness.invoke(decade, context=short_lived(harness), monotonic=TickingClock(0.5),
                             DEADLINE_MARGIN_SECONDS="0")

    assert summary["complete"] is False
    assert len(summary["cursor"]) < 500
    (line,) = [line for line in harness.logs.stream.getvalue().splitlines()
               if '"purge_summary"' in line]
    assert len(line) < 2000


def test_without_any_credentials_the_run_stops_at_the_first_call_saying_what_to_set(
    harness: Harness, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("ALIBABA_CLOUD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))

    with pytest.raises(PermissionDenied) as denied:
        harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 1},
                       context=FcContext(credentials=None))

    assert denied.value.code == "CredentialsUnavailable"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(denied.value)
    (summary,) = harness.logs.summaries()
    assert summary["level"] == "ERROR" and summary["retries"] == 0
    assert harness.emulator.count(LIST_FILES) == 0


def test_450_named_files_go_in_three_calls_with_the_overlay_kept_apart(harness: Harness) -> None:
    store = harness.emulator.store
    files = [r for r in store.records(JOB_A) if not r.is_overlay][:449]
    overlay = next(r for r in store.records(JOB_A) if r.is_overlay)
    stamps = [r.create_timestamp for r in files] + [overlay.create_timestamp]

    summary = harness.invoke({"JobId": JOB_A, "CreateTimestampList": stamps})

    assert summary["files"]["OK"] == 449 and summary["files"]["Skipped"] == 1
    gone = {r.create_timestamp for r in files}
    assert not gone & {r.create_timestamp for r in store.records(JOB_A)}
    skipped = [line for line in harness.logs.files() if line["result"] == "Skipped"]
    assert [(line["create_timestamp"], line["reason"]) for line in skipped] == [
        (overlay.create_timestamp, "OverlayNotSupported")]
    # ceil(450 / 200) = 3 batches; the last, of 50, held the overlay: it is halved until the
    # overlay is alone, each halving one refused call and one that deletes the other half.
    halvings = math.ceil(math.log2(450 - 2 * 200))
    assert harness.emulator.count(DELETE, "OK") == 2 + halvings
    assert harness.emulator.count(DELETE, "OverlayNotSupported") == 1 + halvings


@pytest.mark.parametrize(
    ("request_fields", "level"),
    [
        ({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 1}, "INFO"),
        ({"JobIds": [JOB_A, "f" * 32], "RetentionDays": 1, "LookbackDays": 1}, "WARNING"),
    ],
)
def test_the_summary_level_says_how_the_run_went(harness: Harness,
                                                 request_fields: dict[str, object],
                                                 level: str) -> None:
    harness.invoke(request_fields)

    (summary,) = harness.logs.summaries()
    assert summary["level"] == level


def test_an_incomplete_run_warns_and_failed_files_are_an_error(harness: Harness) -> None:
    harness.invoke({"JobId": JOB_A, "RetentionDays": 1, "LookbackDays": 5},
                   context=short_lived(harness), monotonic=TickingClock(0.5),
                   DEADLINE_MARGIN_SECONDS="0")
    store = harness.emulator.store
    store.add_records([Record(JOB_B, NOW_MS - 2 * DAY_MS + 7, False, "snapshot-bucket",
                              f"snapshots/{JOB_B}/x.jpg")])
    harness.emulator.faults = harness.emulator.faults.__class__(error_rate=1.0)
    harness.invoke({"JobId": JOB_B, "CreateTimestampList": [NOW_MS - 2 * DAY_MS + 7]},
                   ICE_MAX_ATTEMPTS="1")

    incomplete, failed = harness.logs.summaries()
    assert (incomplete["level"], incomplete["complete"]) == ("WARNING", False)
    assert (failed["level"], failed["files"]["Failed"]) == ("ERROR", 1)


def test_a_timer_payload_that_is_not_json_is_noted_and_the_variables_decide(harness: Harness
                                                                            ) -> None:
    event = {"triggerTime": "2026-11-20T12:00:00Z", "triggerName": "t", "payload": "hourly"}

    summary = harness.invoke(event, SNAPSHOT_JOB_IDS=JOB_A, RETENTION_DAYS="1", LOOKBACK_DAYS="1")

    (note,) = [line for line in harness.logs.lines() if line["message"] == "request_note"]
    assert note["level"] == "WARNING" and note["note"].startswith("payload 'hourly' is not")
    assert summary["files"]["OK"] == 288 and json.loads(json.dumps(summary))["complete"]
