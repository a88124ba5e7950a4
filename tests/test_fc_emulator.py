"""The local Function Compute endpoint through the official fc20230330 SDK over HTTP: signatures,
sync and async invocations, retries, timeouts, instance limits and chained invocations, each run
in real worker processes (the probe function, tests/fc_functions/probe.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_support import refused
from fc_support import (
    ECHO,
    PROBE,
    endpoint,
    eventually,
    fc_client,
    get_task,
    invoke,
    list_tasks,
    log_lines,
    probe_config,
    sync_result,
    wait_done,
)

from emulator.fc import FunctionCompute, TaskStatus
from emulator.signing import AccessKey

SUCCEEDED, FAILED = TaskStatus.SUCCEEDED, TaskStatus.FAILED
RUNNING, RETRYING, ENQUEUED = TaskStatus.RUNNING, TaskStatus.RETRYING, TaskStatus.ENQUEUED


@pytest.fixture
def probe() -> Iterator[tuple[FunctionCompute, Any]]:
    with endpoint(probe_config()) as running:
        yield running


def failing(counter: Path, failures: int, how: str = "raise") -> dict[str, Any]:
    return {"do": "fail", "counter": str(counter), "failures": failures, "how": how}


def test_sync_invocation_gets_the_event_as_bytes_an_fc_context_and_fcs_environment(
    probe: tuple[FunctionCompute, Any],
) -> None:
    fc, client = probe
    response = invoke(client, ECHO)
    result = json.loads(response.body.read())

    role = fc.role_credentials
    assert response.status_code == 200
    assert result["event_type"] == "bytes"
    assert result["request_id"] == response.headers["x-fc-request-id"]
    assert result["credentials"] == {"access_key_id": role.access_key_id,
                                     "access_key_secret": role.access_key_secret,
                                     "security_token": role.security_token}
    assert result["function"] == {"name": PROBE, "handler": "probe.handler", "memory": 512,
                                  "timeout": 30}
    assert (result["region"], result["account_id"]) == ("cn-shanghai", fc.identity.account_id)
    assert result["environment"] == {
        "FC_FUNCTION_NAME": PROBE, "FC_REGION": "cn-shanghai",
        "FC_ACCOUNT_ID": fc.identity.account_id,
        "FC_INSTANCE_ID": result["environment"]["FC_INSTANCE_ID"],
        "ALIBABA_CLOUD_ACCESS_KEY_ID": role.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": role.access_key_secret,
        "ALIBABA_CLOUD_SECURITY_TOKEN": role.security_token,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true", "GREETING": "hello",
        "ICE_ENDPOINT": None, "FANOUT_ENDPOINT": None,
    }


def test_an_instance_imports_the_handler_once_and_stays_warm(
    probe: tuple[FunctionCompute, Any],
) -> None:
    fc, client = probe
    first, second = sync_result(client, ECHO), sync_result(client, ECHO)

    assert (first["invocations"], second["invocations"]) == (1, 2)
    assert first["environment"]["FC_INSTANCE_ID"] == second["environment"]["FC_INSTANCE_ID"]
    assert fc.instances(PROBE) == 1


def test_python312_runtime_has_no_context_credentials_and_the_role_keys_in_the_environment(
) -> None:
    role = AccessKey.generate(sts=True)
    with endpoint(probe_config(runtime="python3.12"), role_credentials=role) as (_, client):
        result = sync_result(client, ECHO)

    assert result["credentials"] is None
    environment = result["environment"]
    assert (environment["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            environment["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            environment["ALIBABA_CLOUD_SECURITY_TOKEN"]) == (
        role.access_key_id, role.access_key_secret, role.security_token)


@pytest.mark.parametrize(("tamper", "expected"), [
    ("unknown key", ("InvalidAccessKeyId.NotFound", 404)),
    ("wrong secret", ("SignatureDoesNotMatch", 400)),
    ("no token", ("MissingSecurityToken", 400)),
    ("wrong token", ("InvalidSecurityToken.Malformed", 400)),
])
def test_badly_signed_calls_are_refused_and_run_nothing(
    probe: tuple[FunctionCompute, Any], tamper: str, expected: tuple[str, int],
) -> None:
    fc, _ = probe
    key = fc.credentials
    wrong = {
        "unknown key": AccessKey.generate(sts=True),
        "wrong secret": AccessKey(key.access_key_id, "not-the-secret", key.security_token),
        "no token": AccessKey(key.access_key_id, key.access_key_secret),
        "wrong token": AccessKey(key.access_key_id, key.access_key_secret, "not-the-token"),
    }[tamper]
    client = fc_client(fc.endpoint, wrong)

    assert refused(lambda: invoke(client, ECHO)) == expected
    assert refused(lambda: invoke(client, ECHO, invocation="Async")) == expected
    assert refused(lambda: list_tasks(client)) == expected
    assert fc.instances(PROBE) == 0
    assert fc.tasks() == []


@pytest.mark.parametrize("invocation", ["Sync", "Async"])
def test_an_unknown_function_is_404_function_not_found(
    probe: tuple[FunctionCompute, Any], invocation: str,
) -> None:
    _, client = probe
    assert refused(lambda: invoke(client, ECHO, function="nope", invocation=invocation)) == (
        "FunctionNotFound", 404)


def test_an_async_invocation_is_accepted_with_202_and_runs_under_its_task_id(
    probe: tuple[FunctionCompute, Any],
) -> None:
    fc, client = probe
    response = invoke(client, ECHO, invocation="Async", task_id="run_7-shard-0")
    assert response.status_code == 202
    assert response.headers["x-fc-async-task-id"] == "run_7-shard-0"
    wait_done(fc)

    [task] = fc.tasks()
    request_id = response.headers["x-fc-request-id"]
    assert (task.task_id, task.function, task.status, task.attempts) == (
        "run_7-shard-0", PROBE, SUCCEEDED, 1)
    assert task.payload == json.dumps(ECHO).encode()
    assert task.request_id == request_id
    assert task.result["request_id"] == request_id
    assert task.error is None


def test_without_a_task_id_the_request_id_names_the_task(probe: tuple[FunctionCompute, Any]
                                                         ) -> None:
    fc, client = probe
    response = invoke(client, ECHO, invocation="Async")
    wait_done(fc)

    assert response.headers["x-fc-async-task-id"] == response.headers["x-fc-request-id"]
    assert [task.task_id for task in fc.tasks()] == [response.headers["x-fc-request-id"]]


def test_a_repeated_task_id_is_refused_with_409_and_the_task_runs_once(
    probe: tuple[FunctionCompute, Any], tmp_path: Path,
) -> None:
    fc, client = probe
    counter = tmp_path / "runs"
    event = failing(counter, failures=0)
    invoke(client, event, invocation="Async", task_id="run-1-shard-0")

    assert refused(lambda: invoke(client, event, invocation="Async", task_id="run-1-shard-0")
                   ) == ("AsyncTaskAlreadyExists", 409)
    wait_done(fc)
    assert refused(lambda: invoke(client, event, invocation="Async", task_id="run-1-shard-0")
                   ) == ("AsyncTaskAlreadyExists", 409)
    assert counter.read_text() == "1"
    assert [task.status for task in fc.tasks()] == [SUCCEEDED]


@pytest.mark.parametrize("task_id", ["1-starts-with-a-digit", "-starts-with-a-dash",
                                     "has space", "dot.ted", "x" * 129])
def test_a_task_id_against_fcs_rule_is_refused_with_400(
    probe: tuple[FunctionCompute, Any], task_id: str,
) -> None:
    fc, client = probe
    assert refused(lambda: invoke(client, ECHO, invocation="Async", task_id=task_id)) == (
        "InvalidArgument", 400)
    assert fc.tasks() == []


def test_the_longest_task_id_fc_allows_is_accepted(probe: tuple[FunctionCompute, Any]) -> None:
    fc, client = probe
    task_id = "_" + "a-9" * 42 + "Z"
    assert len(task_id) == 128
    assert invoke(client, ECHO, invocation="Async", task_id=task_id).status_code == 202
    wait_done(fc)


def test_a_sync_function_error_answers_200_with_fcs_error_type_and_is_not_retried(
    probe: tuple[FunctionCompute, Any], tmp_path: Path,
) -> None:
    _, client = probe
    counter = tmp_path / "runs"
    response = invoke(client, failing(counter, failures=1))

    assert response.status_code == 200
    assert response.headers["x-fc-error-type"] == "UnhandledInvocationError"
    error = json.loads(response.body.read())
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError",
                                                           "attempt 1 fails on purpose")
    assert error["stackTrace"][-1][2] == "in fail"
    assert counter.read_text() == "1"


def test_a_failing_async_invocation_is_retried_until_it_succeeds_with_each_attempts_log(
    probe: tuple[FunctionCompute, Any], tmp_path: Path,
) -> None:
    fc, client = probe
    invoke(client, failing(tmp_path / "runs", failures=2), invocation="Async", task_id="flaky")
    wait_done(fc)

    [task] = fc.tasks()
    assert (task.status, task.attempts, task.result, task.error) == (SUCCEEDED, 3,
                                                                     {"attempt": 3}, None)
    assert [event.status for event in task.events] == [
        ENQUEUED, RUNNING, RETRYING, RUNNING, RETRYING, RUNNING, SUCCEEDED]
    attempts = [[line["attempt"] for line in log_lines(log) if line["message"] == "attempt"]
                for log in task.logs]
    assert attempts == [[1], [2], [3]]
    assert "RuntimeError: attempt 1 fails on purpose" in task.logs[0]
    assert "RuntimeError: attempt 2 fails on purpose" in task.logs[1]
    assert "Traceback" not in task.logs[2]


def test_when_the_retries_run_out_the_task_fails_with_the_last_error(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    with endpoint(probe_config(max_async_retry_attempts=2)) as (fc, client):
        invoke(client, failing(counter, failures=9), invocation="Async", task_id="doomed")
        wait_done(fc)
        seen = get_task(client, "doomed")

    [task] = fc.tasks()
    assert (task.status, task.attempts, task.error) == (
        FAILED, 3, "RuntimeError: attempt 3 fails on purpose")
    assert counter.read_text() == "3"
    assert (seen["status"], seen["destinationStatus"], seen["alreadyRetriedTimes"],
            seen["taskErrorMessage"]) == ("Failed", "Failed", 2,
                                          "RuntimeError: attempt 3 fails on purpose")


def test_an_invocation_past_its_timeout_is_killed_and_retried_on_a_new_instance(
    tmp_path: Path,
) -> None:
    with endpoint(probe_config(timeout_s=2.0, instances=1)) as (fc, client):
        invoke(client, failing(tmp_path / "runs", failures=1, how="sleep"), invocation="Async",
               task_id="slow")
        wait_done(fc)
        instances = fc.instances(PROBE)

    [task] = fc.tasks()
    assert (task.status, task.attempts) == (SUCCEEDED, 2)
    assert task.events[2].detail == "Function timed out after 2 seconds"
    assert [line["attempt"] for line in log_lines(task.logs[0])
            if line["message"] == "attempt"] == [1]
    assert instances == 1


def test_an_instance_that_exits_mid_invocation_is_a_failed_attempt(
    probe: tuple[FunctionCompute, Any], tmp_path: Path,
) -> None:
    fc, client = probe
    invoke(client, failing(tmp_path / "runs", failures=1, how="exit"), invocation="Async",
           task_id="crash")
    wait_done(fc)

    [task] = fc.tasks()
    assert (task.status, task.attempts) == (SUCCEEDED, 2)
    assert task.events[2].detail == (
        "Process exited unexpectedly before completing request (exit code 3)")


def test_async_invocations_beyond_the_free_instances_queue_in_order(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with endpoint(probe_config(instances=1)) as (fc, client):
        for number in range(3):
            invoke(client, {"do": "wait", "gate": str(gate)}, invocation="Async",
                   task_id=f"queued-{number}")
        eventually(lambda: fc.tasks()[0].status is RUNNING)

        assert [task.status for task in fc.tasks()] == [RUNNING, ENQUEUED, ENQUEUED]
        assert refused(lambda: invoke(client, ECHO)) == ("ResourceExhausted", 429)
        gate.touch()
        wait_done(fc)
        instances = fc.instances(PROBE)

    tasks = fc.tasks()
    assert [task.status for task in tasks] == [SUCCEEDED] * 3
    assert len({task.result["instance"] for task in tasks}) == instances == 1
    started = [task.started_at or 0.0 for task in tasks]
    assert started == sorted(started)


class SetClock:
    """The endpoint's clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_event_that_waited_past_its_maximum_age_expires_without_running(tmp_path: Path
                                                                          ) -> None:
    clock = SetClock(1_000.0)
    gate, counter = tmp_path / "gate", tmp_path / "runs"
    config = probe_config(instances=1, max_async_event_age_s=60.0)
    with endpoint(config, clock=clock) as (fc, client):
        invoke(client, {"do": "wait", "gate": str(gate)}, invocation="Async", task_id="busy")
        eventually(lambda: fc.tasks()[0].status is RUNNING)
        invoke(client, failing(counter, failures=0), invocation="Async", task_id="stale")
        clock.now += 61.0
        gate.touch()
        wait_done(fc)

    assert [(task.task_id, task.status, task.attempts) for task in fc.tasks()] == [
        ("busy", SUCCEEDED, 1), ("stale", TaskStatus.EXPIRED, 0)]
    assert not counter.exists()


def test_a_function_invoking_itself_asynchronously_with_its_role_keys_runs_every_hop() -> None:
    role = AccessKey.generate(sts=True)
    with endpoint(probe_config(), role_credentials=role) as (fc, client):
        invoke(client, {"do": "chain", "endpoint": fc.endpoint, "hops": 2}, invocation="Async",
               task_id="start")
        eventually(lambda: len(fc.tasks()) == 3)
        wait_done(fc)

    tasks = fc.tasks()
    assert [(task.task_id, task.status, task.result) for task in tasks] == [
        ("start", SUCCEEDED, {"hops": 2}),
        ("hop-1", SUCCEEDED, {"hops": 1}),
        ("hop-0", SUCCEEDED, {"hops": 0}),
    ]


def test_the_log_tail_of_a_sync_invocation_comes_base64_in_a_header(
    probe: tuple[FunctionCompute, Any],
) -> None:
    _, client = probe
    response = invoke(client, ECHO, log_type="Tail")

    tail = base64.b64decode(response.headers["x-fc-log-result"]).decode()
    assert log_lines(tail) == [{"message": "invoked", "do": "echo",
                                "request_id": response.headers["x-fc-request-id"]}]


def test_only_the_latest_version_is_served(probe: tuple[FunctionCompute, Any]) -> None:
    _, client = probe
    assert sync_result(client, {"do": "echo"})["invocations"] == 1
    assert json.loads(invoke(client, ECHO, qualifier="LATEST").body.read())["invocations"] == 2
    assert refused(lambda: invoke(client, ECHO, qualifier="prod")) == ("InvalidArgument", 400)


def test_an_async_payload_may_hold_128_kb_and_no_more(probe: tuple[FunctionCompute, Any]
                                                      ) -> None:
    fc, client = probe
    limit = 128 * 1024
    padded = json.dumps({"do": "echo", "pad": ""}).encode()
    fits = padded.replace(b'""', b'"' + b"x" * (limit - len(padded)) + b'"')
    assert len(fits) == limit

    assert invoke(client, fits, invocation="Async", task_id="full").status_code == 202
    assert refused(lambda: invoke(client, fits + b" ", invocation="Async")) == (
        "EntityTooLarge", 400)
    wait_done(fc)
    assert [task.task_id for task in fc.tasks()] == ["full"]
