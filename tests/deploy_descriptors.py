"""template.yml and s.yaml as deployed: their inputs filled in, in one shape to compare.

Each descriptor takes what differs per user as inputs: the ROS template as Parameters, resolved by
ROS's intrinsic functions; s.yaml as Serverless Devs variables (`${env('NAME', 'default')}`,
`${vars.name}`, `${config('AccountID')}`). Both are rendered here the way their tools do, for the
same sample user, so that tests can compare what each would deploy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
REGION = "cn-shanghai"
ACCOUNT_ID = "1234567890123456"
SAMPLE_BUCKET = "snapshot-bucket"
SAMPLE_ROLE_ARN = f"acs:ram::{ACCOUNT_ID}:role/ice-snapshot-purge-{REGION}"
# The same user in each tool's terms: template parameters, and the shell variables s.yaml reads.
TEMPLATE_INPUTS = {"CodeBucket": "code-bucket", "SnapshotBucket": SAMPLE_BUCKET}
S_YAML_INPUTS = {"ICE_REGION": REGION, "SNAPSHOT_BUCKET": SAMPLE_BUCKET,
                 "FUNCTION_ROLE_ARN": SAMPLE_ROLE_ARN}
PSEUDO_PARAMETERS = {"ALIYUN::Region": REGION, "ALIYUN::AccountId": ACCOUNT_ID,
                     "ALIYUN::StackName": "ice-snapshot-purge"}
NO_VALUE = "ALIYUN::NoValue"
# Serverless Devs' magic variables: `${...}` up to the first `}` (art-template, devs-compile).
MAGIC = re.compile(r"\$\{([\w\W]*?)\}")
ENV_CALL = re.compile(r"""env\(\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)""")


def load_yaml(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


@dataclass(frozen=True)
class TimerTrigger:
    cron: str
    enabled: bool
    payload: str


@dataclass(frozen=True)
class OssTrigger:
    bucket: str
    region: str
    events: tuple[str, ...]
    key_prefix: str
    key_suffix: str


@dataclass(frozen=True)
class AsyncSettings:
    task_mode: bool
    retry_attempts: int
    max_event_age_s: int


@dataclass(frozen=True)
class FunctionDescription:
    """What a descriptor deploys, in a shape both formats can be compared in."""

    name: str
    handler: str
    runtime: str
    code_package: str
    timeout_s: int
    memory_mb: int
    role: str
    environment: dict[str, Any]
    timer: TimerTrigger
    oss: OssTrigger
    async_settings: AsyncSettings


# ROS ----------------------------------------------------------------------------------------


class RosRenderer:
    """Resolves a ROS template's intrinsic functions for given parameter values."""

    def __init__(self, template: Mapping[str, Any], inputs: Mapping[str, str]) -> None:
        self.template = template
        self.parameters = {
            **PSEUDO_PARAMETERS,
            **{name: spec.get("Default") for name, spec in template["Parameters"].items()},
            **inputs,
        }

    def condition(self, name: str) -> bool:
        return bool(self.render(self.template["Conditions"][name]))

    def render(self, value: Any) -> Any:
        if isinstance(value, list):
            rendered = [self.render(item) for item in value]
            return [item for item in rendered if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return NO_VALUE if argument == NO_VALUE else self.parameters[argument]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([\w:]+)\}", lambda m: str(self.parameters[m[1]]), argument)
            if key == "Fn::GetAtt":
                resource, attribute = argument
                return f"<{resource}.{attribute}>"
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.render(when_true if self.condition(condition) else when_false)
            if key == "Fn::Equals":
                left, right = (self.render(item) for item in argument)
                return left == right
        return {key: self.render(item) for key, item in value.items()}

    def resources(self) -> dict[str, Any]:
        """The resources deployed, with their properties rendered."""
        return {
            name: {**resource, "Properties": self.render(resource.get("Properties", {}))}
            for name, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }


def only(items: list[Any]) -> Any:
    assert len(items) == 1, f"expected exactly one, found {len(items)}: {items}"
    return items[0]


def of_type(resources: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources.values() if r["Type"] == kind]


def oss_source_arn_part(arn: str, part: str) -> str:
    """`acs:oss:<region>:<account>:<bucket>`, the bucket's ARN an OSS trigger names."""
    found = re.fullmatch(r"acs:oss:(?P<region>[\w-]+):[^:]+:(?P<bucket>[\w.-]+)", arn)
    assert found is not None, f"{arn!r} is not an OSS bucket ARN"
    return found[part]


def describe_template(inputs: Mapping[str, str] = TEMPLATE_INPUTS) -> FunctionDescription:
    template = load_yaml("template.yml")
    assert template["ROSTemplateFormatVersion"] == "2015-09-01"
    assert "Transform" not in template
    resources = RosRenderer(template, inputs).resources()
    function = only(of_type(resources, "ALIYUN::FC3::Function"))
    triggers = of_type(resources, "ALIYUN::FC3::Trigger")
    timer = only([t["TriggerConfig"] for t in triggers if t["TriggerType"] == "timer"])
    oss = only([t for t in triggers if t["TriggerType"] == "oss"])
    async_config = only(of_type(resources, "ALIYUN::FC3::AsyncInvokeConfig"))
    return FunctionDescription(
        name=function["FunctionName"],
        handler=function["Handler"],
        runtime=function["Runtime"],
        code_package=Path(function["Code"]["OssObjectName"]).name,
        timeout_s=function["Timeout"],
        memory_mb=function["MemorySize"],
        role=function["Role"],
        environment=function["EnvironmentVariables"],
        timer=TimerTrigger(timer["cronExpression"], timer["enable"], timer["payload"]),
        oss=OssTrigger(
            bucket=oss_source_arn_part(oss["SourceArn"], "bucket"),
            region=oss_source_arn_part(oss["SourceArn"], "region"),
            events=tuple(oss["TriggerConfig"]["events"]),
            key_prefix=oss["TriggerConfig"]["filter"]["key"]["prefix"],
            key_suffix=oss["TriggerConfig"]["filter"]["key"]["suffix"],
        ),
        async_settings=AsyncSettings(
            async_config["AsyncTask"], async_config["MaxAsyncRetryAttempts"],
            async_config["MaxAsyncEventAgeInSeconds"],
        ),
    )


def function_role_statements(inputs: Mapping[str, str]) -> list[dict[str, Any]]:
    """The statements of the function role's policies, rendered for the inputs."""
    template = load_yaml("template.yml")
    resources = RosRenderer(template, {**TEMPLATE_INPUTS, **inputs}).resources()
    role = resources["FunctionRole"]["Properties"]
    return [statement for policy in role["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]]


# Serverless Devs ---------------------------------------------------------------------------


class DevsRenderer:
    """Resolves s.yaml's magic variables as Serverless Devs does, for given shell variables."""

    def __init__(self, project: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.env = env
        self.env_reads: dict[str, str | None] = {}
        self.vars = {name: self.render(value) for name, value in project.get("vars", {}).items()}

    def render(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.render(item) for item in value]
        if isinstance(value, dict):
            return {key: self.render(item) for key, item in value.items()}
        if isinstance(value, str):
            return MAGIC.sub(lambda found: self._expression(found[1]), value)
        return value

    def _expression(self, expression: str) -> str:
        expression = expression.strip()
        call = ENV_CALL.fullmatch(expression)
        if call is not None:
            name, default = call[1], call[2]
            self.env_reads[name] = default
            value = self.env.get(name) or default
            assert value is not None, f"env('{name}') not found"
            return value
        if expression.startswith("vars."):
            return str(self.vars[expression.removeprefix("vars.")])
        if expression == "config('AccountID')":
            return ACCOUNT_ID
        raise AssertionError(f"s.yaml: ${{{expression}}} is not a variable this renderer knows")


def render_s_yaml(env: Mapping[str, str] = S_YAML_INPUTS) -> tuple[dict[str, Any], DevsRenderer]:
    project = load_yaml("s.yaml")
    renderer = DevsRenderer(project, env)
    props: dict[str, Any] = renderer.render(project["resources"]["purge"]["props"])
    return props, renderer


def describe_s_yaml(env: Mapping[str, str] = S_YAML_INPUTS) -> FunctionDescription:
    project = load_yaml("s.yaml")
    assert project["edition"] == "3.0.0"
    assert project["resources"]["purge"]["component"] == "fc3"
    props, _ = render_s_yaml(env)
    triggers = props["triggers"]
    timer = only([t["triggerConfig"] for t in triggers if t["triggerType"] == "timer"])
    oss = only([t for t in triggers if t["triggerType"] == "oss"])
    async_config = props["asyncInvokeConfig"]
    return FunctionDescription(
        name=props["functionName"],
        handler=props["handler"],
        runtime=props["runtime"],
        code_package=Path(props["code"]).name,
        timeout_s=props["timeout"],
        memory_mb=props["memorySize"],
        role=props["role"],
        environment=props["environmentVariables"],
        timer=TimerTrigger(timer["cronExpression"], timer["enable"], timer["payload"]),
        oss=OssTrigger(
            bucket=oss_source_arn_part(oss["sourceArn"], "bucket"),
            region=oss_source_arn_part(oss["sourceArn"], "region"),
            events=tuple(oss["triggerConfig"]["events"]),
            key_prefix=oss["triggerConfig"]["filter"]["key"]["prefix"],
            key_suffix=oss["triggerConfig"]["filter"]["key"]["suffix"],
        ),
        async_settings=AsyncSettings(
            async_config["asyncTask"], async_config["maxAsyncRetryAttempts"],
            async_config["maxAsyncEventAgeInSeconds"],
        ),
    )
