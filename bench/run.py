"""Benchmark: a timer sweep through the handler against a seeded, rate-capped ICE emulator.

    python3 dev.py bench                                  # 10 jobs x 1 day at 5 s, 173k files
    python3 dev.py bench --jobs 58 --days 1 --qps 100     # about 1,000,000 files
    python3 dev.py bench transports                       # threads vs the SDK's _async methods

Seeds J jobs x D days of snapshots into a SQLite file and copies it, so both contenders start
from the same state; runs the emulator as a separate process (its CPU and memory are not the
handler's) with added latency and a per-action QPS cap; runs the sweep through the handler, then
the same sweep as a plain sequential loop over the SDK; prints one JSON line comparing them with
the minimum calls and the wall-time bound the caps allow. Timing goals live here, not in tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.baseline import Window, sequential_sweep
from devtools.fc_context import FcContext, FcCredentials, FcFunction
from devtools.progress import TerminalProgress
from emulator.seed import seed
from emulator.signing import AccessKey
from emulator.store import Store
from snapshot_purge.app import handle
from snapshot_purge.logs import make_logger
from snapshot_purge.model import DAY_MS, MAX_FILES_PER_PAGE, MAX_TIMESTAMPS_PER_DELETE
from snapshot_purge.plan import day_windows

ROOT = Path(__file__).resolve().parents[1]
LIST, DELETE = "ListLiveSnapshotFiles", "DeleteLiveSnapshotFiles"
SDK_MODULE = "alibabacloud_ice20201109.client"
# What `dev.py` gives the programs it runs: the function's code and the dev tools importable.
PYTHON_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
RETENTION_DAYS = 1 / 24  # everything but the newest hour is due
GOALS = {"call_efficiency_min": 0.98, "wall_vs_bound_max": 1.15, "peak_rss_mb_max": 200,
         "import_overhead_ms_max": 60}


@dataclass(frozen=True)
class Workload:
    jobs: int
    days: float
    interval_s: int
    latency_ms: float
    qps: float
    now_ms: int

    @property
    def slices(self) -> list[Window]:
        cutoff = self.now_ms - int(RETENTION_DAYS * DAY_MS)
        job_ids = [f"bench-job-{n:04d}" for n in range(self.jobs)]
        span = (cutoff - int(self.days * DAY_MS), cutoff)
        return [Window(job_id, *window) for job_id in job_ids for window in day_windows(span)]


@contextmanager
def emulator_process(db: Path, workload: Workload) -> Iterator[tuple[str, AccessKey]]:
    """`dev.py emulator serve` on the database, in its own process; endpoint and credentials."""
    command = [sys.executable, "-m", "emulator", "serve", "--db", str(db),
               "--latency-ms", str(workload.latency_ms), "--qps", str(workload.qps)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=PYTHON_ENV, cwd=ROOT, text=True)
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        yield started["endpoint"], AccessKey(started["access_key_id"],
                                             started["access_key_secret"])
    finally:
        process.terminate()
        process.wait(timeout=30)


def server_calls(endpoint: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"http://{endpoint}/_emulator/calls", timeout=10) as answer:
        calls: dict[str, dict[str, int]] = json.load(answer)["calls"]
    return calls


def import_ms(modules: tuple[str, ...], repeats: int) -> dict[str, float]:
    """Median time to import each module in a fresh interpreter (a cold start's import cost),
    the modules taken in turn so that a change in the machine's load falls on all alike."""
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(repeats):
        for module in modules:
            code = (f"import time; t = time.perf_counter(); import {module}; "
                    "print((time.perf_counter() - t) * 1000)")
            answer = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True, env=PYTHON_ENV)
            samples[module].append(float(answer.stdout))
    return {module: statistics.median(times) for module, times in samples.items()}


def minimum_calls(store: Store, slices: list[Window]) -> tuple[int, dict[str, int]]:
    """Files due, and the fewest calls that can list and delete them: per job-day slice,
    ceil(files/100) list pages (at least one) and ceil(files/200) deletes."""
    due = 0
    calls = {LIST: 0, DELETE: 0}
    for window in slices:
        files = store.count_files(window.job_id, window.start_ms, window.end_ms)
        due += files
        calls[LIST] += max(1, math.ceil(files / MAX_FILES_PER_PAGE))
        calls[DELETE] += math.ceil(files / MAX_TIMESTAMPS_PER_DELETE)
    return due, calls


def left_due(db: Path, slices: list[Window]) -> int:
    store = Store(db)
    try:
        return sum(store.count_files(s.job_id, s.start_ms, s.end_ms) for s in slices)
    finally:
        store.close()


def figures(calls: dict[str, int], minimum: dict[str, int], wall_s: float, workload: Workload,
            throttled: int) -> dict[str, Any]:
    bound_s = max(minimum[LIST], minimum[DELETE]) / workload.qps
    total = sum(calls.values())
    return {
        "api_calls": calls,
        "call_efficiency": round(sum(minimum.values()) / total, 4) if total else None,
        "wall_s": round(wall_s, 2),
        "wall_vs_bound": round(wall_s / bound_s, 3),
        "throttled": throttled,
        "throttled_share": round(throttled / total, 4) if total else 0.0,
    }


def run_purger(endpoint: str, key: AccessKey, workload: Workload, due: int, log: TextIO
               ) -> tuple[dict[str, Any], float]:
    event = {"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "bench",
             "payload": json.dumps({"RetentionDays": RETENTION_DAYS,
                                    "LookbackDays": workload.days})}
    env = {"ICE_ENDPOINT": endpoint, "ICE_MAX_QPS": str(workload.qps * 2),
           "SNAPSHOT_JOB_IDS": ",".join(sorted({s.job_id for s in workload.slices}))}
    context = FcContext(credentials=FcCredentials(key.access_key_id, key.access_key_secret),
                        function=FcFunction(timeout=86_400))
    progress = TerminalProgress(due=due)
    started = time.monotonic()
    summary = handle(event, context, logger=make_logger("bench", log), env=env,
                     wall_clock=lambda: workload.now_ms / 1000,
                     progress=progress if progress.enabled else None)
    wall_s = time.monotonic() - started
    return summary, wall_s


def sweep(args: argparse.Namespace) -> dict[str, Any]:
    imports = import_ms((SDK_MODULE, "index"), args.import_repeats)
    workload = Workload(args.jobs, args.days, args.interval, args.latency_ms, args.qps,
                        now_ms=int(time.time() * 1000))
    with tempfile.TemporaryDirectory(prefix="ice-bench-") as scratch:
        purger_db, loop_db = Path(scratch, "purger.db"), Path(scratch, "loop.db")
        store = Store(purger_db)
        seed(store, jobs=sorted({s.job_id for s in workload.slices}),
             interval_s=workload.interval_s, days=workload.days + RETENTION_DAYS,
             end_ms=workload.now_ms)
        records = store.count_records()
        due, minimum = minimum_calls(store, workload.slices)
        store.close()
        shutil.copy(purger_db, loop_db)
        print(f"bench: {records:,} records, {due:,} due; server cap {workload.qps:g}/s per"
              f" action, {workload.latency_ms:g} ms latency", file=sys.stderr)

        with emulator_process(purger_db, workload) as (endpoint, key), \
                Path(scratch, "purger.log").open("w") as log:
            summary, wall_s = run_purger(endpoint, key, workload, due, log)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            throttled = sum(codes.get("Throttling.User", 0)
                            for codes in server_calls(endpoint).values())
        purger = {
            "files_deleted": due - left_due(purger_db, workload.slices),
            **figures(summary["api_calls"], minimum, wall_s, workload, throttled),
            "retries": summary["retries"],
            "complete": summary["complete"],
            "peak_rss_mb": round(peak_rss_mb, 1),
        }
        loop: dict[str, Any] = {"skipped": True}
        if not args.no_baseline:
            with emulator_process(loop_db, workload) as (endpoint, key):
                started = time.monotonic()
                stats = sequential_sweep(endpoint, key, workload.slices)
                loop_wall = time.monotonic() - started
            loop = {"files_deleted": due - left_due(loop_db, workload.slices),
                    **figures(dict(stats.calls), minimum, loop_wall, workload, stats.throttled)}

    return {
        "workload": {"jobs": workload.jobs, "days": workload.days,
                     "interval_s": workload.interval_s, "records": records,
                     "server_qps_cap_per_action": workload.qps,
                     "latency_ms": workload.latency_ms},
        "files_due": due,
        "min_calls": minimum,
        "wall_bound_s": round(max(minimum.values()) / workload.qps, 2),
        "purger": purger,
        "sequential_sdk_loop": loop,
        "import_ms": {"sdk": round(imports[SDK_MODULE], 1),
                      "handler": round(imports["index"], 1),
                      "overhead": round(imports["index"] - imports[SDK_MODULE], 1)},
        "goals": GOALS,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dev.py bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["sweep", "transports"], default="sweep")
    parser.add_argument("--jobs", type=int, default=10, help="snapshot jobs (default 10)")
    parser.add_argument("--days", type=float, default=1.0,
                        help="days of snapshots to sweep per job (default 1)")
    parser.add_argument("--interval", type=int, default=5,
                        help="seconds between snapshots (default 5: 17,280 a day)")
    parser.add_argument("--latency-ms", type=float, default=5.0,
                        help="added by the emulator to every request (default 5)")
    parser.add_argument("--qps", type=float, default=100.0,
                        help="the emulator's cap per action and second (default 100)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the sequential SDK loop")
    parser.add_argument("--import-repeats", type=int, default=9,
                        help="fresh interpreters per import measurement (default 9)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.what == "transports":
        from bench.transports import compare

        print(json.dumps(compare()))
        return 0
    print(json.dumps(sweep(args)))
    return 0
