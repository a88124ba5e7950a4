"""The event-driven paths end to end: the ICE emulator delivers OSS events, as an OSS trigger
does, to the function running on the local Function Compute endpoint."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from devtools.fleet import LocalFleet, local_fleet
from emulator.seed import DEFAULT_BUCKET, seed
from emulator.store import Store
from snapshot_purge.model import DAY_MS

REMOVED = ("oss:ObjectRemoved:*",)
POLICY = {"SNAPSHOT_JOB_IDS": "*", "RETENTION_DAYS": "1", "LOOKBACK_DAYS": "1"}


def summaries(fleet: LocalFleet) -> list[dict[str, Any]]:
    return [line for line in fleet.log_lines() if line["message"] == "purge_summary"]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_sweeps_own_removals_come_back_as_echoes_that_cost_no_ice_call() -> None:
    store = Store()
    now_ms = int(time.time()) * 1000
    seed(store, jobs=2, interval_s=3600, days=3, end_ms=now_ms)
    due = {r.oss_object for r in store.records()
           if now_ms - 2 * DAY_MS <= r.create_timestamp < now_ms - DAY_MS and not r.is_overlay}

    with local_fleet(store, environment=POLICY, oss_events=REMOVED) as fleet:
        fleet.invoke_async({"triggerTime": iso(now_ms), "triggerName": "sweep", "payload": ""})
        fleet.wait()
        ice_calls = {action: fleet.ice.count(action) for action in fleet.ice.calls()}
        logged = summaries(fleet)

    (sweep,) = [s for s in logged if s["trigger"] == "timer"]
    echoes = [s for s in logged if s["trigger"] == "oss"]
    assert sweep["files"]["OK"] == len(due) == 48
    assert not due & set(store.object_keys())
    # OSS reported every removal back: each came in, and none made an ICE call.
    assert sum(s["oss_echoes"] for s in echoes) == len(due)
    assert all(s["api_calls"] == {} and s["level"] == "INFO" for s in echoes)
    assert ice_calls == sweep["api_calls"]
    echo_lines = [line for line in fleet.log_lines()
                  if line["message"] == "snapshot_file" and line["trigger"] == "oss"]
    assert {line["oss_object"] for line in echo_lines} == due
    assert {(line["result"], line["reason"]) for line in echo_lines} == {
        ("Skipped", "PastRetention")}


def test_an_object_a_person_removes_within_retention_loses_its_record() -> None:
    store = Store()
    now_ms = int(time.time()) * 1000
    (job,) = seed(store, jobs=1, interval_s=3600, days=3, end_ms=now_ms)
    recent = next(r for r in store.records(job.job_id)
                  if r.create_timestamp > now_ms - DAY_MS // 2 and not r.is_overlay)

    with local_fleet(store, environment=POLICY, oss_events=REMOVED) as fleet:
        fleet.ice.delete_by_hand(DEFAULT_BUCKET, [recent.oss_object])
        fleet.wait()
        (summary,) = summaries(fleet)

    assert recent.create_timestamp not in {r.create_timestamp for r in store.records()}
    assert summary["files"]["OK"] == 1 and summary["oss_echoes"] == 0
    (line,) = [line for line in fleet.log_lines() if line["message"] == "snapshot_file"]
    assert (line["oss_object"], line["delete_original_file"]) == (recent.oss_object, False)


class FakeClock:
    def __init__(self, now_s: float) -> None:
        self.now = now_s

    def __call__(self) -> float:
        return self.now


def test_live_snapshots_drive_a_rolling_retention_through_their_created_events() -> None:
    store = Store()
    start_ms = (int(time.time()) // 60 * 60 - 3600) * 1000
    (job,) = seed(store, jobs=1, interval_s=60, days=1, end_ms=start_ms)
    clock = FakeClock(start_ms / 1000)
    policy = {**POLICY, "RETENTION_DAYS": "0.5", "LOOKBACK_DAYS": "0.5"}
    before = {r.create_timestamp for r in store.records(job.job_id) if not r.is_overlay}

    with local_fleet(store, environment=policy, oss_events=("oss:ObjectCreated:*",),
                     clock=clock) as fleet:
        clock.now += 300
        taken = fleet.ice.live.tick()
        fleet.wait()
        logged = summaries(fleet)

    now_ms = int(clock.now * 1000)
    stamps = [r.create_timestamp for r in store.records(job.job_id) if not r.is_overlay]
    assert taken == 5
    assert max(stamps) >= now_ms - 60_000, "the new snapshots are there"
    assert not [s for s in stamps if now_ms - DAY_MS <= s < now_ms - DAY_MS // 2]
    # Each snapshot also overwrites the overlay object, whose event matches no snapshot key: it
    # is counted as ignored, with no ICE call.
    snapshots = [s for s in logged if not s["ignored_objects"]]
    overlays = [s for s in logged if s["ignored_objects"]]
    assert len(snapshots) == len(overlays) == 5
    assert all(s["api_calls"] == {} for s in overlays)
    deleted = before - set(stamps)
    assert sum(s["files"]["OK"] for s in snapshots) == len(deleted) > 700
    assert all(start_ms - DAY_MS <= s < now_ms - DAY_MS // 2 for s in deleted)
    assert {s["level"] for s in logged} == {"INFO"}
