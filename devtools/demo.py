"""The demo: a fleet sweep on one machine, as the deployed function runs it.

    python3 dev.py demo

A local ICE emulator holds twelve channels (news, sport and weather), created over the past
three months, each with a snapshot every five minutes for ten days. A local Function Compute
endpoint runs this function with `SNAPSHOT_JOB_IDS=*`, retention rules per channel and fan-out on.
The sample timer event (events/timer.json) goes in as the timer trigger sends it: the coordinator
discovers the jobs and hands them to shards, asynchronous invocations in their own processes.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from devtools.fleet import local_fleet
from devtools.tables import table
from emulator.cli import utc_time
from emulator.seed import seed
from emulator.store import Store
from snapshot_purge.events import parse_event
from snapshot_purge.model import DAY_MS

ROOT = Path(__file__).resolve().parents[1]
TIMER_EVENT = ROOT / "events" / "timer.json"
LOG_FILE = ROOT / "build" / "demo-log.jsonl"
DAYS, INTERVAL_S, PER_SHARD = 10, 300, 4
RULES = [
    {"JobName": "news-*", "RetentionDays": 3},
    {"JobName": "sport-*", "RetentionDays": 5, "DeleteOriginalFile": False},
]
CHANNELS = [f"{kind}-{n:02d}" for kind in ("news", "sport", "weather") for n in range(1, 5)]


def main() -> int:
    event = json.loads(TIMER_EVENT.read_text())
    parsed = parse_event(event)
    assert parsed.received_at is not None
    now_ms = int(parsed.received_at.timestamp() * 1000)
    store = Store()
    created = [now_ms - (90 - 7 * n) * DAY_MS for n in range(len(CHANNELS))]
    jobs = seed(store, jobs=len(CHANNELS), interval_s=INTERVAL_S, days=DAYS, end_ms=now_ms,
                names=CHANNELS, created_ms=created)
    names = {job.job_id: job.job_name for job in jobs}
    environment = {"SNAPSHOT_JOB_IDS": "*", "RETENTION_RULES": json.dumps(RULES),
                   "FANOUT_JOBS_PER_SHARD": str(PER_SHARD)}
    print(f"A fleet of {len(CHANNELS)} channels in a local ICE emulator: a snapshot every"
          f" {INTERVAL_S} s for {DAYS} days before {utc_time(now_ms)} UTC, plus each one's"
          " overlay file.\nThe function runs on a local Function Compute endpoint with:")
    for name, value in environment.items():
        print(f"  {name}={value}")
    print(f"The timer's payload: {event['payload']} (the rule `default`).\n\nBefore:")
    print(channel_table(store, names))

    with local_fleet(store, environment=environment, instances=3) as fleet:
        run_id = fleet.invoke_async(event)
        print(f"\nTriggered {TIMER_EVENT.relative_to(ROOT)} as the timer does (run {run_id});"
              " waiting for the coordinator and its shards...")
        fleet.wait()
        lines = fleet.log_lines()
        summaries = [line for line in lines if line["message"] == "purge_summary"]
        print(dispatch_report(summaries))
        print(invocation_table(summaries))
        print("\nAfter:")
        print(channel_table(store, names, lines))
        objects = set(store.object_keys())
    LOG_FILE.parent.mkdir(exist_ok=True)
    LOG_FILE.write_text("".join(json.dumps(line) + "\n" for line in lines))
    kept = sum(1 for line in lines if line.get("rule") == "sport-*"
               and line.get("oss_object") in objects)
    print(f"\nsport-* removed {kept:,} records and kept their OSS objects. Files newer"
          " than each rule's age, files older than the lookback window and the overlay files"
          " are all still there.")
    print(f"{len(lines):,} JSON log lines in {LOG_FILE.relative_to(ROOT)}. In SLS, one run is"
          " the purge_summary lines of one run_id (README, 'Watching it in SLS').")
    healthy = all(s["level"] == "INFO" for s in summaries)
    return 0 if healthy else 1


def channel_table(store: Store, names: dict[str, str], lines: list[dict[str, Any]] | None = None
                  ) -> str:
    state = {job.job_id: job for job in store.state().jobs}
    deleted: defaultdict[str, list[int]] = defaultdict(list)
    rules: dict[str, str] = {}
    for line in lines or ():
        if line["message"] == "snapshot_file" and line["result"] == "OK":
            rules[line["job_id"]] = line.get("rule", "")
            deleted[line["job_id"]].append(line["create_timestamp"])
    headers = ["channel", "records", "oldest (UTC)", "newest (UTC)"]
    if lines is not None:
        headers[1:1] = ["rule", "deleted", "created from (UTC)", "to"]
    rows = []
    for job_id, name in sorted(names.items(), key=lambda item: item[1]):
        job = state[job_id]
        row = [name, f"{job.records:,}", utc_time(job.oldest_ms), utc_time(job.newest_ms)]
        if lines is not None:
            stamps = deleted[job_id] or [0]
            row[1:1] = [rules.get(job_id, "-"), f"{len(deleted[job_id]):,}",
                        utc_time(min(stamps)), utc_time(max(stamps))]
        rows.append(row)
    return table(headers, rows, indent=2)


def dispatch_report(summaries: list[dict[str, Any]]) -> str:
    (coordinator,) = [s for s in summaries if "dispatched" in s]
    rows = [[d["shard"], d["task_id"], d["jobs"], d["status"]] for d in coordinator["dispatched"]]
    return (f"\nThe coordinator found {coordinator['jobs']} jobs (ListLiveSnapshotJobs x"
            f" {coordinator['api_calls'].get('ListLiveSnapshotJobs', 0)}) and dispatched"
            f" {len(rows)} shards:\n" + table(["shard", "async task id", "jobs", "status"], rows,
                                                indent=2))


def invocation_table(summaries: list[dict[str, Any]]) -> str:
    rows = []
    totals: defaultdict[str, int] = defaultdict(int)
    for s in sorted(summaries, key=lambda s: (s.get("shard", -1), s["hop"])):
        calls = s["api_calls"]
        rows.append([s.get("shard", "coord."), s["hop"], s["jobs"], s["files"]["OK"],
                     s["files"]["Skipped"], s["files"]["Failed"],
                     calls.get("ListLiveSnapshotFiles", 0), calls.get("DeleteLiveSnapshotFiles", 0),
                     s["duration_ms"], s["level"]])
        for key in ("OK", "Skipped", "Failed"):
            totals[key] += s["files"][key]
    rows.append(["total", "", "", totals["OK"], totals["Skipped"], totals["Failed"], "", "", "",
                 ""])
    headers = ["shard", "hop", "jobs", "OK", "Skipped", "Failed", "list calls", "delete calls",
               "ms", "level"]
    return "\nEach invocation's purge_summary:\n" + table(headers, rows, indent=2)


if __name__ == "__main__":
    sys.exit(main())
