"""This repository's `index.handler`, invoked through the local FC endpoint, runs in a worker
process and purges the ICE emulator with the role credentials FC hands it."""

from __future__ import annotations

import time

from emulator_support import HOUR_MS, SECOND_MS, iso
from fc_support import ROOT, fc_client, invoke, log_lines

from emulator.fc import FunctionCompute, FunctionConfig, TaskStatus
from emulator.seed import seed
from emulator.server import Emulator
from emulator.signing import AccessKey
from emulator.store import Store

FUNCTION = "ice-snapshot-purge"


def test_an_async_range_request_deletes_exactly_the_range_from_the_ice_emulator() -> None:
    key = AccessKey.generate(sts=True)
    store = Store()
    now_ms = int(time.time()) * SECOND_MS
    [job] = seed(store, jobs=1, interval_s=600, days=2, end_ms=now_ms)
    start_ms, end_ms = now_ms - 30 * HOUR_MS, now_ms - 6 * HOUR_MS
    before = {record.create_timestamp for record in store.records(job.job_id)}
    due = {record.create_timestamp for record in store.records(job.job_id)
           if start_ms <= record.create_timestamp < end_ms and not record.is_overlay}

    with Emulator(store, credentials=key) as ice, FunctionCompute(credentials=key) as fc:
        fc.add_function(FunctionConfig(
            name=FUNCTION, code_paths=(ROOT / "src",), handler="index.handler",
            environment={"ICE_ENDPOINT": ice.endpoint}, timeout_s=120.0, instances=1,
        ))
        response = invoke(fc_client(fc.endpoint, key),
                          {"JobId": job.job_id, "StartTime": iso(start_ms),
                           "EndTime": iso(end_ms)},
                          function=FUNCTION, invocation="Async", task_id="purge-range")
        assert fc.wait_idle(120)

    [task] = fc.tasks(FUNCTION)
    assert task.status is TaskStatus.SUCCEEDED, task.logs
    assert len(due) == 24 * 6
    assert {record.create_timestamp for record in store.records(job.job_id)} == before - due
    [summary] = [line for line in log_lines(task.logs[0]) if line["message"] == "purge_summary"]
    assert summary["request_id"] == response.headers["x-fc-request-id"]
    assert task.result["complete"] is True
