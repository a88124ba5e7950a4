"""The emulator's four actions through the official SDK: the exact answers, every error code and
HTTP status, and the store left as the real service would leave it. Also the store's state report
(in process and over HTTP) and the server's socket."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest
from emulator_support import (
    BUCKET,
    DAY_MS,
    DELETE,
    GET_JOB,
    HOUR_MS,
    JOB_A,
    JOB_B,
    NOW_MS,
    SECOND_MS,
    Rig,
    contents,
    epoch_ms,
    get_json,
    iso,
    make_job,
    outcome,
    refused,
    running,
    sdk_client,
)

from emulator.seed import DEFAULT_OSS_ENDPOINT, seed
from emulator.server import Emulator
from emulator.store import JobState, Record, Store, StoreState

SEQUENCE_FORMAT = "live/{JobId}/{UnixTimestamp}.jpg"
OVERWRITE_FORMAT = "live/{JobId}/latest.jpg"
DAY_START_MS = NOW_MS - DAY_MS


@pytest.fixture
def rig() -> Iterator[Rig]:
    """Two jobs, a snapshot every 30 minutes for two days before NOW, each with its overlay."""
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=1800, days=2, end_ms=NOW_MS,
         sequence_format=SEQUENCE_FORMAT, overwrite_format=OVERWRITE_FORMAT)
    with running(store) as started:
        yield started


def snapshots(store: Store, job_id: str) -> list[Record]:
    return [record for record in store.records(job_id) if not record.is_overlay]


def overlay(store: Store, job_id: str) -> Record:
    (found,) = [record for record in store.records(job_id) if record.is_overlay]
    return found


def absent_stamps(store: Store, job_id: str, count: int) -> list[int]:
    """Timestamps one ms after existing ones, which no record of the job has."""
    taken = {record.create_timestamp for record in store.records(job_id)}
    stamps = [record.create_timestamp + 1 for record in snapshots(store, job_id)[:count]]
    assert not taken & set(stamps)
    return stamps


# --- DeleteLiveSnapshotFiles -----------------------------------------------------------------


def test_delete_answers_each_timestamp_in_request_order_and_removes_only_those_records(
    rig: Rig,
) -> None:
    present = snapshots(rig.store, JOB_A)
    hits = [present[5].create_timestamp, present[2].create_timestamp, present[9].create_timestamp]
    misses = absent_stamps(rig.store, JOB_A, 2)
    stamps = [hits[0], misses[0], hits[1], misses[1], hits[2]]
    records, objects = contents(rig.store)

    answer = rig.delete(JOB_A, stamps)

    assert answer["RequestId"]
    assert answer["DeleteFileResultList"] == [
        {"CreateTimestamp": stamp, "Result": "OK" if stamp in hits else "NotFound"}
        for stamp in stamps
    ]
    assert rig.store.records() == [
        r for r in records if not (r.job_id == JOB_A and r.create_timestamp in hits)
    ]
    assert rig.store.object_keys() == objects


@pytest.mark.parametrize(("original", "objects_go"), [(True, True), (False, False), (None, False)])
def test_delete_original_file_decides_whether_the_oss_objects_go_too(
    rig: Rig, original: bool | None, objects_go: bool
) -> None:
    targets = snapshots(rig.store, JOB_B)[10:14]
    records, objects = contents(rig.store)

    answer = rig.delete(JOB_B, [t.create_timestamp for t in targets], original)

    assert [r["Result"] for r in answer["DeleteFileResultList"]] == ["OK"] * len(targets)
    assert rig.store.records() == [r for r in records if r not in targets]
    gone = {t.oss_object for t in targets} if objects_go else set()
    assert set(rig.store.object_keys()) == set(objects) - gone
    assert len(rig.store.object_keys()) == len(objects) - len(gone)


def test_delete_matching_nothing_is_no_valid_snapshot_and_changes_nothing(rig: Rig) -> None:
    # JOB_B's own timestamps do not match JOB_A's files: a delete is scoped to its job.
    stamps = [*absent_stamps(rig.store, JOB_A, 3), snapshots(rig.store, JOB_B)[0].create_timestamp]
    before = contents(rig.store)

    assert refused(lambda: rig.delete(JOB_A, stamps, True)) == ("NoValidSnapshot", 404)
    assert contents(rig.store) == before


@pytest.mark.parametrize("position", [0, 1, 2])
def test_delete_naming_the_overlay_file_deletes_nothing_at_all(rig: Rig, position: int) -> None:
    stamps = [r.create_timestamp for r in snapshots(rig.store, JOB_A)[:2]]
    stamps.insert(position, overlay(rig.store, JOB_A).create_timestamp)
    before = contents(rig.store)

    assert refused(lambda: rig.delete(JOB_A, stamps, True)) == ("OverlayNotSupported", 400)
    assert contents(rig.store) == before


def test_delete_for_an_unknown_job_is_job_not_found(rig: Rig) -> None:
    stamps = [r.create_timestamp for r in snapshots(rig.store, JOB_A)[:3]]
    before = contents(rig.store)

    assert refused(lambda: rig.delete("no-such-job", stamps, True)) == ("JobNotFound", 404)
    assert contents(rig.store) == before


@pytest.mark.parametrize(
    ("job_id", "stamps"),
    [(None, "present"), ("", "present"), (JOB_A, "empty"), (JOB_A, "absent")],
    ids=["no-JobId", "empty-JobId", "empty-list", "no-list"],
)
def test_delete_without_a_required_parameter_is_missing_parameter(
    rig: Rig, job_id: str | None, stamps: str
) -> None:
    present = [r.create_timestamp for r in snapshots(rig.store, JOB_A)[:2]]
    sent = {"present": present, "empty": [], "absent": None}[stamps]
    before = contents(rig.store)

    assert refused(lambda: rig.delete(job_id, sent, True)) == ("MissingParameter", 400)
    assert contents(rig.store) == before


def invalid_lists(present: list[int]) -> dict[str, Any]:
    """Timestamp lists the service must refuse whole, each naming real files as well."""
    many = present + [NOW_MS + n for n in range(201 - len(present))]
    return {
        "201-items": many,
        "string-item": [present[0], "x"],
        "numeric-string-item": [present[0], str(present[1])],
        "fraction-item": [present[0], present[1] + 0.5],
        "boolean-item": [present[0], True],
        "null-item": [present[0], None],
        "nested-list": [present[0], [present[1]]],
        "object-item": [present[0], {"CreateTimestamp": present[1]}],
    }


@pytest.mark.parametrize("case", list(invalid_lists([1, 2])))
def test_delete_with_invalid_timestamps_is_invalid_parameter(rig: Rig, case: str) -> None:
    stamps = invalid_lists([r.create_timestamp for r in snapshots(rig.store, JOB_A)])[case]
    before = contents(rig.store)

    assert refused(lambda: rig.delete(JOB_A, stamps, True)) == ("InvalidParameter", 400)
    assert contents(rig.store) == before


@pytest.mark.parametrize("raw", ["[1795176007000", "1795176007000", "1,2,3", "null", '{"a": 1}'])
def test_delete_with_a_list_that_is_no_json_array_is_invalid_parameter(rig: Rig, raw: str) -> None:
    before = contents(rig.store)

    refusal = refused(lambda: rig.call(
        DELETE, {"JobId": JOB_A, "CreateTimestampList": raw}, method="POST"
    ))

    assert refusal == ("InvalidParameter", 400)
    assert contents(rig.store) == before


def test_delete_of_exactly_200_timestamps_is_accepted(rig: Rig) -> None:
    present = [r.create_timestamp for r in snapshots(rig.store, JOB_A)]
    stamps = present + [NOW_MS + n for n in range(200 - len(present))]

    answer = rig.delete(JOB_A, stamps)

    results = [r["Result"] for r in answer["DeleteFileResultList"]]
    assert results == ["OK"] * len(present) + ["NotFound"] * (200 - len(present))
    assert snapshots(rig.store, JOB_A) == []


@pytest.mark.parametrize("flag", ["maybe", "yes", "1", ""])
def test_delete_with_a_bad_delete_original_file_is_invalid_parameter(rig: Rig, flag: str) -> None:
    stamps = [r.create_timestamp for r in snapshots(rig.store, JOB_A)[:2]]
    before = contents(rig.store)

    assert refused(lambda: rig.delete(JOB_A, stamps, flag)) == ("InvalidParameter", 400)
    assert contents(rig.store) == before


# --- ListLiveSnapshotFiles -------------------------------------------------------------------


def expected_file(record: Record) -> dict[str, Any]:
    """A FileList entry, from the record and the job's snapshot template."""
    template = OVERWRITE_FORMAT if record.is_overlay else SEQUENCE_FORMAT
    return {
        "CreateTime": iso(record.create_timestamp),
        "CreateTimestamp": record.create_timestamp,
        "IsOverlay": record.is_overlay,
        "OssBucket": BUCKET,
        "OssEndpoint": DEFAULT_OSS_ENDPOINT,
        "OssObject": template.replace("{JobId}", record.job_id)
        .replace("{UnixTimestamp}", str(record.create_timestamp)),
    }


def in_window(store: Store, job_id: str, start_ms: int, end_ms: int) -> list[Record]:
    return [r for r in store.records(job_id) if start_ms <= r.create_timestamp < end_ms]


def test_list_files_answers_every_field_of_each_file_in_the_window(rig: Rig) -> None:
    window = in_window(rig.store, JOB_A, DAY_START_MS, NOW_MS)
    assert 40 < len(window) <= 100 and window[-1].is_overlay

    answer = rig.list_files(JOB_A, iso(DAY_START_MS), iso(NOW_MS), limit=100)

    assert answer["FileList"] == [expected_file(record) for record in window]
    assert "NextStartTime" not in answer
    assert answer["RequestId"]
    assert all(epoch_ms(f["CreateTime"]) == f["CreateTimestamp"] // 1000 * 1000
               for f in answer["FileList"])


def test_list_files_limit_one_gives_the_first_file_and_where_the_next_page_starts(
    rig: Rig,
) -> None:
    window = in_window(rig.store, JOB_A, DAY_START_MS, NOW_MS)

    answer = rig.list_files(JOB_A, iso(DAY_START_MS), iso(NOW_MS), limit=1)

    assert answer["FileList"] == [expected_file(window[0])]
    assert answer["NextStartTime"] == iso(window[1].create_timestamp)


def test_list_files_default_limit_is_ten(rig: Rig) -> None:
    window = in_window(rig.store, JOB_B, DAY_START_MS, NOW_MS)

    answer = rig.list_files(JOB_B, iso(DAY_START_MS), iso(NOW_MS))

    assert [f["CreateTimestamp"] for f in answer["FileList"]] == [
        r.create_timestamp for r in window[:10]
    ]


def test_list_files_sorted_desc_gives_the_newest_first(rig: Rig) -> None:
    window = in_window(rig.store, JOB_A, DAY_START_MS, NOW_MS)

    answer = rig.list_files(JOB_A, iso(DAY_START_MS), iso(NOW_MS), limit=7, sort_by="desc")

    assert answer["FileList"] == [expected_file(record) for record in window[::-1][:7]]
    assert answer["FileList"][0]["IsOverlay"] is True


@pytest.mark.parametrize(
    ("start_ms", "end_ms", "fields", "error"),
    [
        (DAY_START_MS, NOW_MS, {"limit": 0}, "InvalidParameter"),
        (DAY_START_MS, NOW_MS, {"limit": 101}, "InvalidParameter"),
        (DAY_START_MS, NOW_MS, {"sort_by": "newest"}, "InvalidParameter"),
        (DAY_START_MS - SECOND_MS, NOW_MS, {}, "InvalidParameter"),
        (NOW_MS - 2 * DAY_MS, NOW_MS, {}, "InvalidParameter"),
        (NOW_MS, DAY_START_MS, {}, "EndTimeMismatch"),
        (NOW_MS, NOW_MS - SECOND_MS, {}, "EndTimeMismatch"),
    ],
    ids=["limit-0", "limit-101", "bad-sort", "day-and-a-second", "two-days", "reversed",
         "a-second-reversed"],
)
def test_list_files_refuses_bad_limits_and_ranges(
    rig: Rig, start_ms: int, end_ms: int, fields: dict[str, Any], error: str
) -> None:
    assert refused(lambda: rig.list_files(JOB_A, iso(start_ms), iso(end_ms), **fields)) == (
        error, 400)


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2026-11-19 12:00:07", iso(NOW_MS), "MalformedStartTime"),
        (str(DAY_START_MS), iso(NOW_MS), "MalformedStartTime"),
        ("yesterday", iso(NOW_MS), "MalformedStartTime"),
        (iso(DAY_START_MS), "2026-11-20T12:00:07+08:00", "MalformedEndTime"),
        (iso(DAY_START_MS), "20261120T120007Z", "MalformedEndTime"),
        (None, iso(NOW_MS), "MissingParameter"),
        (iso(DAY_START_MS), None, "MissingParameter"),
    ],
)
def test_list_files_refuses_malformed_or_missing_times(
    rig: Rig, start: str | None, end: str | None, error: str
) -> None:
    assert refused(lambda: rig.list_files(JOB_A, start, end)) == (error, 400)


def test_list_files_without_job_id_is_missing_parameter(rig: Rig) -> None:
    assert refused(lambda: rig.list_files(None, iso(DAY_START_MS), iso(NOW_MS))) == (
        "MissingParameter", 400)


def test_list_files_of_an_unknown_job_is_job_not_found(rig: Rig) -> None:
    assert refused(lambda: rig.list_files("no-such-job", iso(DAY_START_MS), iso(NOW_MS))) == (
        "JobNotFound", 404)


# --- ListLiveSnapshotJobs --------------------------------------------------------------------

# (job id, name, status, created): around the default 7-day and the 30-day windows.
FLEET = [
    ("job-lobby", "Lobby-Cam", "started", NOW_MS - 1 * HOUR_MS),
    ("job-gate", "gate-camera-2", "paused", NOW_MS - 30 * HOUR_MS),
    ("job-dock", "Dock CAM 3", "init", NOW_MS - 3 * DAY_MS - 7),
    ("job-roof", "roof", "started", NOW_MS - 5 * DAY_MS),
    ("job-edge-in", "edge-inside", "paused", NOW_MS - 7 * DAY_MS + SECOND_MS),
    ("job-edge-out", "edge-outside", "started", NOW_MS - 7 * DAY_MS - SECOND_MS),
    ("job-old", "old-camera", "init", NOW_MS - 20 * DAY_MS),
    ("job-ancient", "ancient-cam", "started", NOW_MS - 40 * DAY_MS),
    ("job-future", "future-cam", "started", NOW_MS + 2 * HOUR_MS),
    *[(f"job-{n:02d}", f"channel-{n}", ("init", "paused", "started")[n % 3],
       NOW_MS - n * 11 * HOUR_MS - n) for n in range(1, 13)],
]


@pytest.fixture
def fleet() -> Iterator[Rig]:
    store = Store()
    for job_id, name, status, created in FLEET:
        store.add_job(make_job(job_id, created, name=name, status=status))
    with running(store) as started:
        yield started


def created_between(start_ms: int, end_ms: int, descending: bool = True) -> list[str]:
    jobs = [(created, job_id) for job_id, _, _, created in FLEET if start_ms <= created <= end_ms]
    return [job_id for _, job_id in sorted(jobs, reverse=descending)]


LAST_WEEK = created_between(NOW_MS - 7 * DAY_MS, NOW_MS)
NAMES = {job_id: name for job_id, name, _, _ in FLEET}
STATUSES = {job_id: status for job_id, _, status, _ in FLEET}


def ids(answer: dict[str, Any]) -> list[str]:
    return [job["JobId"] for job in answer["JobList"]]


def test_list_jobs_default_window_is_the_last_seven_days_of_the_emulator_clock(fleet: Rig) -> None:
    answer = fleet.list_jobs(page_size=100)

    assert ids(answer) == LAST_WEEK
    assert "job-edge-in" in LAST_WEEK and "job-edge-out" not in LAST_WEEK
    assert answer["TotalCount"] == len(LAST_WEEK)
    assert (answer["PageNo"], answer["PageSize"], answer["SortBy"]) == (1, 100, "desc")


def test_list_jobs_pages_through_every_job_once(fleet: Rig) -> None:
    full, rest = divmod(len(LAST_WEEK), 4)
    assert full >= 3 and rest, "the fleet must fill several pages and part of one"
    numbers = range(1, full + 3)  # up to one page past the last

    pages = [fleet.list_jobs(page_no=n, page_size=4) for n in numbers]

    assert [job for page in pages for job in ids(page)] == LAST_WEEK
    assert [len(page["JobList"]) for page in pages] == [4] * full + [rest, 0]
    assert {page["TotalCount"] for page in pages} == {len(LAST_WEEK)}
    assert [(page["PageNo"], page["PageSize"]) for page in pages] == [(n, 4) for n in numbers]


def test_list_jobs_answers_each_jobs_summary(fleet: Rig) -> None:
    answer = fleet.list_jobs(search_key_word="job-dock")

    job = fleet.store.job("job-dock")
    assert job is not None
    assert answer["JobList"] == [{
        "JobId": job.job_id, "JobName": job.job_name, "Status": job.status,
        "TemplateId": job.template_id, "TemplateName": job.template_name,
        "TimeInterval": job.time_interval, "CreateTime": iso(job.create_time_ms),
        "SnapshotOutput": {"Bucket": job.bucket, "Endpoint": job.endpoint, "StorageType": "oss"},
    }]


def test_list_jobs_sorted_asc_gives_the_oldest_first(fleet: Rig) -> None:
    answer = fleet.list_jobs(page_size=100, sort_by="asc")

    assert ids(answer) == LAST_WEEK[::-1]
    assert answer["SortBy"] == "asc"


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [
        ("job-roof", ["job-roof"]),
        ("job-ro", []),
        ("cam", [j for j in LAST_WEEK if "cam" in NAMES[j].lower()]),
        ("CHANNEL-1", [j for j in LAST_WEEK if "channel-1" in NAMES[j]]),
        ("Lobby-Cam", ["job-lobby"]),
        ("ancient", []),
    ],
    ids=["job-id", "part-of-job-id", "name-part", "name-part-upper", "whole-name",
         "outside-window"],
)
def test_list_jobs_search_matches_the_exact_job_id_or_part_of_the_name(
    fleet: Rig, keyword: str, expected: list[str]
) -> None:
    answer = fleet.list_jobs(search_key_word=keyword, page_size=100)

    assert ids(answer) == expected
    assert answer["TotalCount"] == len(expected)
    if keyword in ("cam", "CHANNEL-1"):
        assert len(expected) >= 3, "the fleet must give the search something to find"


@pytest.mark.parametrize("status", ["init", "paused", "started"])
def test_list_jobs_filters_by_status(fleet: Rig, status: str) -> None:
    expected = [j for j in LAST_WEEK if STATUSES[j] == status]

    answer = fleet.list_jobs(status=status, page_size=100)

    assert ids(answer) == expected and expected
    assert answer["TotalCount"] == len(expected)


def test_list_jobs_window_of_exactly_thirty_days_is_accepted(fleet: Rig) -> None:
    start, end = NOW_MS - 30 * DAY_MS, NOW_MS

    answer = fleet.list_jobs(start_time=iso(start), end_time=iso(end), page_size=100)

    assert ids(answer) == created_between(start, end)
    assert "job-old" in ids(answer) and "job-ancient" not in ids(answer)


def test_list_jobs_start_time_alone_covers_the_seven_days_after_it(fleet: Rig) -> None:
    start = NOW_MS - 10 * DAY_MS

    answer = fleet.list_jobs(start_time=iso(start), page_size=100)

    assert ids(answer) == created_between(start, start + 7 * DAY_MS)
    assert "job-edge-out" in ids(answer) and "job-lobby" not in ids(answer)


def test_list_jobs_end_time_alone_covers_the_seven_days_before_it(fleet: Rig) -> None:
    end = NOW_MS - 2 * DAY_MS

    answer = fleet.list_jobs(end_time=iso(end), page_size=100)

    assert ids(answer) == created_between(end - 7 * DAY_MS, end)
    assert "job-gate" not in ids(answer) and "job-edge-out" in ids(answer)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"start_time": iso(NOW_MS - 30 * DAY_MS - SECOND_MS), "end_time": iso(NOW_MS)},
         "InvalidParameter"),
        ({"search_key_word": "x" * 129}, "InvalidParameter"),
        ({"start_time": iso(NOW_MS), "end_time": iso(NOW_MS - DAY_MS)}, "EndTimeMismatch"),
        ({"start_time": "last week"}, "MalformedStartTime"),
        ({"end_time": "2026-11-20"}, "MalformedEndTime"),
        ({"status": "running"}, "InvalidParameter"),
        ({"status": ""}, "InvalidParameter"),
        ({"sort_by": "name"}, "InvalidParameter"),
        ({"page_size": 0}, "InvalidParameter"),
        ({"page_size": 101}, "InvalidParameter"),
        ({"page_no": 0}, "InvalidParameter"),
    ],
    ids=["31-days-window", "keyword-129-characters", "reversed", "bad-start", "bad-end",
         "unknown-status", "empty-status", "bad-sort", "page-size-0", "page-size-101", "page-0"],
)
def test_list_jobs_refuses_bad_parameters(fleet: Rig, fields: dict[str, Any], error: str) -> None:
    assert refused(lambda: fleet.list_jobs(**fields)) == (error, 400)


# --- GetLiveSnapshotJob ----------------------------------------------------------------------


def test_get_job_answers_the_job_with_its_snapshot_template_formats(rig: Rig) -> None:
    job = rig.store.job(JOB_B)
    assert job is not None

    answer = rig.get_job(JOB_B)

    assert answer["RequestId"]
    assert {key: answer[key] for key in (
        "JobId", "JobName", "Status", "TemplateId", "TemplateName", "TimeInterval", "CreateTime",
        "SnapshotOutput", "OverwriteFormat", "SequenceFormat",
    )} == {
        "JobId": JOB_B, "JobName": job.job_name, "Status": "started",
        "TemplateId": job.template_id, "TemplateName": job.template_name, "TimeInterval": 1800,
        "CreateTime": iso(NOW_MS - 2 * DAY_MS),
        "SnapshotOutput": {"Bucket": BUCKET, "Endpoint": DEFAULT_OSS_ENDPOINT,
                           "StorageType": "oss"},
        "OverwriteFormat": OVERWRITE_FORMAT, "SequenceFormat": SEQUENCE_FORMAT,
    }


@pytest.mark.parametrize(("job_id", "answer"), [
    ("no-such-job", ("JobNotFound", 404)),
    (None, ("MissingParameter", 400)),
])
def test_get_job_refuses_unknown_or_missing_job(
    rig: Rig, job_id: str | None, answer: tuple[str, int]
) -> None:
    assert refused(lambda: rig.get_job(job_id)) == answer


def test_unknown_action_and_other_api_version_are_refused(rig: Rig) -> None:
    assert refused(lambda: rig.call("DeleteLiveSnapshotJob", {"JobId": JOB_A})) == (
        "InvalidAction.NotFound", 404)
    assert refused(lambda: rig.call(GET_JOB, {"JobId": JOB_A}, version="2019-01-01")) == (
        "InvalidVersion", 400)
    assert rig.call(GET_JOB, {"JobId": JOB_A})["body"]["JobId"] == JOB_A


# --- State report ------------------------------------------------------------------------------


def expected_state(store: Store, strays: list[str], unbacked: list[Record]) -> StoreState:
    """What state() must say, from the records as stored and what the test did to the objects."""
    per_job = []
    for job in store.jobs():
        stamps = [r.create_timestamp for r in store.records(job.job_id)]
        per_job.append(JobState(
            job.job_id, len(stamps), sum(r.is_overlay for r in store.records(job.job_id)),
            min(stamps, default=None), max(stamps, default=None),
        ))
    backed = len({r.oss_object for r in store.records()}) - len(unbacked)
    return StoreState(
        jobs=tuple(per_job),
        objects=backed + len(strays),
        objects_without_records=len(strays),
        records_without_objects=len(unbacked),
        sample_objects_without_records=tuple(sorted(strays)[:5]),
        sample_records_without_objects=tuple(
            r.oss_object for r in sorted(unbacked, key=lambda r: (r.job_id, r.create_timestamp))
        )[:5],
    )


@pytest.fixture
def out_of_step() -> tuple[Store, list[str], list[Record]]:
    """Two seeded jobs and one without files; some objects lost their record, some the reverse."""
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=3600, days=1, end_ms=NOW_MS)
    store.add_job(make_job("job-empty", NOW_MS))
    strays = [f"strays/{n}.jpg" for n in (7, 3, 9, 1, 5, 8, 2)]
    store.put_objects(BUCKET, strays)
    # JOB_A's first file is older than JOB_B's, but JOB_B sorts first: samples go by job, then time.
    unbacked = [*snapshots(store, JOB_B)[3:9], snapshots(store, JOB_A)[0], overlay(store, JOB_A)]
    store.delete_objects(BUCKET, [r.oss_object for r in unbacked])
    return store, strays, unbacked


def test_state_counts_records_per_job_and_what_is_out_of_step(
    out_of_step: tuple[Store, list[str], list[Record]],
) -> None:
    store, strays, unbacked = out_of_step

    state = store.state()

    assert state == expected_state(store, strays, unbacked)
    empty = state.jobs[-1]
    assert (empty.job_id, empty.records, empty.oldest_ms, empty.newest_ms) == (
        "job-empty", 0, None, None)
    assert [job.overlay_records for job in state.jobs] == [1, 1, 0]


def test_state_is_served_over_http(out_of_step: tuple[Store, list[str], list[Record]]) -> None:
    store, strays, unbacked = out_of_step
    expected = json.loads(json.dumps(asdict(expected_state(store, strays, unbacked))))

    with running(store) as rig:
        status, served = get_json(rig.emulator, "/_emulator/state")
        missing_status, _ = get_json(rig.emulator, "/_emulator/nothing")

    assert (status, served) == (200, expected)
    assert missing_status == 404


def test_calls_are_counted_per_action_and_answer(rig: Rig) -> None:
    rig.get_job(JOB_A)
    rig.get_job(JOB_B)
    outcome(lambda: rig.get_job("no-such-job"))
    outcome(lambda: rig.delete(JOB_A, absent_stamps(rig.store, JOB_A, 1)))

    status, served = get_json(rig.emulator, "/_emulator/calls")

    assert (status, served) == (200, {"calls": {
        DELETE: {"NoValidSnapshot": 1}, GET_JOB: {"JobNotFound": 1, "OK": 2},
    }})
    assert rig.emulator.count(GET_JOB) == 3 and rig.emulator.count(GET_JOB, "OK") == 2


# --- The server's socket -----------------------------------------------------------------------


def test_emulator_listens_on_loopback_and_stop_closes_the_port() -> None:
    with Emulator(Store()) as emulator:
        host, port = emulator.endpoint.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        socket.create_connection((host, int(port)), timeout=2).close()
        client_rig = Rig(emulator, sdk_client(emulator))
        assert client_rig.list_jobs()["TotalCount"] == 0

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2)
    assert outcome(lambda: client_rig.list_jobs()) == "connection error"


def test_stop_before_start_closes_the_port_without_hanging() -> None:
    emulator = Emulator(Store())
    host, port = emulator.endpoint.rsplit(":", 1)
    stopper = threading.Thread(target=emulator.stop, daemon=True)

    stopper.start()
    stopper.join(timeout=5)

    assert not stopper.is_alive(), "stop() hung on an emulator that was never started"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2)
