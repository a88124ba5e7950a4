"""Live mode on a fake clock: started jobs take snapshots at their interval (object, record,
overlay), and OSS event notifications go out for objects written and removed (by ICE and by
hand), in the native OSS trigger shape or as EventBridge CloudEvents, filtered like an OSS
trigger, to a local URL or as signed asynchronous InvokeFunction calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from alibabacloud_ice20201109 import models as ice
from emulator_support import BUCKET, NOW_MS, NOW_S, Rig, iso, sdk_client
from events_receiver import Receiver, receiving
from support import platform_fixture

from emulator.cli import main as cli_main
from emulator.delivery import FcTarget, Trigger, UrlTarget
from emulator.oss_events import EventFilter, ObjectEvent
from emulator.server import Emulator
from emulator.signing import AccessKey, SignedRequest, Verifier
from emulator.store import Store

INTERVAL_S = 10
SEQUENCE = "live/{JobId}/seq/{Sequence}-{UnixTimestamp}.jpg"
OVERWRITE = "live/{JobId}/now.jpg"
FLUSH_S = 30  # how long a test waits for deliveries at most (they take milliseconds)


class FakeClock:
    def __init__(self) -> None:
        self.now_s = NOW_S

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def live_rig(clock: FakeClock, triggers: list[Trigger] | None = None) -> Rig:
    emulator = Emulator(Store(), clock=clock, triggers=triggers or [])
    return Rig(emulator.start(), sdk_client(emulator))


@pytest.fixture
def rig(clock: FakeClock) -> Iterator[Rig]:
    started = live_rig(clock)
    yield started
    started.emulator.stop()


def started_job(rig: Rig) -> str:
    """A job submitted and started through the SDK at the clock's now."""
    client = rig.client
    template_id = client.create_live_snapshot_template(ice.CreateLiveSnapshotTemplateRequest(
        template_name="every-10s", time_interval=INTERVAL_S, sequence_format=SEQUENCE,
        overwrite_format=OVERWRITE)).body.template_id
    job_id: str = client.submit_live_snapshot_job(ice.SubmitLiveSnapshotJobRequest(
        job_name="lobby", template_id=template_id,
        stream_input=ice.SubmitLiveSnapshotJobRequestStreamInput(type="rtmp", url="rtmp://x/y"),
        snapshot_output=ice.SubmitLiveSnapshotJobRequestSnapshotOutput(
            storage_type="oss", endpoint="oss-cn-shanghai.aliyuncs.com", bucket=BUCKET),
    )).body.job_id
    send(rig, job_id, "start")
    return job_id


def send(rig: Rig, job_id: str, name: str) -> None:
    rig.client.send_live_snapshot_job_command(
        ice.SendLiveSnapshotJobCommandRequest(job_id=job_id, command=name))


def sequence_key(job_id: str, sequence: int, stamp: int) -> str:
    return f"live/{job_id}/seq/{sequence}-{stamp}.jpg"


def created(job_id: str, stamps: list[int], first_sequence: int = 0) -> list[ObjectEvent]:
    """The events of snapshots at these times: the new file, then the overlay overwritten."""
    events = []
    for n, stamp in enumerate(stamps):
        events += [
            ObjectEvent("ObjectCreated:PutObject", BUCKET,
                        sequence_key(job_id, first_sequence + n, stamp), stamp),
            ObjectEvent("ObjectCreated:PutObject", BUCKET, f"live/{job_id}/now.jpg", stamp),
        ]
    return events


# --- Snapshots ----------------------------------------------------------------------------------


def test_a_started_job_takes_a_snapshot_every_interval_of_the_clock(
    rig: Rig, clock: FakeClock
) -> None:
    job_id = started_job(rig)
    clock.advance(35)

    taken = rig.emulator.live.tick()

    stamps = [NOW_MS + n * INTERVAL_S * 1000 for n in (1, 2, 3)]
    assert taken == 3
    records = rig.store.records(job_id)
    assert [(r.create_timestamp, r.is_overlay, r.oss_object) for r in records] == [
        *[(stamp, False, sequence_key(job_id, n, stamp)) for n, stamp in enumerate(stamps)],
        (stamps[-1] + 1, True, f"live/{job_id}/now.jpg"),
    ]
    assert set(rig.store.object_keys()) == {r.oss_object for r in records}
    assert list(rig.emulator.events) == created(job_id, stamps)
    listed = rig.list_files(job_id, iso(NOW_MS), iso(NOW_MS + 60_000), limit=100)
    assert [f["CreateTimestamp"] for f in listed["FileList"]] == [*stamps, stamps[-1] + 1]
    assert rig.emulator.live.tick() == 0


def test_a_stopped_job_takes_none_and_a_restarted_one_starts_again_an_interval_later(
    rig: Rig, clock: FakeClock
) -> None:
    job_id = started_job(rig)
    clock.advance(INTERVAL_S)
    assert rig.emulator.live.tick() == 1

    send(rig, job_id, "stop")
    clock.advance(100)
    assert rig.emulator.live.tick() == 0
    send(rig, job_id, "restart")
    restarted = int(clock() * 1000)
    clock.advance(2 * INTERVAL_S)

    assert rig.emulator.live.tick() == 2
    stamps = [r.create_timestamp for r in rig.store.records(job_id) if not r.is_overlay]
    assert stamps == [NOW_MS + INTERVAL_S * 1000, restarted + INTERVAL_S * 1000,
                      restarted + 2 * INTERVAL_S * 1000]
    assert [r.oss_object for r in rig.store.records(job_id)][1] == sequence_key(
        job_id, 1, stamps[1])


def test_jobs_never_started_take_no_snapshots(rig: Rig, clock: FakeClock) -> None:
    job_id = started_job(rig)
    send(rig, job_id, "stop")
    clock.advance(3600)

    assert rig.emulator.live.tick() == 0
    assert rig.store.records(job_id) == []


# --- Notifications ------------------------------------------------------------------------------


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in receiver.requests()]


def native_records(receiver: Receiver) -> list[tuple[str, str]]:
    """(eventName, key) of every native OSS event received, one record each."""
    found = []
    for body in bodies(receiver):
        (record,) = body["events"]
        found.append((record["eventName"], record["oss"]["object"]["key"]))
    return found


def key_shape(value: Any) -> Any:
    """The nested keys of a JSON value, values left out."""
    if isinstance(value, dict):
        return {key: key_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_shape(item) for item in value[:1]]
    return None


def test_created_objects_are_delivered_as_native_oss_events_passing_the_filter(
    clock: FakeClock,
) -> None:
    with receiving() as receiver:
        trigger = Trigger(UrlTarget(f"http://{receiver.endpoint}/oss"), "oss",
                          EventFilter(prefix="live/", suffix=".jpg",
                                      events=("oss:ObjectCreated:*",)))
        rig = live_rig(clock, [trigger])
        try:
            job_id = started_job(rig)
            clock.advance(2 * INTERVAL_S)
            rig.emulator.live.tick()
            assert rig.emulator.deliveries.flush(FLUSH_S)
        finally:
            rig.emulator.stop()

    stamps = [NOW_MS + INTERVAL_S * 1000, NOW_MS + 2 * INTERVAL_S * 1000]
    assert native_records(receiver) == [(e.event_name, e.key) for e in created(job_id, stamps)]
    assert rig.emulator.deliveries.counts() == {"delivered": 4, "failed": 0, "pending": 0}
    (first, *_) = bodies(receiver)
    assert key_shape(first) == key_shape(platform_fixture("oss-trigger-sample.json"))
    record = first["events"][0]
    assert (record["eventTime"], record["oss"]["bucket"]["name"]) == (
        "2026-11-20T12:00:17.000Z", BUCKET)
    assert {name.lower(): value for name, value in receiver.requests()[0].headers}[
        "content-type"] == "application/json"


def test_objects_removed_by_ice_and_by_hand_are_delivered_as_cloud_events(
    clock: FakeClock,
) -> None:
    with receiving() as receiver:
        trigger = Trigger(UrlTarget(f"http://{receiver.endpoint}/"), "eventbridge",
                          EventFilter(events=("oss:ObjectRemoved:*",)))
        rig = live_rig(clock, [trigger])
        try:
            job_id = started_job(rig)
            clock.advance(3 * INTERVAL_S)
            rig.emulator.live.tick()
            first, second, third = [r for r in rig.store.records(job_id) if not r.is_overlay]
            rig.delete(job_id, [first.create_timestamp], True)
            rig.delete(job_id, [second.create_timestamp], False)  # the object stays: no event
            assert cli_main(["delete-object", "--endpoint", rig.emulator.endpoint, "--bucket",
                             BUCKET, third.oss_object]) == 0
            assert rig.emulator.deliveries.flush(FLUSH_S)
        finally:
            rig.emulator.stop()

    received = bodies(receiver)
    assert [(b["type"], b["data"]["oss"]["object"]["key"]) for b in received] == [
        ("oss:ObjectRemoved:DeleteObjects", first.oss_object),
        ("oss:ObjectRemoved:DeleteObject", third.oss_object),
    ]
    assert third in rig.store.records(job_id), "a removal by hand leaves the record"
    sample = platform_fixture("oss-eventbridge-sample.json")
    assert set(received[0]) == set(sample)
    assert set(received[0]["data"]) == set(sample["data"])
    assert received[1]["subject"] == f"acs:oss:cn-shanghai:123456789:{BUCKET}/{third.oss_object}"


def test_failed_deliveries_are_counted_with_the_reason(clock: FakeClock) -> None:
    with receiving(status=500) as failing:
        rig = live_rig(clock, [Trigger(UrlTarget(f"http://{failing.endpoint}/"))])
        try:
            started_job(rig)
            clock.advance(INTERVAL_S)
            rig.emulator.live.tick()
            assert rig.emulator.deliveries.flush(FLUSH_S)
        finally:
            rig.emulator.stop()

    assert rig.emulator.deliveries.counts() == {"delivered": 0, "failed": 2, "pending": 0}
    assert {d.detail for d in rig.emulator.deliveries.results()} == {
        "HTTPError: HTTP Error 500: Internal Server Error"}


def test_function_compute_targets_get_signed_async_invocations_with_the_event(
    clock: FakeClock,
) -> None:
    key = AccessKey.generate()  # the function's endpoint's own credentials
    with receiving(status=202) as fc_endpoint:
        target = FcTarget(fc_endpoint.endpoint, "snapshot-purger", key.access_key_id,
                          key.access_key_secret)
        rig = live_rig(clock, [Trigger(target, "oss", EventFilter(suffix="now.jpg"))])
        try:
            job_id = started_job(rig)
            clock.advance(INTERVAL_S)
            rig.emulator.live.tick()
            assert rig.emulator.deliveries.flush(FLUSH_S)
        finally:
            rig.emulator.stop()

    (request,) = fc_endpoint.requests()
    headers = {name.lower(): value for name, value in request.headers}
    target_url = urlsplit(request.target)
    assert (request.method, target_url.path) == (
        "POST", "/2023-03-30/functions/snapshot-purger/invocations")
    assert headers["x-fc-invocation-type"] == "Async"
    assert json.loads(request.body)["events"][0]["oss"]["object"]["key"] == (
        f"live/{job_id}/now.jpg")
    Verifier(key).verify(SignedRequest(request.method, target_url.path,
                                       parse_qsl(target_url.query), headers, request.body))
    assert rig.emulator.deliveries.counts()["delivered"] == 1
