"""Reading an action's parameters, with the error codes and messages of the API reference.

Every action takes its parameters as one flat mapping of strings: the query and a form-encoded
body merged, as the gateway merges them. A value the real service would refuse raises a
ServiceError with the code, HTTP status and message the reference documents.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

Params = Mapping[str, str]
Body = dict[str, Any]
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def iso_seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms // 1000, tz=timezone.utc).strftime(ISO_SECONDS)


def missing(name: str) -> ServiceError:
    return ServiceError(
        400, "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not'
        " supplied.",
    )


def invalid(name: str, why: str) -> ServiceError:
    return ServiceError(400, "InvalidParameter", f'The specified parameter "{name}" {why}.')


def end_time_mismatch() -> ServiceError:
    return ServiceError(400, "EndTimeMismatch",
                        "Specified end time does not math the specified start time.")


def required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise missing(name)
    return value


def text(params: Params, name: str, *, max_length: int, default: str = "") -> str:
    value = params.get(name, default)
    if len(value) > max_length:
        raise invalid(name, f"is {len(value)} characters long; at most {max_length} are allowed")
    return value


def time_ms(params: Params, name: str, *, malformed_code: str) -> int | None:
    """`yyyy-MM-ddTHH:mm:ssZ` -> epoch ms; None when absent."""
    value = params.get(name)
    if value is None:
        return None
    try:
        moment = datetime.strptime(value, ISO_SECONDS).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ServiceError(
            400, malformed_code,
            f"Specified parameter {name} is not valid: {value!r} is not yyyy-MM-ddTHH:mm:ssZ.",
        ) from None
    return int(moment.timestamp()) * 1000


def integer(params: Params, name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid(name, f"({value}) is not an integer") from None
    if not low <= number <= high:
        raise invalid(name, f"({value}) must be between {low} and {high}")
    return number


def choice(params: Params, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise invalid(name, f"({value}) must be one of {', '.join(choices)}")
    return value


def optional_choice(params: Params, name: str, choices: tuple[str, ...]) -> str | None:
    return None if name not in params else choice(params, name, "", choices)


def boolean(params: Params, name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value.lower() not in ("true", "false"):
        raise invalid(name, f"({value}) must be true or false")
    return value.lower() == "true"


def json_object(params: Params, name: str) -> dict[str, Any]:
    """A parameter the SDK sends as a JSON string (`SnapshotOutput`, `StreamInput`)."""
    try:
        value = json.loads(required(params, name))
    except json.JSONDecodeError:
        raise invalid(name, "is not a JSON object") from None
    if not isinstance(value, dict):
        raise invalid(name, "is not a JSON object")
    return value


def listed(params: Params, name: str) -> list[str]:
    """A list the SDK flattens into `Name.1`, `Name.2`, ... in request order."""
    numbered = []
    for key, value in params.items():
        prefix, _, index = key.rpartition(".")
        if prefix == name and index.isdigit():
            numbered.append((int(index), value))
    return [value for _, value in sorted(numbered)]
