"""The job lifecycle through the official SDK: snapshot templates (create, get, list, update,
delete), SubmitLiveSnapshotJob, SendLiveSnapshotJobCommand, and finding jobs again with
ListLiveSnapshotJobs, also while a fleet discovery pages through a year of 30-day windows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alibabacloud_ice20201109 import models as ice
from emulator_support import DAY_MS, NOW_MS, Rig, epoch_ms, iso, refused, running
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.seed import seed
from emulator.store import Store

SEQUENCE = "live/{JobId}/{Sequence}-{UnixTimestamp}.jpg"
OVERWRITE = "live/{JobId}/now.jpg"
OUTPUT = {"StorageType": "oss", "Endpoint": "oss-cn-shanghai.aliyuncs.com", "Bucket": "frames"}


@pytest.fixture
def rig() -> Iterator[Rig]:
    with running(Store()) as started:
        yield started


def create_template(rig: Rig, **fields: Any) -> str:
    request = ice.CreateLiveSnapshotTemplateRequest(**{
        "template_name": "every-10s", "time_interval": 10, "sequence_format": SEQUENCE,
        "overwrite_format": OVERWRITE, **fields})
    template_id: str = rig.client.create_live_snapshot_template(request).body.template_id
    return template_id


def submit(rig: Rig, template: str, **fields: Any) -> str:
    request = ice.SubmitLiveSnapshotJobRequest(**{
        "job_name": "lobby camera", "template_id": template,
        "stream_input": ice.SubmitLiveSnapshotJobRequestStreamInput(
            type="rtmp", url="rtmp://live.example.invalid/app/lobby"),
        "snapshot_output": ice.SubmitLiveSnapshotJobRequestSnapshotOutput(
            storage_type="oss", endpoint=OUTPUT["Endpoint"], bucket=OUTPUT["Bucket"]),
        "callback_url": "http://127.0.0.1:9/snapshots", **fields})
    job_id: str = rig.client.submit_live_snapshot_job(request).body.job_id
    return job_id


def command(rig: Rig, job_id: str, name: str) -> dict[str, Any]:
    request = ice.SendLiveSnapshotJobCommandRequest(job_id=job_id, command=name)
    body: dict[str, Any] = rig.client.send_live_snapshot_job_command(request).body.to_map()
    return body


def get_template(rig: Rig, template_id: str) -> dict[str, Any]:
    request = ice.GetLiveSnapshotTemplateRequest(template_id=template_id)
    body: dict[str, Any] = rig.client.get_live_snapshot_template(request).body.to_map()
    return body


def list_templates(rig: Rig, **fields: Any) -> dict[str, Any]:
    request = ice.ListLiveSnapshotTemplatesRequest(**fields)
    body: dict[str, Any] = rig.client.list_live_snapshot_templates(request).body.to_map()
    return body


# --- Templates --------------------------------------------------------------------------------


def test_a_created_template_answers_what_it_was_given(rig: Rig) -> None:
    template_id = create_template(rig)

    answer = get_template(rig, template_id)

    assert answer == {
        "RequestId": answer["RequestId"], "TemplateId": template_id, "TemplateName": "every-10s",
        "TimeInterval": 10, "Type": "custom", "SequenceFormat": SEQUENCE,
        "OverwriteFormat": OVERWRITE, "CreateTime": iso(NOW_MS), "LastModified": iso(NOW_MS),
    }


def test_templates_are_listed_newest_first_filtered_and_paged(rig: Rig) -> None:
    made = [create_template(rig, template_name=f"tpl-{n}") for n in range(5)]

    everything = list_templates(rig, page_size=100)
    by_name = list_templates(rig, search_key_word="TPL-3")
    by_ids = list_templates(rig, template_ids=[made[1], made[4]], page_size=100)
    second_page = list_templates(rig, page_no=2, page_size=2, sort_by="asc")

    assert [t["TemplateId"] for t in everything["TemplateList"]] == made[::-1]
    assert everything["TotalCount"] == 5 and everything["SortBy"] == "desc"
    assert [t["TemplateName"] for t in by_name["TemplateList"]] == ["tpl-3"]
    assert [t["TemplateId"] for t in by_ids["TemplateList"]] == [made[4], made[1]]
    assert [t["TemplateId"] for t in second_page["TemplateList"]] == made[2:4]


def test_an_updated_template_answers_the_new_values_and_a_deleted_one_is_gone(rig: Rig) -> None:
    template_id = create_template(rig)

    rig.client.update_live_snapshot_template(ice.UpdateLiveSnapshotTemplateRequest(
        template_id=template_id, template_name="every-minute", time_interval=60,
        sequence_format="other/{JobId}/{UnixTimestamp}.jpg"))

    answer = get_template(rig, template_id)
    assert (answer["TemplateName"], answer["TimeInterval"], answer["SequenceFormat"],
            answer["OverwriteFormat"]) == ("every-minute", 60, "other/{JobId}/{UnixTimestamp}.jpg",
                                           "")
    delete = ice.DeleteLiveSnapshotTemplateRequest(template_id=template_id)
    rig.client.delete_live_snapshot_template(delete)
    assert refused(lambda: get_template(rig, template_id)) == ("TemplateNotFound", 404)
    assert refused(lambda: rig.client.delete_live_snapshot_template(delete)) == (
        "TemplateNotFound", 404)


@pytest.mark.parametrize(("fields", "error"), [
    ({"time_interval": 4}, "InvalidParameter"),
    ({"time_interval": 3601}, "InvalidParameter"),
    ({"time_interval": None}, "MissingParameter"),
    ({"template_name": "x" * 129}, "InvalidParameter"),
    ({"template_name": None}, "MissingParameter"),
    ({"sequence_format": None, "overwrite_format": None}, "MissingParameter"),
    ({"sequence_format": "/abs/{UnixTimestamp}.jpg"}, "InvalidParameter"),
    ({"sequence_format": "live/{UnixTimestamp}.png"}, "InvalidParameter"),
    ({"sequence_format": "live/{JobId}/{Date}.jpg"}, "InvalidParameter"),
    ({"overwrite_format": "live/{UnixTimestamp}.jpg"}, "InvalidParameter"),
], ids=["interval-4", "interval-3601", "no-interval", "name-129", "no-name", "no-format",
        "leading-slash", "not-jpg", "no-timestamp-or-sequence", "overwrite-with-timestamp"])
def test_a_template_the_reference_forbids_is_refused(rig: Rig, fields: dict[str, Any],
                                                     error: str) -> None:
    assert refused(lambda: create_template(rig, **fields)) == (error, 400)
    assert list_templates(rig)["TotalCount"] == 0


# --- Jobs -------------------------------------------------------------------------------------


def test_a_submitted_job_copies_its_template_and_answers_its_callback_url(rig: Rig) -> None:
    template_id = create_template(rig)

    job_id = submit(rig, template_id)

    answer = rig.get_job(job_id)
    assert answer == {
        "RequestId": answer["RequestId"], "JobId": job_id, "JobName": "lobby camera",
        "Status": "init", "TemplateId": template_id, "TemplateName": "every-10s",
        "TimeInterval": 10, "CreateTime": iso(NOW_MS), "LastModified": iso(NOW_MS),
        "SnapshotOutput": OUTPUT, "OverwriteFormat": OVERWRITE, "SequenceFormat": SEQUENCE,
        "CallbackUrl": "http://127.0.0.1:9/snapshots",
        "StreamInput": {"Type": "rtmp", "Url": "rtmp://live.example.invalid/app/lobby"},
    }


def test_commands_start_stop_and_restart_a_job(rig: Rig) -> None:
    job_id = submit(rig, create_template(rig))

    def status() -> str:
        found: str = rig.get_job(job_id)["Status"]
        return found

    assert command(rig, job_id, "start")["RequestId"] and status() == "started"
    assert refused(lambda: command(rig, job_id, "start")) == ("JobAlreadyStarted", 409)
    command(rig, job_id, "stop")
    assert status() == "paused"
    command(rig, job_id, "stop")
    assert status() == "paused"
    command(rig, job_id, "restart")
    assert status() == "started"
    command(rig, job_id, "restart")
    assert status() == "started"


@pytest.mark.parametrize(("job_id", "name", "error"), [
    ("no-such-job", "start", ("JobNotFound", 404)),
    (None, "start", ("MissingParameter", 400)),
    ("known", None, ("MissingParameter", 400)),
    ("known", "pause", ("InvalidParameter", 400)),
])
def test_bad_commands_are_refused(rig: Rig, job_id: str | None, name: str | None,
                                  error: tuple[str, int]) -> None:
    known = submit(rig, create_template(rig))
    target = known if job_id == "known" else job_id

    assert refused(lambda: rig.client.send_live_snapshot_job_command(
        ice.SendLiveSnapshotJobCommandRequest(job_id=target, command=name))) == error
    assert rig.get_job(known)["Status"] == "init"


@pytest.mark.parametrize(("fields", "error"), [
    ({"template_id": "no-such-template"}, ("TemplateNotFound", 404)),
    ({"job_name": None}, ("MissingParameter", 400)),
    ({"job_name": "x" * 129}, ("InvalidParameter", 400)),
    ({"callback_url": "ftp://127.0.0.1/x"}, ("InvalidParameter", 400)),
    ({"stream_input": None}, ("MissingParameter", 400)),
    ({"stream_input": ice.SubmitLiveSnapshotJobRequestStreamInput(type="hls", url="x")},
     ("InvalidParameter", 400)),
    ({"snapshot_output": ice.SubmitLiveSnapshotJobRequestSnapshotOutput(
        storage_type="oss", endpoint="oss-cn-shanghai.aliyuncs.com")}, ("MissingParameter", 400)),
], ids=["unknown-template", "no-name", "name-129", "ftp-callback", "no-stream", "hls-stream",
        "no-bucket"])
def test_a_job_the_reference_forbids_is_refused(rig: Rig, fields: dict[str, Any],
                                                error: tuple[str, int]) -> None:
    template_id = create_template(rig)

    assert refused(lambda: submit(rig, template_id, **fields)) == error
    assert rig.store.jobs() == []


def test_submitted_jobs_are_found_by_status_and_keyword(rig: Rig) -> None:
    template_id = create_template(rig)
    lobby = submit(rig, template_id, job_name="Lobby camera")
    gate = submit(rig, template_id, job_name="gate camera")
    command(rig, gate, "start")

    def found(**fields: Any) -> list[str]:
        return [job["JobId"] for job in rig.list_jobs(page_size=100, **fields)["JobList"]]

    assert found() == [gate, lobby]
    assert found(status="started") == [gate]
    assert found(status="init") == [lobby]
    assert found(search_key_word="LOBBY") == [lobby]
    assert found(search_key_word=gate) == [gate]
    assert found(search_key_word="x" * 128) == []


# --- Discovery: a year of 30-day windows, pages of 100 ----------------------------------------


def discover(rig: Rig, days: int, on_page: Any = None) -> list[str]:
    """Every job created in the `days` before NOW, as a fleet discovery finds them: 30-day
    windows newest first, each paged oldest first, 100 a page."""
    found: list[str] = []
    end = NOW_MS
    while end > NOW_MS - days * DAY_MS:
        start = max(end - 30 * DAY_MS, NOW_MS - days * DAY_MS)
        page_no = 1
        while True:
            answer = rig.list_jobs(start_time=iso(start), end_time=iso(end), sort_by="asc",
                                   page_size=100, page_no=page_no)
            found += [job["JobId"] for job in answer["JobList"]
                      if start <= epoch_ms(job["CreateTime"]) < end]
            if on_page is not None:
                on_page()
            if page_no * 100 >= answer["TotalCount"]:
                break
            page_no += 1
        end = start
    return found


@settings(max_examples=5, deadline=None)
@given(per_day=st.lists(st.integers(4, 9), min_size=365, max_size=365),
       submitted_per_page=st.integers(0, 3))
def test_discovery_finds_every_job_once_while_jobs_are_submitted(
    per_day: list[int], submitted_per_page: int
) -> None:
    """At least 4 jobs a day: more than 100 in every 30-day window, so windows take several
    pages; pairs of jobs share a creation millisecond."""
    store = Store()
    created = [NOW_MS - (day + 1) * DAY_MS + n // 2 * 60_000
               for day, count in enumerate(per_day) for n in range(count)]
    jobs = seed(store, jobs=[f"job-{n:05d}" for n in range(len(created))], interval_s=3600,
                days=0.01, end_ms=NOW_MS, overlay=False, created_ms=created)
    with running(store) as rig:
        template_id = create_template(rig)

        def submit_more() -> None:
            for _ in range(submitted_per_page):
                submit(rig, template_id)

        found = discover(rig, 365, submit_more)

    assert sorted(found) == sorted(job.job_id for job in jobs)
