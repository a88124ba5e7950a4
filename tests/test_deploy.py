"""The deploy descriptions and the sample events, checked against each other and the code.

template.yml (ROS) and s.yaml (Serverless Devs fc3) describe one function in two formats;
nothing else keeps them from drifting apart, from each other or from the names the code reads.
Each is also checked offline with its tool's own definitions: the ROS CDK's resource types for
template.yml, the fc3 component's schema for s.yaml.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_descriptors import (
    ACCOUNT_ID,
    REGION,
    S_YAML_INPUTS,
    TEMPLATE_INPUTS,
    FunctionDescription,
    RosRenderer,
    describe_s_yaml,
    describe_template,
    function_role_statements,
    load_yaml,
    render_s_yaml,
)

from devtools.package import HANDLER_MODULE, RUNTIMES
from emulator.seed import SAMPLE_JOB_IDS as DEMO_JOB_IDS
from snapshot_purge.config import DEFAULT_KEY_PATTERN, Settings
from snapshot_purge.events import parse_event
from snapshot_purge.keys import KeyPattern
from snapshot_purge.model import Trigger
from snapshot_purge.request import RunPlan, build_plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EVENTS = ROOT / "events"
FC3_SCHEMA = Path(__file__).with_name("fc3") / "schema.json"
DESCRIPTORS = ("template.yml", "s.yaml")
ICE_SNAPSHOT_ACTIONS = {
    "ice:ListLiveSnapshotFiles",
    "ice:ListLiveSnapshotJobs",
    "ice:GetLiveSnapshotJob",
    "ice:DeleteLiveSnapshotFiles",
}
# Read by aws-lambda-powertools, not by Settings.from_env.
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
# Function Compute: all of a function's variables together, at most 4 KB.
ENVIRONMENT_LIMIT_BYTES = 4096
# What a Serverless Devs user must set before `s deploy` (s.yaml's header, README "Deploying").
S_YAML_REQUIRED_INPUTS = {"ICE_REGION", "SNAPSHOT_BUCKET", "FUNCTION_ROLE_ARN"}
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
    """The jobs a plan names (a sweep of every job names none)."""
    named = {work.job_id for work in plan.jobs}
    if plan.pending is not None and plan.pending.selection.job_ids is not None:
        named |= set(plan.pending.selection.job_ids)
    return named


def test_template_and_s_yaml_describe_the_same_function() -> None:
    # The role is the one thing each names differently: the template creates it, s.yaml is
    # given its ARN (the template's RoleArn output).
    template, s_yaml = description("template.yml"), description("s.yaml")

    assert dataclasses.replace(template, role="") == dataclasses.replace(s_yaml, role="")
    assert template.role == "<FunctionRole.Arn>"
    assert s_yaml.role == S_YAML_INPUTS["FUNCTION_ROLE_ARN"]


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_handler_is_a_callable_at_the_root_of_the_code_package(descriptor: str) -> None:
    deployed = description(descriptor)
    module_name, _, function_name = deployed.handler.rpartition(".")

    module = importlib.import_module(module_name)

    # Function Compute imports the handler's module from the root of the package, where
    # `dev.py package` puts src/index.py.
    assert module.__file__ is not None
    assert Path(module.__file__).resolve() == (ROOT / "src" / HANDLER_MODULE).resolve()
    assert f"{module_name}.py" == HANDLER_MODULE
    assert callable(getattr(module, function_name, None))


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_runtime_is_a_python_the_code_supports_and_the_package_is_built_for(
    descriptor: str,
) -> None:
    deployed = description(descriptor)

    found = re.fullmatch(r"python(\d+)\.(\d+)", deployed.runtime)

    assert found is not None, f"{deployed.runtime!r} is not a versioned Python runtime"
    assert (int(found[1]), int(found[2])) >= minimum_python()
    assert deployed.runtime in RUNTIMES
    # `dev.py package --runtime R` writes build/function-R.zip.
    assert deployed.code_package == f"function-{deployed.runtime}.zip"


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_every_environment_variable_is_one_the_code_reads(descriptor: str) -> None:
    environment = description(descriptor).environment

    unread = set(environment) - variables_the_code_reads()

    assert not unread, f"{descriptor} sets variables nothing reads (misspelt?): {sorted(unread)}"


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_environment_fits_function_computes_limits(descriptor: str) -> None:
    environment = description(descriptor).environment

    assert len(json.dumps(environment).encode()) < ENVIRONMENT_LIMIT_BYTES
    assert not [name for name in environment if name.startswith("FC_")], "FC_ is the platform's"


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_settings_accept_the_environment_values(descriptor: str) -> None:
    environment = description(descriptor).environment
    # Function Compute takes environment values as text; YAML would make `true` or `7` another
    # type, which deploy tools reject or convert in their own way.
    assert all(isinstance(value, str) for value in environment.values())

    settings = Settings.from_env(environment)

    assert settings.discover_jobs, "the default sweeps every job in the region"
    assert settings.fanout
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
def test_timer_payload_is_the_configured_retention_sweep(descriptor: str) -> None:
    deployed = description(descriptor)
    settings = Settings.from_env(deployed.environment)

    parsed = parse_event(json.dumps(timer_event(deployed.timer.payload)).encode())

    assert parsed.trigger is Trigger.TIMER
    assert deployed.timer.enabled
    assert deployed.timer.cron == "0 0 * * * *"
    assert parsed.request.RetentionDays == settings.retention_days
    assert parsed.request.LookbackDays == settings.lookback_days


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_sample_timer_event_carries_the_deployed_payload(descriptor: str) -> None:
    """devtools/demo.py runs events/timer.json: the demo shows what the deployed timer does."""
    sample = json.loads((SAMPLE_EVENTS / "timer.json").read_text())

    parsed = parse_event(sample)

    assert parsed.trigger is Trigger.TIMER
    assert sample["payload"] == description(descriptor).timer.payload


@pytest.mark.parametrize("fan_out", ["true", "false"])
def test_function_role_grants_the_ice_actions_and_invoking_itself_only_to_fan_out(
    fan_out: str,
) -> None:
    statements = function_role_statements({"FanOut": fan_out})
    function_arn = f"acs:fc:{REGION}:{ACCOUNT_ID}:functions/ice-snapshot-purge"

    granted = {action: statement["Resource"]
               for statement in statements for action in statement["Action"]}

    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert {a for a in granted if a.startswith("ice:")} == ICE_SNAPSHOT_ACTIONS
    expected_fc = {"fc:InvokeFunction": [function_arn]} if fan_out == "true" else {}
    assert {a: r for a, r in granted.items() if not a.startswith("ice:")} == expected_fc


def test_role_only_stack_creates_the_role_for_serverless_devs() -> None:
    template = load_yaml("template.yml")

    resources = RosRenderer(template, {"DeployFunction": "false"}).resources()

    assert list(resources) == ["FunctionRole"]
    assert template["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert "Condition" not in template["Outputs"]["RoleArn"]


@pytest.mark.parametrize("descriptor", DESCRIPTORS)
def test_oss_trigger_watches_snapshot_removals_only(descriptor: str) -> None:
    deployed = description(descriptor)
    key_pattern = deployed.environment["SNAPSHOT_KEY_PATTERN"]

    assert key_pattern.startswith(deployed.oss.key_prefix)
    assert key_pattern.endswith(deployed.oss.key_suffix)
    assert deployed.oss.region == REGION
    # Created events would invoke the function once per snapshot; the timer covers retention.
    assert deployed.oss.events
    assert all(event.startswith("oss:ObjectRemoved:") for event in deployed.oss.events)


def test_async_invocations_run_as_idempotent_tasks() -> None:
    settings = description("template.yml").async_settings

    assert settings.task_mode, "shards are dispatched with x-fc-async-task-id"
    assert 0 < settings.retry_attempts <= 8
    assert settings.max_event_age_s <= 86_400


def test_s_yaml_passes_the_fc3_components_schema() -> None:
    props, _ = render_s_yaml()
    schema = json.loads(FC3_SCHEMA.read_text())

    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(props), key=str)

    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_s_yaml_leaves_to_fc3_what_it_creates_itself() -> None:
    props, _ = render_s_yaml()

    assert props["logConfig"] == "auto"
    assert all("invocationRole" not in trigger for trigger in props["triggers"])


def test_s_yaml_needs_only_the_documented_shell_variables() -> None:
    _, renderer = render_s_yaml()

    required = {name for name, default in renderer.env_reads.items() if default is None}

    assert required == S_YAML_REQUIRED_INPUTS
    with pytest.raises(AssertionError, match="FUNCTION_ROLE_ARN"):
        render_s_yaml({**S_YAML_INPUTS, "FUNCTION_ROLE_ARN": ""})


def test_s_yaml_defaults_are_the_template_parameter_defaults() -> None:
    """The same user gets the same function whichever tool they deploy it with."""
    template = load_yaml("template.yml")
    renderer = RosRenderer(template, TEMPLATE_INPUTS)
    _, devs = render_s_yaml()

    for name, default in devs.env_reads.items():
        if default is not None:
            assert default in {str(value) for value in renderer.parameters.values()}, name


def test_template_resources_are_what_the_ros_cdk_defines() -> None:
    """Every resource rebuilt with the ROS CDK and synthesized comes back unchanged."""
    from ros_cdk import synthesize_resources

    resources = load_yaml("template.yml")["Resources"]

    synthesized = synthesize_resources(resources)

    assert synthesized == {name: r.get("Properties", {}) for name, r in resources.items()}


def test_template_parameters_are_what_the_ros_cdk_defines() -> None:
    from ros_cdk import synthesize_parameters

    parameters = load_yaml("template.yml")["Parameters"]

    assert synthesize_parameters(parameters) == parameters


def test_template_references_resolve() -> None:
    """Every Ref, Fn::Sub variable, Fn::GetAtt attribute and Condition names something real."""
    from ros_cdk import resource_types

    template = load_yaml("template.yml")
    attributes = {name: resource_types()[r["Type"]].attributes
                  for name, r in template["Resources"].items()}
    names = set(attributes) | set(RosRenderer(template, {}).parameters)
    conditions = set(template["Conditions"])

    problems = list(references(template, names, attributes, conditions))

    assert not problems, problems


def references(value: Any, names: set[str], attributes: Mapping[str, frozenset[str]],
               conditions: set[str]) -> Iterator[str]:
    """What in `value` names something that does not exist."""
    if isinstance(value, list):
        for item in value:
            yield from references(item, names, attributes, conditions)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "Ref" and item != "ALIYUN::NoValue" and item not in names:
            yield f"Ref {item}"
        elif key == "Fn::Sub":
            yield from (f"Fn::Sub ${{{v}}}" for v in re.findall(r"\$\{([\w:]+)\}", item)
                        if v not in names)
        elif key == "Fn::GetAtt" and item[1] not in attributes.get(item[0], ()):
            yield f"Fn::GetAtt {item[0]}.{item[1]}"
        elif key in {"Condition", "Fn::If"}:
            condition = item if key == "Condition" else item[0]
            if condition not in conditions:
                yield f"{key} {condition}"
        yield from references(item, names, attributes, conditions)


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


def test_sample_dry_run_covers_every_job() -> None:
    parsed = parse_event((SAMPLE_EVENTS / "manual-dry-run.json").read_bytes())

    assert parsed.request.DryRun is True
    assert parsed.request.JobIds == "*"
