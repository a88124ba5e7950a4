"""Retention rules per channel: `{"JobName": "<glob>", "RetentionDays": n}`, first match wins.

The same JSON list sits in a request's `Rules`, a timer payload or the `RETENTION_RULES` variable.
A job that matches no rule keeps the run's `RetentionDays`; its lines name the rule `default`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

MAX_RETENTION_DAYS = 36_500
DEFAULT_RULE = "default"

Days = Annotated[float, Field(gt=0, le=MAX_RETENTION_DAYS, strict=True, allow_inf_nan=False)]


class RetentionRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    JobName: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    RetentionDays: Days
    DeleteOriginalFile: StrictBool | None = None


@dataclass(frozen=True)
class Retention:
    """What decides one job's due files: the rule's name, its age and its delete setting."""

    rule: str
    retention_days: float
    delete_original_file: bool


def retention_for(
    job_name: str | None,
    rules: tuple[RetentionRule, ...],
    *,
    retention_days: float,
    delete_original_file: bool,
) -> Retention:
    """The first rule whose `JobName` glob matches the job's name, else the run's defaults."""
    for rule in rules:
        if job_name is not None and fnmatchcase(job_name, rule.JobName):
            return Retention(
                rule.JobName,
                rule.RetentionDays,
                delete_original_file
                if rule.DeleteOriginalFile is None
                else rule.DeleteOriginalFile,
            )
    return Retention(DEFAULT_RULE, retention_days, delete_original_file)
