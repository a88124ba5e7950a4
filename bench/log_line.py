"""What one `snapshot_file` line costs through the function's Powertools Logger
(`snapshot_purge.logs`) into a file, with the run's keys on every line as the handler sets them:
as a delete call's outcomes go out (`Reporter.files`, 200 at a time), and one at a time
(`Reporter.file`, as an overlay or an OSS echo is logged).

`python -m bench.log_line` prints it as JSON. It runs in a fresh interpreter that has imported
`index` and nothing of the bench's, so that its heap (which the garbage collector walks) is the
function's. Timed in rounds of 20,000 lines; the median round gives the cost per line, so a
burst of load elsewhere on the machine spoils one round, not the figure.
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
from collections.abc import Callable
from typing import Any

from bench.measure import GOALS
from bench.processes import PYTHON_ENV, ROOT
from snapshot_purge.ice import CallStats
from snapshot_purge.logs import make_logger
from snapshot_purge.model import (
    MAX_TIMESTAMPS_PER_DELETE,
    FileOutcome,
    Result,
    RunIdentity,
    SnapshotFile,
    Trigger,
)
from snapshot_purge.report import Reporter

LINES_PER_ROUND = 20_000
ROUNDS = 5
JOB_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
FIRST_TIMESTAMP = 1_795_176_007_123


def _outcomes(count: int) -> list[FileOutcome]:
    request_id = str(uuid.uuid4()).upper()
    return [
        FileOutcome(SnapshotFile(JOB_ID, stamp, f"snapshots/{JOB_ID}/{stamp}.jpg"), Result.OK,
                    True, None, request_id)
        for stamp in range(FIRST_TIMESTAMP, FIRST_TIMESTAMP + 5_000 * count, 5_000)
    ]


def _rounds(write: Callable[[], None], sink: Any) -> list[float]:
    """Microseconds per line of each round."""
    rounds = []
    for _ in range(ROUNDS):
        sink.seek(0)
        sink.truncate()
        started = time.perf_counter()
        write()
        rounds.append((time.perf_counter() - started) / LINES_PER_ROUND * 1e6)
    return rounds


def per_line_us() -> dict[str, Any]:
    outcomes = _outcomes(LINES_PER_ROUND)
    calls = [outcomes[at:at + MAX_TIMESTAMPS_PER_DELETE]
             for at in range(0, len(outcomes), MAX_TIMESTAMPS_PER_DELETE)]
    with tempfile.TemporaryFile("w+") as sink:
        logger = make_logger("bench-log-line", sink)
        request_id = str(uuid.uuid4())
        reporter = Reporter(logger, Trigger.TIMER, request_id, RunIdentity(request_id), False,
                            CallStats())
        logger.append_keys(**reporter.run_keys())

        def per_call() -> None:
            for call in calls:
                reporter.files(call, None)

        def one_by_one() -> None:
            for outcome in outcomes:
                reporter.file(outcome, None)

        batched, alone = _rounds(per_call, sink), _rounds(one_by_one, sink)
    median = statistics.median(batched)
    return {"us_per_line": round(median, 2), "best_round_us_per_line": round(min(batched), 2),
            "us_per_line_one_at_a_time": round(statistics.median(alone), 2),
            "rounds": ROUNDS, "lines_per_round": LINES_PER_ROUND,
            "met": median <= GOALS.log_line_us}


def in_fresh_interpreter() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.log_line"], capture_output=True,
                          text=True, check=True, env=PYTHON_ENV, cwd=ROOT)
    measured: dict[str, Any] = json.loads(done.stdout)
    return measured


if __name__ == "__main__":
    importlib.import_module("index")  # the function's modules, loaded as in its process
    print(json.dumps(per_line_us()))
