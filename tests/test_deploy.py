"""The deploy descriptions and the sample events, checked against each other and the code.

template.yml (Funcraft) and s.yaml (Serverless Devs fc3) describe one function in two formats;
nothing else keeps them from drifting apart, from each other or from the names the code reads.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.seed import SAMPLE_JOB_IDS as DEMO_JOB_IDS
from snapshot_purge.config import DEFAULT_KEY_PATTERN, Settings
from snapshot_purge.events import parse_event
from snapshot_purge.keys import KeyPattern
from snapshot_purge.model import Trigger
from snapshot_purge.request import RunPlan, build_plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVENTS = ROOT / "events"
DESCRIPTORS = ("template.yml", "s.yaml")
ICE_SNAPSHOT_ACTIONS = {
    "ice:ListLiveSnapshotFiles",
    "ice:ListLiveSnapshotJobs",
    "ice:GetLiveSnapshotJob",
    "ice:DeleteLiveSnapshotFiles",
}
# Read by aws-lambda-powertools, not by Settings.from_env.
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
SAMPLE_TRIGGERS = {
    "timer.json": Trigger.TIMER,
    "oss-created.json": Trigger.OSS,
    "oss-removed.json": Trigger.OSS,
    "oss-batch-removed.json": Trigger.OSS,
    "eventbridge-oss-removed.json": Trigger.OSS,
    "manual-explicit.json": Trigger.MANUAL,
    "manual-range.json": Trigger.MANUAL,
    "manual-dry-run.json": Trigger.MANUAL,
}
SAMPLE_OSS_EVENT_NAMES = {
    "oss-created.json": "ObjectCreated:PutObject",
    "oss-removed.json": "ObjectRemoved:DeleteObject",
    "oss-batch-removed.json": "ObjectRemoved:DeleteObjects",
    "eventbridge-oss-removed.json": "ObjectRemoved:DeleteObject",
}
# After every timestamp in the samples: a range ending later would be refused as the future.
SAMPLE_NOW_MS = 1_795_219_200_000  # 2026-11-21T00:00:00Z


@dataclass(frozen=True)
class TimerTrigger:
    cron: str
    enabled: bool
    payload: str


@dataclass(frozen=True)
class OssTrigger:
    bucket: str
    events: tuple[str, ...]
    key_prefix: str
    key_suffix: str


@dataclass(frozen=True)
class FunctionDescription:
    """What a descriptor says about the function, in a shape both formats can be compared in."""

    handler: str
    runtime: str
    code_dir: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, Any]
    log_store: tuple[str, str]
    timer: TimerTrigger
    oss: OssTrigger
    role_policies: list[Any]


def load_yaml(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


def only(items: list[Any]) -> Any:
    assert len(items) == 1, f"expected exactly one, found {len(items)}: {items}"
    return items[0]


def describe_template() -> FunctionDescription:
    template = load_yaml("template.yml")
    assert template["Transform"] == "Aliyun::Serverless-2018-04-03"
    service = only(
        [r for r in template["Resources"].values() if r["Type"] == "Aliyun::Serverless::Service"]
    )
    # In this format a function is a child of its service, beside the service's Properties.
    function = service["purge"]
    assert function["Type"] == "Aliyun::Serverless::Function"
    props, events = function["Properties"], function["Events"].values()
    timer = only([e["Properties"] for e in events if e["Type"] == "Timer"])
    oss = only([e["Properties"] for e in events if e["Type"] == "OSS"])
    log_config = service["Properties"]["LogConfig"]
    return FunctionDescription(
        handler=props["Handler"],
        runtime=props["Runtime"],
        code_dir=props["CodeUri"],
        timeout_s=props["Timeout"],
        memory_mb=props["MemorySize"],
        environment=props["EnvironmentVariables"],
        log_store=(log_config["Project"], log_config["Logstore"]),
        timer=TimerTrigger(timer["CronExpression"], timer["Enable"], timer["Payload"]),
        oss=OssTrigger(
            bucket=oss["BucketName"],
            events=tuple(oss["Events"]),
            key_prefix=oss["Filter"]["Key"]["Prefix"],
            key_suffix=oss["Filter"]["Key"]["Suffix"],
        ),
        role_policies=service["Properties"]["Policies"],
    )


def describe_s_yaml() -> FunctionDescription:
    project = load_yaml("s.yaml")
    assert project["edition"] == "3.0.0"
    resource = project["resources"]["purge"]
    assert resource["component"] == "fc3"
    props = resource["props"]
    triggers = props["triggers"]
    timer = only([t["triggerConfig"] for t in triggers if t["triggerType"] == "timer"])
    oss = only([t for t in triggers if t["triggerType"] == "oss"])
    return FunctionDescription(
        handler=props["handler"],
        runtime=props["runtime"],
        code_dir=props["code"],
        timeout_s=props["timeout"],
        memory_mb=props["memorySize"],
        environment=props["environmentVariables"],
        log_store=(props["logConfig"]["project"], props["logConfig"]["logstore"]),
        timer=TimerTrigger(timer["cronExpression"], timer["enable"], timer["payload"]),
        oss=OssTrigger(
            bucket=oss_source_arn_part(oss["sourceArn"], "bucket"),
            events=tuple(oss["triggerConfig"]["events"]),
            key_prefix=oss["triggerConfig"]["filter"]["key"]["prefix"],
            key_suffix=oss["triggerConfig"]["filter"]["key"]["suffix"],
        ),
        # fc3 takes a role ARN; the policy that role must hold is kept beside it in `vars`.
        role_policies=[project["vars"]["functionRolePolicy"]],
    )


def oss_source_arn_part(arn: str, part: str) -> str:
    """`acs:oss:<region>:<account>:<bucket>`, the bucket's ARN an OSS trigger names."""
    found = re.fullmatch(r"acs:oss:(?P<region>[\w-]+):[^:]+:(?P<bucket>[\w.-]+)", arn)
    assert found is not None, f"{arn!r} is not an OSS bucket ARN"
    return found[part]


@cache
def description(descriptor: str) -> FunctionDescription:
    return {"template.yml": describe_template, "s.yaml": describe_s_yaml}[descriptor]()


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up in it.

    Mapping's `get` and `in` go through `__getitem__`, so this one hook sees every lookup.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.looked_up: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.looked_up.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def variables_the_code_reads() -> set[str]:
    # An empty environment: every fallback (`X or Y`) is taken, so every name gets looked up.
    env = RecordingEnv({})
    Settings.from_env(env)
    return env.looked_up | POWERTOOLS_VARIABLES


def minimum_python() -> tuple[int, int]:
    pyproject = (ROOT / "pyproject.toml").read_text()
    found = re.search(r'^requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', pyproject, re.MULTILINE)
    assert found is not None, 'pyproject.toml has no requires-python = ">=X.Y"'
    return int(found[1]), int(found[2])


def timer_event(payload: str) -> dict[str, Any]:
    return {
        "triggerTime": "2026-11-20T12:00:00Z",
        "triggerName": "retention-sweep",
        "payload": payload,
    }


def planned_job_ids(plan: RunPlan) -> set[str]:
    """The jobs a plan names; None when it sweeps every job of the region."""
    named = {work.job_id for work in plan.jobs}
    if plan.pending is not None and plan.pending.selection.job_ids is not None:
        named |= set(plan.pending.selection.job_ids)
    return named


def test_template_and_s_yaml_describe_the_same_function() -> None:
    assert description("template.yml") == description("s.yaml")


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_handler_is_a_callable_at_the_root_of_the_code_directory(descriptor: str) -> None:
    deployed = description(descriptor)
    module_name, _, function_name = deployed.handler.rpartition(".")

    module = importlib.import_module(module_name)

    # Function Compute imports the handler's module from the root of the uploaded code.
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == (ROOT / deployed.code_dir).resolve()
    assert callable(getattr(module, function_name, None))


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_runtime_is_a_python_the_code_supports(descriptor: str) -> None:
    runtime = description(descriptor).runtime

    found = re.fullmatch(r"python(\d+)\.(\d+)", runtime)

    assert found is not None, f"{runtime!r} is not a versioned Python runtime"
    assert (int(found[1]), int(found[2])) >= minimum_python()


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_every_environment_variable_is_one_the_code_reads(descriptor: str) -> None:
    environment = description(descriptor).environment

    unread = set(environment) - variables_the_code_reads()

    assert not unread, f"{descriptor} sets variables nothing reads (misspelt?): {sorted(unread)}"


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_settings_accept_the_environment_values(descriptor: str) -> None:
    environment = description(descriptor).environment
    # Function Compute takes environment values as text; YAML would make `true` or `7` another
    # type, which deploy tools reject or convert in their own way.
    assert all(isinstance(value, str) for value in environment.values())

    settings = Settings.from_env(environment)

    assert settings.job_ids, "the timer sweep has no jobs to sweep"
    assert KeyPattern(settings.key_pattern).has_time, "OSS events need a time in the key"
    assert isinstance(logging.getLevelName(environment["POWERTOOLS_LOG_LEVEL"]), int)


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_descriptors_hold_no_credentials(descriptor: str) -> None:
    text = (ROOT / descriptor).read_text()

    assert "LTAI" not in text, "looks like an AccessKey id"
    assert not [
        name for name in description(descriptor).environment if name.startswith("ALIBABA_CLOUD_")
    ]


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_timer_payload_is_a_sweep_of_the_configured_jobs(descriptor: str) -> None:
    deployed = description(descriptor)
    settings = Settings.from_env(deployed.environment)

    parsed = parse_event(json.dumps(timer_event(deployed.timer.payload)).encode())
    plan = build_plan(parsed, settings, SAMPLE_NOW_MS)

    assert parsed.trigger is Trigger.TIMER
    assert parsed.request.RetentionDays is not None
    assert parsed.request.LookbackDays is not None
    assert deployed.timer.enabled
    assert planned_job_ids(plan) == set(settings.job_ids)


def test_sample_timer_event_carries_the_deployed_payload() -> None:
    """devtools/demo.py runs events/timer.json: the demo shows what the deployed timer does."""
    sample = json.loads((SAMPLE_EVENTS / "timer.json").read_text())

    parsed = parse_event(sample)

    assert parsed.trigger is Trigger.TIMER
    assert json.loads(sample["payload"]) == json.loads(description("template.yml").timer.payload)


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_role_policy_grants_only_the_ice_snapshot_actions(descriptor: str) -> None:
    policies = description(descriptor).role_policies
    # A managed policy is named by a string, and every one grants more than these actions.
    assert all(isinstance(policy, dict) for policy in policies)

    statements = [statement for policy in policies for statement in policy["Statement"]]
    granted = [action for statement in statements for action in statement["Action"]]

    assert sorted(granted) == sorted(ICE_SNAPSHOT_ACTIONS)
    assert all(statement["Effect"] == "Allow" for statement in statements)


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_oss_trigger_watches_snapshot_removals_only(descriptor: str) -> None:
    deployed = description(descriptor)
    key_pattern = deployed.environment["SNAPSHOT_KEY_PATTERN"]

    assert key_pattern.startswith(deployed.oss.key_prefix)
    assert key_pattern.endswith(deployed.oss.key_suffix)
    # Created events would invoke the function once per snapshot; the timer covers retention.
    assert deployed.oss.events
    assert all(event.startswith("oss:ObjectRemoved:") for event in deployed.oss.events)


def test_s_yaml_oss_trigger_source_is_in_the_function_region() -> None:
    project = load_yaml("s.yaml")
    props = project["resources"]["purge"]["props"]
    oss = only([t for t in props["triggers"] if t["triggerType"] == "oss"])

    assert oss_source_arn_part(oss["sourceArn"], "region") == props["region"]


def test_every_sample_event_has_an_expected_trigger() -> None:
    assert sorted(path.name for path in SAMPLE_EVENTS.iterdir()) == sorted(SAMPLE_TRIGGERS)


@pytest.mark.parametrize(("name", "trigger"), sorted(SAMPLE_TRIGGERS.items()))
def test_sample_event_becomes_work_on_the_demo_jobs(name: str, trigger: Trigger) -> None:
    parsed = parse_event((SAMPLE_EVENTS / name).read_bytes())
    plan = build_plan(parsed, Settings(job_ids=DEMO_JOB_IDS), SAMPLE_NOW_MS)

    assert parsed.trigger is trigger
    assert plan.jobs or plan.pending
    assert not plan.ignored_objects
    # `dev.py invoke <sample> --emulator` seeds the demo jobs: the samples must name those.
    assert planned_job_ids(plan) <= set(DEMO_JOB_IDS)


@pytest.mark.parametrize(("name", "event_name"), sorted(SAMPLE_OSS_EVENT_NAMES.items()))
def test_sample_oss_event_names_snapshot_objects(name: str, event_name: str) -> None:
    deployed = description("template.yml")
    pattern = KeyPattern(DEFAULT_KEY_PATTERN)

    records = parse_event((SAMPLE_EVENTS / name).read_bytes()).oss_records

    assert records
    for record in records:
        match = pattern.match(record.oss.object.key)
        assert match is not None, record.oss.object.key
        assert match.create_timestamp is not None, "keys carry the 13-digit ms timestamp"
        assert record.eventName == event_name
        assert record.oss.bucket.name == deployed.oss.bucket
        if record.removed:
            assert f"oss:{event_name}" in deployed.oss.events


def test_sample_batch_removal_carries_several_records() -> None:
    parsed = parse_event((SAMPLE_EVENTS / "oss-batch-removed.json").read_bytes())

    assert len(parsed.oss_records) > 1


def test_sample_dry_run_covers_every_demo_job() -> None:
    parsed = parse_event((SAMPLE_EVENTS / "manual-dry-run.json").read_bytes())

    assert parsed.request.DryRun is True
    assert parsed.request.JobIds == list(DEMO_JOB_IDS)
