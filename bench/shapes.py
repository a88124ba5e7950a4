"""The shapes of sweep a user meets (issues 10 and 8), each measured against its own bound.

A shape is a workload (jobs x days of snapshots) and a server: a cap per action and second, added
latency, and whether the client is told the cap (ICE_MAX_QPS) or has to find it. Each run starts
from the same seeded database (a fresh copy), with the emulator in a process of its own and the
sweep in another (`bench.sweep_process`), so CPU time and peak RSS are the sweep's alone.

The sweep is a timer run: `RetentionDays` of an hour, `LookbackDays` the workload's days, and the
timer's `triggerTime` as the run's "now", so that what is due is known to the file. Snapshots are
seeded an hour further back than the range and up to "now", so files on both sides of it must be
left alone, and are checked to be.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.baseline import Window, day_windows, sequential_sweep
from bench.measure import (
    ACTIONS,
    GOALS,
    CpuUse,
    JobRange,
    bound_s,
    call_efficiency,
    minimum_calls,
    wall_verdict,
)
from bench.processes import (
    PYTHON_ENV,
    ROOT,
    THROTTLED,
    RunningEmulator,
    emulator_process,
)
from emulator.seed import seed
from emulator.store import Store
from snapshot_purge.model import DAY_MS

RETENTION_DAYS = 1 / 24
RETENTION_MS = round(RETENTION_DAYS * DAY_MS)
JOB_ID_PREFIX = "bench-job-"


@dataclass(frozen=True)
class Workload:
    jobs: int
    days: float  # the sweep's LookbackDays: the range each job's due files lie in
    interval_s: int  # seconds between snapshots

    @property
    def job_ids(self) -> list[str]:
        return [f"{JOB_ID_PREFIX}{n:04d}" for n in range(self.jobs)]


@dataclass(frozen=True)
class Shape:
    name: str
    workload: Workload
    cap: float  # the server's cap per action and second
    latency_ms: float
    told_cap: bool = False  # ICE_MAX_QPS set to the cap (a fleet's shards share it)
    shards: int | None = None  # None: one handler process; else a fleet over the FC endpoint


@dataclass(frozen=True)
class Seeded:
    """A workload seeded once; every run works on a copy of `db`."""

    db: Path
    now_ms: int
    records: int
    jobs: tuple[JobRange, ...]

    @property
    def due(self) -> int:
        return sum(job.files for job in self.jobs)

    @property
    def range_ms(self) -> tuple[int, int]:
        return sweep_range(self.now_ms, self.jobs[0].span_ms)


def sweep_range(now_ms: int, span_ms: int) -> tuple[int, int]:
    cutoff = now_ms - RETENTION_MS
    return cutoff - span_ms, cutoff


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_workload(workload: Workload, db: Path) -> Seeded:
    now_ms = int(time.time()) * 1000  # a whole second, as a timer's triggerTime is
    span_ms = round(workload.days * DAY_MS)
    start, end = sweep_range(now_ms, span_ms)
    store = Store(db)
    try:
        seed(store, jobs=workload.job_ids, interval_s=workload.interval_s,
             days=workload.days + 2 * RETENTION_DAYS, end_ms=now_ms)
        jobs = tuple(JobRange(store.count_files(job, start, end), span_ms)
                     for job in workload.job_ids)
        return Seeded(db, now_ms, store.count_records(), jobs)
    finally:
        store.close()


def timer_event(seeded: Seeded, workload: Workload) -> dict[str, Any]:
    return {"triggerTime": iso(seeded.now_ms), "triggerName": "bench",
            "payload": json.dumps({"RetentionDays": RETENTION_DAYS,
                                   "LookbackDays": workload.days})}


def function_env(shape: Shape, ice: RunningEmulator) -> dict[str, str]:
    workload = shape.workload
    env = {"ICE_ENDPOINT": ice.endpoint, "SNAPSHOT_JOB_IDS": ",".join(workload.job_ids)}
    if shape.told_cap:
        env["ICE_MAX_QPS"] = f"{shape.cap:g}"
    if shape.shards is not None:
        env["FANOUT_JOBS_PER_SHARD"] = str(math.ceil(workload.jobs / shape.shards))
    return env


def run_sweep(shape: Shape, seeded: Seeded, ice: RunningEmulator, log_path: Path
              ) -> dict[str, Any]:
    spec = {
        "mode": "handler" if shape.shards is None else "fleet",
        "key": asdict(ice.key),
        "endpoint": ice.endpoint,
        "event": timer_event(seeded, shape.workload),
        "env": function_env(shape, ice),
        "log_path": str(log_path),
        # One instance per shard: the coordinator takes one only while it dispatches.
        "instances": shape.shards or 1,
    }
    done = subprocess.run([sys.executable, "-m", "bench.sweep_process"], input=json.dumps(spec),
                          stdout=subprocess.PIPE, text=True, env=PYTHON_ENV, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sweep process failed (exit {done.returncode}); its error is"
                           " above")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def left_in(db: Path, seeded: Seeded, job_ids: list[str]) -> tuple[int, int]:
    """Due files left, and records left in all."""
    start, end = seeded.range_ms
    store = Store(db)
    try:
        return sum(store.count_files(job, start, end) for job in job_ids), store.count_records()
    finally:
        store.close()


@dataclass(frozen=True)
class Around:
    """What was seen around one sweep: the machine before it, the emulator's CPU during it, and
    the database after it."""

    load_avg: tuple[float, float, float]
    emulator_s: float | None
    due_left: int
    records_left: int


def measure(shape: Shape, seeded: Seeded, scratch: Path) -> dict[str, Any]:
    """Run the shape once on a fresh copy of its database; its figures and goals, as one dict."""
    db = scratch / f"{shape.name}.db"
    shutil.copy(seeded.db, db)
    load_avg = os.getloadavg()
    caps = {action: shape.cap for action in ACTIONS}
    log = scratch / f"{shape.name}.log"
    with emulator_process(db, caps=caps, latency_ms=shape.latency_ms) as ice:
        emulator_before = ice.cpu_s()
        result = run_sweep(shape, seeded, ice, log)
        emulator_after = ice.cpu_s()
        answers = ice.calls()
    due_left, records_left = left_in(db, seeded, shape.workload.job_ids)
    db.unlink()
    log.unlink(missing_ok=True)
    emulator_s = (None if emulator_before is None or emulator_after is None
                  else emulator_after - emulator_before)
    around = Around(load_avg, emulator_s, due_left, records_left)
    return figures(shape, seeded, result, answers, around)


def cpu_use(result: dict[str, Any], emulator_s: float | None) -> CpuUse:
    machine_s = None if result["machine_busy"] is None else result["machine_busy"][0]
    other_s = None
    if machine_s is not None and emulator_s is not None:
        other_s = max(0.0, machine_s - result["cpu_s"] - result["endpoint_cpu_s"] - emulator_s)
    return CpuUse(process_s=result["cpu_s"] if result["processes"] == 1 else None,
                  machine_s=machine_s, other_s=other_s, cores=os.cpu_count() or 1)


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def figures(shape: Shape, seeded: Seeded, result: dict[str, Any],
            answers: dict[str, dict[str, int]], around: Around) -> dict[str, Any]:
    minimum = minimum_calls(seeded.jobs)
    bound = bound_s(minimum, shape.cap)
    made = {action: sum(codes.values()) for action, codes in answers.items()}
    throttled = sum(answers.get(action, {}).get(THROTTLED, 0) for action in ACTIONS)
    total = sum(made.get(action, 0) for action in ACTIONS)
    wall_s = result["wall_s"]
    cpu = cpu_use(result, around.emulator_s)
    deleted = seeded.due - around.due_left
    efficiency = call_efficiency(minimum, made)
    throttled_share = throttled / total if total else 0.0
    summaries = result["summaries"]
    return {
        "shape": shape.name,
        "workload": {**asdict(shape.workload), "records": seeded.records,
                     "cap_per_action": shape.cap,
                     "latency_ms": shape.latency_ms, "client_told_cap": shape.told_cap,
                     "shards": shape.shards},
        "files_due": seeded.due,
        "minimum_calls": minimum,
        "bound_s": round(bound, 2),
        "calls": made,
        "call_efficiency": round(efficiency, 4),
        "wall_s": round(wall_s, 2),
        "wall_vs_bound": round(wall_s / bound, 3),
        "throttled": throttled,
        "throttled_share": round(throttled_share, 4),
        "files_deleted": deleted,
        "others_deleted": seeded.records - around.records_left - deleted,
        "complete": result["failed_invocations"] == 0 and all(s["complete"] for s in summaries),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "cpu_s": {
            "handler": round(result["cpu_s"], 2),
            "handler_processes": result["processes"],
            "emulator": rounded(around.emulator_s),
            "fc_endpoint": round(result["endpoint_cpu_s"], 2),
            "machine": rounded(cpu.machine_s),
            # What neither the sweep, the emulator nor the FC endpoint used: other sessions.
            "others": rounded(cpu.other_s),
            "cores": cpu.cores,
        },
        "load_avg_before": [round(n, 2) for n in around.load_avg],
        "goals": {
            "call_efficiency": efficiency >= GOALS.call_efficiency,
            "wall": wall_verdict(wall_s, bound, cpu),
            "throttled": throttled_share < GOALS.throttled_share,
            "peak_rss": result["peak_rss_mb"] < GOALS.peak_rss_mb,
            "all_due_deleted_nothing_else": deleted == seeded.due
            and seeded.records - around.records_left == deleted,
        },
        **({"invocations_s": result["invocations_s"]} if "invocations_s" in result else {}),
    }


def measure_sequential_loop(shape: Shape, seeded: Seeded, scratch: Path) -> dict[str, Any]:
    """The same sweep as a plain sequential SDK loop (`bench.baseline`), for comparison."""
    db = scratch / f"{shape.name}-loop.db"
    shutil.copy(seeded.db, db)
    windows = [Window(job, *window) for job in shape.workload.job_ids
               for window in day_windows(seeded.range_ms)]
    caps = {action: shape.cap for action in ACTIONS}
    with emulator_process(db, caps=caps, latency_ms=shape.latency_ms) as ice:
        started = time.monotonic()
        stats = sequential_sweep(ice.endpoint, ice.key, windows)
        wall_s = time.monotonic() - started
    due_left, _ = left_in(db, seeded, shape.workload.job_ids)
    db.unlink()
    minimum = minimum_calls(seeded.jobs)
    bound = bound_s(minimum, shape.cap)
    total = sum(stats.calls.values())
    return {"shape": f"{shape.name}-sequential-sdk-loop", "files_due": seeded.due,
            "bound_s": round(bound, 2), "calls": dict(stats.calls),
            "call_efficiency": round(call_efficiency(minimum, stats.calls), 4),
            "wall_s": round(wall_s, 2), "wall_vs_bound": round(wall_s / bound, 3),
            "throttled": stats.throttled,
            "throttled_share": round(stats.throttled / total, 4) if total else 0.0,
            "files_deleted": seeded.due - due_left}


def catalogue(*, million: bool, quick: bool, fleet_jobs: int) -> list[Shape]:
    """Every shape, at the sizes a default run can afford; `million` gives the first its
    1,000,000 records; `quick` spaces every snapshot ten times further apart (a smoke run)."""
    sparse = 10 if quick else 1
    shapes = [
        Shape("many-slices", Workload(58 if million else 10, 1.0, 5 * sparse), 100.0, 5.0),
        Shape("few-slices", Workload(4, 0.5, 5 * sparse), 40.0, 20.0),
        Shape("windows-per-job", Workload(20, 3.0, 60 * sparse), 100.0, 5.0),
        Shape("high-cap", Workload(20, 1.0, 5 * sparse), 300.0, 5.0),
    ]
    fleet = Workload(fleet_jobs, 1.0, 5 * sparse)
    for told in (True, False):
        for shards in (1, 2, 4):
            name = f"fleet-{shards}-shard{'s' if shards > 1 else ''}-" + (
                "budget" if told else "adaptive")
            shapes.append(Shape(name, fleet, 100.0, 5.0, told_cap=told, shards=shards))
    return shapes

