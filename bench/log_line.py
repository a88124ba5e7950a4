"""What one `snapshot_file` line costs: `Reporter.file` through the function's Powertools Logger
(`snapshot_purge.logs`) into a file, with the run's keys on every line as the handler sets them.

`python -m bench.log_line` prints it as JSON. It runs in a fresh interpreter that has imported
`index` and nothing of the bench's, so that its heap (which the garbage collector walks) is the
function's. Timed in batches; the median batch gives the cost per line, so a burst of load
elsewhere on the machine spoils one batch, not the figure.
"""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from bench.measure import GOALS
from bench.processes import PYTHON_ENV, ROOT
from snapshot_purge.ice import CallStats
from snapshot_purge.logs import make_logger
from snapshot_purge.model import FileOutcome, Result, RunIdentity, SnapshotFile, Trigger
from snapshot_purge.report import Reporter

LINES_PER_BATCH = 20_000
BATCHES = 7
JOB_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
FIRST_TIMESTAMP = 1_795_176_007_123


def _outcomes(count: int) -> list[FileOutcome]:
    request_id = str(uuid.uuid4()).upper()
    return [
        FileOutcome(SnapshotFile(JOB_ID, stamp, f"snapshots/{JOB_ID}/{stamp}.jpg"), Result.OK,
                    True, None, request_id)
        for stamp in range(FIRST_TIMESTAMP, FIRST_TIMESTAMP + 5_000 * count, 5_000)
    ]


def per_line_us() -> dict[str, Any]:
    outcomes = _outcomes(LINES_PER_BATCH)
    batches = []
    with tempfile.TemporaryFile("w+") as sink:
        logger = make_logger("bench-log-line", sink)
        request_id = str(uuid.uuid4())
        reporter = Reporter(logger, Trigger.TIMER, request_id, RunIdentity(request_id), False,
                            CallStats())
        logger.append_keys(**reporter.run_keys())
        for _ in range(BATCHES):
            sink.seek(0)
            sink.truncate()
            started = time.perf_counter()
            for outcome in outcomes:
                reporter.file(outcome, None)
            batches.append((time.perf_counter() - started) / LINES_PER_BATCH * 1e6)
    median = statistics.median(batches)
    return {"us_per_line": round(median, 2), "best_batch_us_per_line": round(min(batches), 2),
            "batches": BATCHES, "lines_per_batch": LINES_PER_BATCH,
            "met": median <= GOALS.log_line_us}


def in_fresh_interpreter() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.log_line"], capture_output=True,
                          text=True, check=True, env=PYTHON_ENV, cwd=ROOT)
    measured: dict[str, Any] = json.loads(done.stdout)
    return measured


if __name__ == "__main__":
    importlib.import_module("index")  # the function's modules, loaded as in its process
    print(json.dumps(per_line_us()))
