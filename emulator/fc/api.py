"""FC 3.0's invocation API (version 2023-03-30) as the official `alibabacloud-fc20230330` SDK
speaks it: ROA paths, signature V3 checked as the ICE emulator checks it, and FC's error body
`{"Code", "Message", "RequestId"}`.

    POST /2023-03-30/functions/{name}/invocations            InvokeFunction, Sync or Async
    GET  /2023-03-30/functions/{name}/async-tasks/{taskId}   GetAsyncTask
    GET  /2023-03-30/functions/{name}/async-tasks            ListAsyncTasks
    GET  /_emulator/tasks[?function=NAME]                    every task with its logs, unsigned
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.fc.config import FunctionConfig
from emulator.fc.dispatch import Dispatcher, NoFreeInstance
from emulator.fc.tasks import ACTIVE, AsyncTask, DuplicateTask, Outcome, TaskStatus
from emulator.fc.worker import Identity
from emulator.signing import AccessKey, AuthError, SignedRequest, Verifier
from emulator.signing_v3 import AUTHORIZATION

API_VERSION = "2023-03-30"
ADMIN_TASKS = "/_emulator/tasks"
FUNCTION_PATH = rf"^/{API_VERSION}/functions/(?P<function>[^/]+)"
INVOCATIONS = re.compile(FUNCTION_PATH + "/invocations$")
ASYNC_TASK = re.compile(FUNCTION_PATH + "/async-tasks/(?P<task>[^/]+)$")
ASYNC_TASKS = re.compile(FUNCTION_PATH + "/async-tasks$")
TASK_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
ASYNC_PAYLOAD_LIMIT = 128 * 1024
SYNC_PAYLOAD_LIMIT = 32 * 1024 * 1024
LOG_TAIL_BYTES = 4096
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 20, 100
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class ApiError(Exception):
    """An error answer: its HTTP status, FC's error code and the message."""

    status: int
    code: str
    message: str


def valid_task_id(task_id: str) -> bool:
    """FC's rule: letters, digits, `_` and `-`, at most 128, starting with a letter or `_`."""
    return TASK_ID.match(task_id) is not None


def new_request_id() -> str:
    """Shaped like FC 3.0's request ids (`1-64e70cf1-5cbef92ea8fc8c42899cf5d1`)."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def milliseconds(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


class FcApi:
    """Answers one HTTP request. `keys` are the identities accepted, the first one the caller's
    and the rest (the function role's) for invocations calling back in."""

    def __init__(self, dispatcher: Dispatcher, identity: Identity, keys: Sequence[AccessKey]
                 ) -> None:
        self._dispatcher = dispatcher
        self._identity = identity
        # Reversed, so that the first of two keys with one id wins.
        # Verifiers keep the real time: clients date their signatures with it.
        self._verifiers = {key.access_key_id: Verifier(key) for key in reversed(keys)}
        self._caller_verifier = self._verifiers[keys[0].access_key_id]

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """`headers` with lowercased names."""
        request_id = new_request_id()
        url = urlsplit(target)
        query = parse_qsl(url.query, keep_blank_values=True)
        if url.path == ADMIN_TASKS and method == "GET":
            tasks = self._dispatcher.tasks(dict(query).get("function"))
            return self._json(200, {"tasks": [self._admin_json(task) for task in tasks]},
                              request_id)
        try:
            self._verify(SignedRequest(method, url.path, query, headers, body))
            if headers.get("x-acs-version") != API_VERSION:
                raise ApiError(400, "InvalidArgument", f"x-acs-version must be {API_VERSION}")
            return self._route(method, url.path, dict(query), headers, body, request_id)
        except (AuthError, ApiError) as error:
            return self._json(error.status, {"Code": error.code, "Message": error.message,
                                             "RequestId": request_id}, request_id)

    def _verify(self, request: SignedRequest) -> None:
        found = AUTHORIZATION.match(request.headers.get("authorization", ""))
        verifier = self._verifiers.get(found["key"]) if found else None
        (verifier or self._caller_verifier).verify(request)

    def _route(self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str],
               body: bytes, request_id: str) -> Reply:
        invocation = INVOCATIONS.match(path)
        if invocation and method == "POST":
            config = self._function(invocation["function"], query)
            return self._invoke(config, headers, body, request_id)
        task = ASYNC_TASK.match(path)
        if task and method == "GET":
            config = self._function(task["function"], query)
            found = self._dispatcher.task(config.name, unquote(task["task"]))
            if found is None:
                raise ApiError(404, "AsyncTaskNotFound",
                               f"async task {unquote(task['task'])!r} not found")
            return self._json(200, self._task_json(found, include_payload=True), request_id)
        tasks = ASYNC_TASKS.match(path)
        if tasks and method == "GET":
            config = self._function(tasks["function"], query)
            return self._json(200, self._list_tasks(config, query), request_id)
        raise ApiError(400, "PathNotSupported", f"'{method}' against '{path}' is not supported")

    def _function(self, quoted_name: str, query: Mapping[str, str]) -> FunctionConfig:
        qualifier = query.get("qualifier")
        if qualifier not in (None, "LATEST"):
            raise ApiError(400, "InvalidArgument", f"qualifier {qualifier!r}: the emulator"
                           " serves LATEST only; leave the qualifier out")
        name = unquote(quoted_name)
        config = self._dispatcher.config(name)
        if config is None:
            raise ApiError(404, "FunctionNotFound", f"function {name!r} not found")
        return config

    def _invoke(self, config: FunctionConfig, headers: Mapping[str, str], body: bytes,
                request_id: str) -> Reply:
        invocation_type = headers.get("x-fc-invocation-type", "Sync")
        if invocation_type not in ("Sync", "Async"):
            raise ApiError(400, "InvalidArgument",
                           f"x-fc-invocation-type {invocation_type!r}: Sync or Async")
        log_type = headers.get("x-fc-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise ApiError(400, "InvalidArgument", f"x-fc-log-type {log_type!r}: None or Tail")
        limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Async" else SYNC_PAYLOAD_LIMIT
        if len(body) > limit:
            raise ApiError(400, "EntityTooLarge",
                           f"payload size exceeds maximum allowed size ({limit} bytes)")
        if invocation_type == "Async":
            return self._submit(config, headers.get("x-fc-async-task-id") or None, body,
                                request_id)
        try:
            outcome = self._dispatcher.invoke(config.name, request_id, body)
        except NoFreeInstance as busy:
            raise ApiError(429, "ResourceExhausted", str(busy)) from None
        return self._sync_reply(outcome, log_type == "Tail", request_id)

    def _submit(self, config: FunctionConfig, task_id: str | None, body: bytes,
                request_id: str) -> Reply:
        if task_id is not None and not valid_task_id(task_id):
            raise ApiError(400, "InvalidArgument", f"x-fc-async-task-id {task_id!r}: letters,"
                           " digits, '_' and '-', at most 128, starting with a letter or '_'")
        task_id = task_id or request_id
        try:
            self._dispatcher.submit(config.name, task_id, body, request_id)
        except DuplicateTask as duplicate:
            raise ApiError(409, "AsyncTaskAlreadyExists", str(duplicate)) from None
        return Reply(202, headers={"x-fc-request-id": request_id, "x-fc-async-task-id": task_id})

    @staticmethod
    def _sync_reply(outcome: Outcome, tail: bool, request_id: str) -> Reply:
        headers = {"x-fc-request-id": request_id, "Content-Type": "application/octet-stream"}
        if tail:
            last = outcome.log.encode()[-LOG_TAIL_BYTES:]
            headers["x-fc-log-result"] = base64.b64encode(last).decode()
        if outcome.error is None:
            return Reply(200, outcome.body, headers)
        headers["x-fc-error-type"] = "UnhandledInvocationError"
        headers["Content-Type"] = JSON_TYPE
        return Reply(200, json.dumps(outcome.error.body()).encode(), headers)

    def _list_tasks(self, config: FunctionConfig, query: Mapping[str, str]) -> dict[str, Any]:
        limit = _integer(query, "limit", 1, LIST_LIMIT_MAX) or LIST_LIMIT_DEFAULT
        offset = _integer(query, "nextToken", 0) or 0
        status = query.get("status")
        if status is not None and status not in {member.value for member in TaskStatus}:
            raise ApiError(400, "InvalidArgument", f"status {status!r}: one of "
                           + ", ".join(member.value for member in TaskStatus))
        order = query.get("sortOrderByTime", "asc")
        if order not in ("asc", "desc"):
            raise ApiError(400, "InvalidArgument", f"sortOrderByTime {order!r}: asc or desc")
        begin = _integer(query, "startedTimeBegin", 0)
        end = _integer(query, "startedTimeEnd", 0)
        prefix = query.get("prefix", "")
        include_payload = query.get("includePayload", "false").lower() == "true"

        def wanted(task: AsyncTask) -> bool:
            started = milliseconds(task.started_at)
            return (task.task_id.startswith(prefix)
                    and (status is None or task.status.value == status)
                    and (begin is None or (started is not None and started >= begin))
                    and (end is None or (started is not None and started <= end)))

        tasks = [task for task in self._dispatcher.tasks(config.name) if wanted(task)]
        if order == "desc":
            tasks.reverse()
        page = tasks[offset:offset + limit]
        answer: dict[str, Any] = {"tasks": [self._task_json(task, include_payload)
                                            for task in page]}
        if offset + limit < len(tasks):
            answer["nextToken"] = str(offset + limit)
        return answer

    def _task_json(self, task: AsyncTask, include_payload: bool) -> dict[str, Any]:
        identity = self._identity
        body: dict[str, Any] = {
            "taskId": task.task_id,
            "requestId": task.request_id,
            "status": task.status.value,
            "alreadyRetriedTimes": max(task.attempts - 1, 0),
            "functionArn": f"acs:fc:{identity.region}:{identity.account_id}:functions/"
                           f"{task.function}",
            "qualifier": "LATEST",
            "events": [{"eventId": number, "status": event.status.value,
                        "timestamp": milliseconds(event.at), "eventDetail": event.detail}
                       for number, event in enumerate(task.events, start=1)],
        }
        optional = {
            "startedTime": milliseconds(task.started_at),
            "endTime": milliseconds(task.ended_at),
            "instanceId": task.instance_id,
            "taskErrorMessage": task.error,
            "returnPayload": None if task.result is None else json.dumps(task.result),
            "destinationStatus": None if task.status in ACTIVE else task.status.value,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        if task.started_at is not None and task.ended_at is not None:
            body["durationMs"] = milliseconds(task.ended_at - task.started_at)
        if include_payload:
            body["taskPayload"] = task.payload.decode(errors="replace")
        return body

    @staticmethod
    def _admin_json(task: AsyncTask) -> dict[str, Any]:
        return {
            "function": task.function, "taskId": task.task_id, "status": task.status.value,
            "attempts": task.attempts, "requestId": task.request_id,
            "payload": task.payload.decode(errors="replace"), "result": task.result,
            "error": task.error, "logs": list(task.logs),
        }

    @staticmethod
    def _json(status: int, body: dict[str, Any], request_id: str) -> Reply:
        return Reply(status, json.dumps(body).encode(),
                     {"Content-Type": JSON_TYPE, "x-fc-request-id": request_id})


def _integer(query: Mapping[str, str], name: str, low: int, high: int | None = None
             ) -> int | None:
    """The query parameter as an integer in low..high; None when it is not given."""
    text = query.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"an integer, at least {low}"
        raise ApiError(400, "InvalidArgument", f"{name} {text!r}: {bound}")
    return value
