"""The demo sweep: a seeded local ICE emulator, the sample timer event through the handler, and
what was purged and what survived.

    python3 dev.py demo
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from devtools.invoke import emulator_context, invoke
from devtools.samples import seed_for_event
from emulator.cli import state_table, utc_time
from emulator.server import Emulator
from emulator.store import Store
from snapshot_purge.config import Settings
from snapshot_purge.events import parse_event
from snapshot_purge.model import DAY_MS

ROOT = Path(__file__).resolve().parents[1]
TIMER_EVENT = ROOT / "events" / "timer.json"
LOG_FILE = ROOT / "build" / "demo-log.jsonl"
JOBS, DAYS, INTERVAL_S = 3, 10, 300


def indent(rows: list[str]) -> str:
    return "\n".join("  " + row for row in "\n".join(rows).splitlines())


def main() -> int:
    event = json.loads(TIMER_EVENT.read_text())
    policy = json.loads(event.get("payload") or "{}")
    settings = Settings()
    retention = policy.get("RetentionDays", settings.retention_days)
    lookback = policy.get("LookbackDays", settings.lookback_days)
    print(f"Seeding a local ICE emulator: {JOBS} jobs, {DAYS} days, a snapshot every "
          f"{INTERVAL_S} s, plus one overlay file per job.")
    store = Store()
    seed_for_event(store, parse_event(event), settings, now_ms=int(time.time() * 1000), jobs=JOBS,
                   days=DAYS, interval_s=INTERVAL_S)
    with Emulator(store) as emulator:
        print(f"Emulator listening on {emulator.endpoint}\n\nBefore:")
        print(indent(state_table(emulator.store.state())))
        env = {
            "ICE_ENDPOINT": emulator.endpoint,
            "SNAPSHOT_JOB_IDS": ",".join(job.job_id for job in emulator.store.jobs()),
        }
        now_ms = int(time.time() * 1000)
        print(f"\nRunning {TIMER_EVENT.relative_to(ROOT)} through index.handler: "
              f"RetentionDays={retention}, LookbackDays={lookback} -> files created between "
              f"{utc_time(now_ms - int((retention + lookback) * DAY_MS))} and "
              f"{utc_time(now_ms - int(retention * DAY_MS))} are due.")
        LOG_FILE.parent.mkdir(exist_ok=True)
        with LOG_FILE.open("w") as log:
            summary = invoke(event, env=env, context=emulator_context(emulator, 900), log=log)
        lines = LOG_FILE.read_text().splitlines()
        print(f"\n{len(lines)} JSON log lines in {LOG_FILE.relative_to(ROOT)}; the first two and "
              "the summary:")
        for line in lines[:2]:
            print("  " + line)
        print("  " + lines[-1])
        print("\nAfter:")
        print(indent(state_table(emulator.store.state())))
        files = summary["files"]
        print(f"\nPurged {files['OK']} files (records and OSS objects), skipped "
              f"{files['Skipped']} overlay file(s), {files['Failed']} failed; "
              f"{summary['api_calls']} in {summary['duration_ms']} ms.")
        print("Survived: everything newer than the retention age, the overlay files, and files "
              "older than the lookback window (a manual run with StartTime/EndTime back-fills "
              "those).")
        return 0 if summary["complete"] and files["Failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
