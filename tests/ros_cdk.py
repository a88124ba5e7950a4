"""template.yml through the ROS CDK, the offline stand-in for ROS's own template validation.

The CDK packages (`ros-cdk-*` on PyPI, run through jsii on node) carry ROS's resource
definitions: the type of every resource, the name and type of every property, which are
required, their ranges and allowed values, and each resource's attributes. Every resource of the
template is rebuilt as the CDK's `Ros*` construct from its Properties and the stack synthesized:
a property the CDK does not know, a wrong type or an out-of-range value is an error, and the
synthesized Properties must come back equal to the template's; the Parameters likewise, as the
CDK's `RosParameter`. Intrinsic functions go through unchanged: their values are only known to
ROS at deploy time.
"""

from __future__ import annotations

import importlib
import json
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

CDK_MODULES = ("ros_cdk_fc3", "ros_cdk_ram", "ros_cdk_sls")
CORE_MODULE = "ros_cdk_core"
STACK = "Stack"


class TemplateError(Exception):
    """Where the template and the CDK's definitions disagree."""


@dataclass(frozen=True)
class ResourceType:
    construct: type[Any]
    props_fqn: str
    attributes: frozenset[str]


def is_intrinsic(value: Any) -> bool:
    """`{"Ref": ...}` or `{"Fn::...": ...}`: a value ROS works out at deploy time."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key: str = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


def _core() -> ModuleType:
    # The first import starts node (about 2 s): imported when a test needs it, not at collection.
    return importlib.import_module(CORE_MODULE)


def _assembly(module: ModuleType) -> dict[str, Any]:
    """The jsii assembly shipped inside the Python package: the CDK's type information."""
    assert module.__file__ is not None
    (bundle,) = (Path(module.__file__).parent / "_jsii").glob("*.jsii.tgz")
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/.jsii")
        assert member is not None
        loaded: dict[str, Any] = json.load(member)
    return loaded


@cache
def _types() -> dict[str, Any]:
    """Every type of the CDK modules used, by fully qualified name."""
    _core()
    found: dict[str, Any] = {}
    for name in (CORE_MODULE, *CDK_MODULES):
        found.update(_assembly(importlib.import_module(name))["types"])
    return found


@cache
def resource_types() -> dict[str, ResourceType]:
    """The CDK's `Ros*` constructs of the modules used, by ROS resource type name."""
    types = _types()
    found: dict[str, ResourceType] = {}
    for module_name in CDK_MODULES:
        module = importlib.import_module(module_name)
        for name in dir(module):
            construct = getattr(module, name)
            fqn = getattr(construct, "__jsii_type__", None)
            if not name.startswith("Ros") or fqn not in types or "initializer" not in types[fqn]:
                continue
            spec = types[fqn]
            found[construct.ROS_RESOURCE_TYPE_NAME] = ResourceType(
                construct=construct,
                props_fqn=spec["initializer"]["parameters"][2]["type"]["fqn"],
                attributes=frozenset(
                    prop["name"].removeprefix("attr") for prop in spec.get("properties", [])
                    if prop["name"].startswith("attr")
                ),
            )
    return found


def _struct_properties(fqn: str) -> list[dict[str, Any]]:
    spec = _types()[fqn]
    properties: list[dict[str, Any]] = list(spec.get("properties", []))
    for base in spec.get("interfaces", []):
        properties += _struct_properties(base)
    return properties


def _is_struct(type_ref: Mapping[str, Any]) -> bool:
    return "fqn" in type_ref and bool(_types().get(type_ref["fqn"], {}).get("datatype"))


def to_cdk(value: Any, type_ref: Mapping[str, Any], where: str) -> Any:
    """A template value as the CDK takes it: struct keys in its camelCase, intrinsics as tokens."""
    if is_intrinsic(value):
        return _core().Token.as_any(value)
    if "union" in type_ref:
        members: Iterable[Mapping[str, Any]] = type_ref["union"]["types"]
        for member in members:
            if (_is_struct(member) and isinstance(value, dict)) or (
                "collection" in member
                and isinstance(value, list) == (member["collection"]["kind"] == "array")
            ):
                return to_cdk(value, member, where)
        return value
    if _is_struct(type_ref):
        if not isinstance(value, dict):
            raise TemplateError(f"{where}: expected a map of properties, got {value!r}")
        return _struct_to_cdk(value, type_ref["fqn"], where)
    if "collection" in type_ref:
        element = type_ref["collection"]["elementtype"]
        if type_ref["collection"]["kind"] == "array" and isinstance(value, list):
            return [to_cdk(item, element, f"{where}[{index}]") for index, item in enumerate(value)]
        if type_ref["collection"]["kind"] == "map" and isinstance(value, dict):
            return {key: to_cdk(item, element, f"{where}.{key}") for key, item in value.items()}
    return value


def _struct_to_cdk(value: Mapping[str, Any], fqn: str, where: str) -> dict[str, Any]:
    # ROS names are the CDK's camelCase names capitalised (`TTL` is `ttl`): match ignoring case.
    known = {prop["name"].lower(): prop for prop in _struct_properties(fqn)}
    converted = {}
    for key, item in value.items():
        prop = known.get(key.lower())
        if prop is None:
            raise TemplateError(
                f"{where}.{key}: not a property of {fqn.rpartition('.')[2]} in the ROS CDK"
                f" (known: {', '.join(sorted(p['name'] for p in known.values()))})"
            )
        converted[prop["name"]] = to_cdk(item, prop["type"], f"{where}.{key}")
    return converted


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def synthesize_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The template's Parameters rebuilt as the CDK's `RosParameter`s and synthesized."""
    core = _core()
    app = core.App()
    stack = core.Stack(app, STACK)
    for name, spec in parameters.items():
        options: dict[str, Any] = {}
        for key, value in spec.items():
            if key == "Type":
                options["type"] = core.RosParameterType[_snake_case(value).upper()]
            else:
                options["default_value" if key == "Default" else _snake_case(key)] = value
        try:
            core.RosParameter(stack, name, **options)
        except (TypeError, KeyError) as err:
            raise TemplateError(f"Parameters.{name}: the ROS CDK refused it: {err}") from err
    parameters_out: dict[str, Any] = app.synth().get_stack_artifact(STACK).template["Parameters"]
    return parameters_out


def synthesize_resources(resources: Mapping[str, Any]) -> dict[str, Any]:
    """The template's resources rebuilt with the CDK and synthesized: name -> Properties."""
    core = _core()
    app = core.App()
    stack = core.Stack(app, STACK)
    kinds = resource_types()
    for name, resource in resources.items():
        kind = kinds.get(resource["Type"])
        if kind is None:
            raise TemplateError(f"{name}: the ROS CDK has no resource type {resource['Type']}")
        props = _struct_to_cdk(resource.get("Properties", {}), kind.props_fqn, name)
        kind.construct(stack, name, props, True)
    try:
        template = app.synth().get_stack_artifact(STACK).template
    except Exception as err:
        raise TemplateError(f"the ROS CDK refused the template: {err}") from err
    return {name: synthesized.get("Properties", {})
            for name, synthesized in template["Resources"].items()}
