"""One measured sweep in a process of its own: `python -m bench.sweep_process`, a JSON spec on
stdin, one JSON result on stdout.

A process of its own, so that the CPU time and peak RSS it reports are the sweep's alone, as in
one Function Compute instance:
- `handler`: the handler (`snapshot_purge.app.handle`, as `index.handler` calls it) runs here;
  its JSON lines go to a file. Wall and CPU time are counted from the call, after the imports.
  No progress display: it costs CPU on every file line, and a function has none.
- `fleet`: the function on a local Function Compute endpoint (`devtools.fleet.local_function`)
  with fan-out on, invoked asynchronously as a timer would; wall time runs from the invocation to
  the last shard's end. The instances are this process's only children, so their CPU time and
  peak RSS are what `RUSAGE_CHILDREN` says once the endpoint has ended them.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.processes import MachineCpu
from devtools.fc_context import FcContext, FcCredentials, FcFunction
from devtools.fleet import local_function
from emulator.fc import TaskStatus
from emulator.signing import AccessKey
from snapshot_purge.app import handle
from snapshot_purge.logs import make_logger

FLEET_TIMEOUT_S = 3_600.0


def run_handler(spec: dict[str, Any], key: AccessKey) -> dict[str, Any]:
    context = FcContext(credentials=FcCredentials(key.access_key_id, key.access_key_secret,
                                                  key.security_token),
                        function=FcFunction(timeout=86_400))
    with Path(spec["log_path"]).open("w") as log:
        logger = make_logger("bench", log)
        machine, cpu, started = MachineCpu(), time.process_time(), time.monotonic()
        summary = handle(spec["event"], context, logger=logger, env=spec["env"])
        wall_s, cpu_s = time.monotonic() - started, time.process_time() - cpu
        machine_busy = machine.busy()
    return {"wall_s": wall_s, "cpu_s": cpu_s, "processes": 1, "machine_busy": machine_busy,
            "endpoint_cpu_s": 0.0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "summaries": [summary], "failed_invocations": 0}


def run_fleet(spec: dict[str, Any], key: AccessKey) -> dict[str, Any]:
    with local_function(spec["endpoint"], key, environment=spec["env"],
                        timeout_s=FLEET_TIMEOUT_S, instances=spec["instances"]) as function:
        machine, cpu, started = MachineCpu(), time.process_time(), time.monotonic()
        function.invoke_async(spec["event"])
        tasks = function.wait(timeout_s=FLEET_TIMEOUT_S)
        wall_s, endpoint_cpu_s = time.monotonic() - started, time.process_time() - cpu
        machine_busy = machine.busy()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    first = min(task.submitted_at for task in tasks)
    return {"wall_s": wall_s, "cpu_s": children.ru_utime + children.ru_stime,
            "processes": len({task.instance_id for task in tasks}),
            "machine_busy": machine_busy, "endpoint_cpu_s": endpoint_cpu_s,
            "peak_rss_mb": children.ru_maxrss / 1024,
            "summaries": [task.result for task in tasks if isinstance(task.result, dict)],
            "failed_invocations": sum(task.status is not TaskStatus.SUCCEEDED for task in tasks),
            # When each invocation ran, from the first one's submission: cold starts show here.
            "invocations_s": [[round(task.started_at - first, 2), round(task.ended_at - first, 2)]
                              for task in tasks
                              if task.started_at is not None and task.ended_at is not None]}


def main() -> int:
    spec = json.load(sys.stdin)
    key = AccessKey(**spec["key"])
    run = run_fleet if spec["mode"] == "fleet" else run_handler
    print(json.dumps(run(spec, key)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
