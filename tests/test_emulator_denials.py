"""Switchable 403 answers: per action, per job, per bucket, or for every action; each with the
code and message the API reference documents, and nothing changed by a denied call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alibabacloud_ice20201109 import models as ice
from alibabacloud_tea_openapi.exceptions import ClientException
from emulator_support import JOB_A, JOB_B, NOW_MS, Rig, contents, outcome, running

from emulator.denials import MESSAGES, Denial
from emulator.seed import seed
from emulator.store import Store

OTHER_BUCKET = "other-bucket"
DELETE_FILES = "DeleteLiveSnapshotFiles"


@pytest.fixture
def rig() -> Iterator[Rig]:
    """JOB_A and JOB_B in the default bucket, job-c in OTHER_BUCKET."""
    store = Store()
    seed(store, jobs=[JOB_A, JOB_B], interval_s=3600, days=1, end_ms=NOW_MS)
    seed(store, jobs=["job-c"], interval_s=3600, days=1, end_ms=NOW_MS, bucket=OTHER_BUCKET)
    with running(store) as started:
        yield started


def first_stamp(rig: Rig, job_id: str) -> list[int]:
    return [next(r.create_timestamp for r in rig.store.records(job_id) if not r.is_overlay)]


def delete(rig: Rig, job_id: str) -> str:
    return outcome(lambda: rig.delete(job_id, first_stamp(rig, job_id), True))


def get(rig: Rig, job_id: str) -> str:
    return outcome(lambda: rig.get_job(job_id))


@pytest.mark.parametrize("code", list(MESSAGES))
def test_a_denied_action_answers_403_with_the_documented_message_and_changes_nothing(
    rig: Rig, code: str
) -> None:
    rig.emulator.denials = (Denial(code, DELETE_FILES),)
    before = contents(rig.store)

    with pytest.raises(ClientException) as caught:
        rig.delete(JOB_A, first_stamp(rig, JOB_A), True)

    assert (caught.value.status_code, caught.value.code, caught.value.data["Message"]) == (
        403, code, MESSAGES[code])
    assert contents(rig.store) == before
    assert get(rig, JOB_A) == "OK"
    assert rig.emulator.count(DELETE_FILES, code) == 1


def test_a_denial_for_one_job_leaves_the_others_alone(rig: Rig) -> None:
    rig.emulator.denials = (Denial.parse(f"{DELETE_FILES}@job:{JOB_B}=Forbidden"),)

    assert [delete(rig, JOB_B), delete(rig, JOB_A), get(rig, JOB_B)] == [
        "403 Forbidden", "OK", "OK"]


def test_a_denial_for_one_bucket_covers_its_jobs_for_every_action(rig: Rig) -> None:
    rig.emulator.denials = (Denial.parse(f"*@bucket:{OTHER_BUCKET}=BucketNotAuthorized"),)

    assert [delete(rig, "job-c"), get(rig, "job-c"), delete(rig, JOB_A)] == [
        "403 BucketNotAuthorized", "403 BucketNotAuthorized", "OK"]
    assert outcome(lambda: rig.list_jobs()) == "OK"


def test_a_denial_of_every_action_answers_every_call(rig: Rig) -> None:
    rig.emulator.denials = (Denial.parse("=UserDisable"),)

    assert {get(rig, JOB_A), outcome(lambda: rig.list_jobs()), delete(rig, JOB_B)} == {
        "403 UserDisable"}
    rig.emulator.denials = ()
    assert get(rig, JOB_A) == "OK"


@pytest.mark.parametrize(("text", "denial"), [
    ("DeleteLiveSnapshotFiles=Forbidden", Denial("Forbidden", DELETE_FILES)),
    ("*=OperationDenied", Denial("OperationDenied")),
    ("=UserDisable", Denial("UserDisable")),
    ("GetLiveSnapshotJob@job:abc=Forbidden", Denial("Forbidden", "GetLiveSnapshotJob",
                                                    job_id="abc")),
    ("@bucket:photos=BucketNotAuthorized", Denial("BucketNotAuthorized", bucket="photos")),
])
def test_denials_parse_from_their_command_line_form(text: str, denial: Denial) -> None:
    assert Denial.parse(text) == denial


@pytest.mark.parametrize("text", ["Forbidden", "Delete=Nope", "Delete@team:x=Forbidden",
                                  "Delete@job:=Forbidden", ""])
def test_malformed_denials_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"use |denial code"):
        Denial.parse(text)


def test_a_bucket_denial_refuses_submitting_a_job_that_would_write_there(rig: Rig) -> None:
    client = rig.client
    template_id = client.create_live_snapshot_template(ice.CreateLiveSnapshotTemplateRequest(
        template_name="t", time_interval=5, sequence_format="s/{JobId}/{Sequence}.jpg"
    )).body.template_id
    rig.emulator.denials = (Denial("BucketNotAuthorized", bucket=OTHER_BUCKET),)

    def submit(bucket: str) -> str:
        return outcome(lambda: client.submit_live_snapshot_job(ice.SubmitLiveSnapshotJobRequest(
            job_name="cam", template_id=template_id,
            stream_input=ice.SubmitLiveSnapshotJobRequestStreamInput(type="rtmp", url="rtmp://x"),
            snapshot_output=ice.SubmitLiveSnapshotJobRequestSnapshotOutput(
                storage_type="oss", endpoint="oss-cn-shanghai.aliyuncs.com", bucket=bucket))))

    jobs_before = len(rig.store.jobs())
    assert [submit(OTHER_BUCKET), submit("snapshot-bucket")] == ["403 BucketNotAuthorized", "OK"]
    assert len(rig.store.jobs()) == jobs_before + 1
