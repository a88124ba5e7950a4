"""A function for the FC emulator's tests: what it does is in its event (JSON).

    {"do": "echo"}                      the type its event came as, its context and environment,
                                        and how many invocations this instance has had
    {"do": "fail", "counter": PATH, "failures": N, "how": "raise" | "sleep" | "exit"}
                                        counts its attempts in PATH and fails the first N
    {"do": "wait", "gate": PATH}        returns once PATH exists
    {"do": "chain", "endpoint": HOST:PORT, "hops": N}
                                        invokes this function again, async, N more times
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

ENVIRONMENT = ("FC_FUNCTION_NAME", "FC_REGION", "FC_ACCOUNT_ID", "FC_INSTANCE_ID",
               "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
               "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_ECS_METADATA_DISABLED", "GREETING",
               "ICE_ENDPOINT", "FANOUT_ENDPOINT")
GATE_LIMIT_S = 60.0
invocations = 0


def handler(event: bytes, context: Any) -> Any:
    global invocations
    invocations += 1
    request = json.loads(event)
    request["event_type"] = type(event).__name__
    print(json.dumps({"message": "invoked", "do": request["do"],
                      "request_id": context.request_id}), flush=True)
    return ACTIONS[request["do"]](request, context)


def echo(request: dict[str, Any], context: Any) -> dict[str, Any]:
    credentials = context.credentials
    return {
        "event_type": request["event_type"],
        "request_id": context.request_id,
        "credentials": None if credentials is None else {
            "access_key_id": credentials.access_key_id,
            "access_key_secret": credentials.access_key_secret,
            "security_token": credentials.security_token,
        },
        "function": {"name": context.function.name, "handler": context.function.handler,
                     "memory": context.function.memory, "timeout": context.function.timeout},
        "region": context.region,
        "account_id": context.account_id,
        "environment": {name: os.environ.get(name) for name in ENVIRONMENT},
        "invocations": invocations,
    }


def fail(request: dict[str, Any], context: Any) -> dict[str, Any]:
    counter = Path(request["counter"])
    attempt = int(counter.read_text() or 0) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    print(json.dumps({"message": "attempt", "attempt": attempt}), flush=True)
    if attempt <= request["failures"]:
        how = request["how"]
        if how == "sleep":
            time.sleep(3600)
        if how == "exit":
            os._exit(3)
        raise RuntimeError(f"attempt {attempt} fails on purpose")
    return {"attempt": attempt}


def wait(request: dict[str, Any], context: Any) -> dict[str, Any]:
    gate = Path(request["gate"])
    give_up = time.monotonic() + GATE_LIMIT_S
    while not gate.exists() and time.monotonic() < give_up:
        time.sleep(0.01)
    return {"instance": os.environ["FC_INSTANCE_ID"], "opened": gate.exists()}


def chain(request: dict[str, Any], context: Any) -> dict[str, Any]:
    from alibabacloud_fc20230330 import models
    from alibabacloud_fc20230330.client import Client
    from alibabacloud_tea_openapi.utils_models import Config
    from darabonba.runtime import RuntimeOptions

    hops = request["hops"]
    if hops > 0:
        client = Client(Config(
            endpoint=request["endpoint"], protocol="http", region_id=context.region,
            access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            security_token=os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN"),
        ))
        client.invoke_function_with_options(
            context.function.name,
            models.InvokeFunctionRequest(body=json.dumps({**request, "hops": hops - 1}).encode()),
            models.InvokeFunctionHeaders(x_fc_invocation_type="Async",
                                         x_fc_async_task_id=f"hop-{hops - 1}"),
            RuntimeOptions(),
        )
    return {"hops": hops}


ACTIONS = {"echo": echo, "fail": fail, "wait": wait, "chain": chain}
