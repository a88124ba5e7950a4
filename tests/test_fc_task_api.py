"""The async task views of the local FC endpoint through the official SDK: GetAsyncTask,
ListAsyncTasks (paging, order, filters) and the unsigned admin page."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_support import refused
from fc_support import (
    ECHO,
    PROBE,
    endpoint,
    get_task,
    invoke,
    list_tasks,
    log_lines,
    probe_config,
    wait_done,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.fc import FunctionCompute


@pytest.fixture(scope="module")
def finished() -> Iterator[tuple[FunctionCompute, Any]]:
    """Seven async tasks t0..t6 that succeeded, one after the other."""
    with endpoint(probe_config(instances=1)) as (fc, client):
        for number in range(7):
            invoke(client, ECHO, invocation="Async", task_id=f"t{number}")
        wait_done(fc)
        yield fc, client


def test_get_async_task_shows_a_task_as_fc_does(finished: tuple[FunctionCompute, Any]) -> None:
    fc, client = finished
    task = fc.tasks()[3]
    seen = get_task(client, "t3")

    assert {name: seen[name] for name in ("taskId", "requestId", "status", "destinationStatus",
                                          "alreadyRetriedTimes", "functionArn", "qualifier",
                                          "taskPayload", "instanceId")} == {
        "taskId": "t3", "requestId": task.request_id, "status": "Succeeded",
        "destinationStatus": "Succeeded", "alreadyRetriedTimes": 0,
        "functionArn": f"acs:fc:cn-shanghai:{fc.identity.account_id}:functions/{PROBE}",
        "qualifier": "LATEST", "taskPayload": json.dumps(ECHO), "instanceId": task.instance_id,
    }
    assert json.loads(seen["returnPayload"]) == task.result
    assert [event["status"] for event in seen["events"]] == ["Enqueued", "Running", "Succeeded"]
    assert seen["startedTime"] <= seen["endTime"]
    assert refused(lambda: get_task(client, "t99")) == ("AsyncTaskNotFound", 404)


@settings(max_examples=12, deadline=None)
@given(limit=st.integers(min_value=1, max_value=9), newest_first=st.booleans())
def test_list_async_tasks_pages_through_every_task_once(
    finished: tuple[FunctionCompute, Any], limit: int, newest_first: bool,
) -> None:
    _, client = finished
    order = "desc" if newest_first else "asc"
    seen: list[str] = []
    token = None
    while True:
        page = list_tasks(client, limit=limit, next_token=token, sort_order_by_time=order)
        assert 1 <= len(page["tasks"]) <= limit
        seen += [task["taskId"] for task in page["tasks"]]
        token = page.get("nextToken")
        if token is None:
            break

    everything = [f"t{number}" for number in range(7)]
    assert seen == (everything[::-1] if newest_first else everything)


def test_list_async_tasks_filters_by_prefix_and_status(finished: tuple[FunctionCompute, Any]
                                                       ) -> None:
    _, client = finished
    assert [task["taskId"] for task in list_tasks(client, prefix="t1")["tasks"]] == ["t1"]
    assert list_tasks(client, status="Failed")["tasks"] == []
    assert len(list_tasks(client, status="Succeeded", include_payload=True)["tasks"]) == 7
    assert refused(lambda: list_tasks(client, limit=101)) == ("InvalidArgument", 400)


def test_the_admin_page_shows_every_task_with_its_logs_unsigned(
    finished: tuple[FunctionCompute, Any],
) -> None:
    fc, _ = finished
    host, port = fc.endpoint.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", f"/_emulator/tasks?function={PROBE}")
        response = connection.getresponse()
        status, page = response.status, json.loads(response.read())
    finally:
        connection.close()

    assert status == 200
    assert [(task["taskId"], task["status"], task["attempts"]) for task in page["tasks"]] == [
        (f"t{number}", "Succeeded", 1) for number in range(7)]
    assert all(log_lines(task["logs"][0])[0]["message"] == "invoked" for task in page["tasks"])
