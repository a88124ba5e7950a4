"""The live snapshot template actions: create, get, list, update, delete. A template names the
snapshot objects (`OverwriteFormat`, `SequenceFormat`) and sets the interval; a job copies them
when it is submitted."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from emulator.params import (
    Body,
    Params,
    ServiceError,
    choice,
    integer,
    invalid,
    iso_seconds,
    listed,
    missing,
    optional_choice,
    required,
    text,
)
from emulator.store import Store, Template

MAX_NAME_LENGTH = 128
MAX_FORMAT_LENGTH = 255
MAX_TEMPLATES_PER_PAGE = 100
MAX_TEMPLATE_IDS = 200
TEMPLATE_TYPES = ("system", "custom")
PLACEHOLDER = re.compile(r"\{([^}]*)\}")
SEQUENCE_PLACEHOLDERS = frozenset({"JobId", "Date", "UnixTimestamp", "Sequence"})


def template_not_found() -> ServiceError:
    return ServiceError(404, "TemplateNotFound", "No such template.")


def _format(params: Params, name: str, allowed: frozenset[str]) -> str:
    value = text(params, name, max_length=MAX_FORMAT_LENGTH)
    if not value:
        return ""
    if value.startswith("/") or not value.endswith(".jpg"):
        raise invalid(name, f"({value}) must not start with / and must end with .jpg")
    unknown = set(PLACEHOLDER.findall(value)) - allowed
    if unknown:
        raise invalid(name, f"({value}) may use only the placeholders "
                            + ", ".join(f"{{{p}}}" for p in sorted(allowed)))
    return value


def _formats(params: Params) -> tuple[str, str]:
    """(OverwriteFormat, SequenceFormat): at least one, each with its own placeholders."""
    overwrite = _format(params, "OverwriteFormat", frozenset({"JobId"}))
    sequence = _format(params, "SequenceFormat", SEQUENCE_PLACEHOLDERS)
    if not overwrite and not sequence:
        raise missing("OverwriteFormat or SequenceFormat")
    if sequence and "{UnixTimestamp}" not in sequence and "{Sequence}" not in sequence:
        raise invalid("SequenceFormat", "needs {UnixTimestamp} or {Sequence}")
    return overwrite, sequence


def _name_and_interval(params: Params) -> tuple[str, int]:
    name = text(params, "TemplateName", max_length=MAX_NAME_LENGTH)
    if not name:
        raise missing("TemplateName")
    required(params, "TimeInterval")
    return name, integer(params, "TimeInterval", 0, 5, 3600)


def _summary(template: Template) -> Body:
    return {
        "TemplateId": template.template_id,
        "TemplateName": template.template_name,
        "TimeInterval": template.time_interval,
        "Type": template.type,
        "CreateTime": iso_seconds(template.create_time_ms),
    }


@dataclass
class TemplateActions:
    store: Store
    clock: Callable[[], float]

    def _template(self, params: Params) -> Template:
        template = self.store.template(required(params, "TemplateId"))
        if template is None:
            raise template_not_found()
        return template

    def create_template(self, params: Params) -> Body:
        name, interval = _name_and_interval(params)
        overwrite, sequence = _formats(params)
        now = int(self.clock() * 1000)
        template = Template(uuid.uuid4().hex, name, interval, overwrite, sequence, now, now)
        self.store.add_template(template)
        return {"TemplateId": template.template_id}

    def update_template(self, params: Params) -> Body:
        template = self._template(params)
        name, interval = _name_and_interval(params)
        overwrite, sequence = _formats(params)
        self.store.put_template(replace(
            template, template_name=name, time_interval=interval, overwrite_format=overwrite,
            sequence_format=sequence, last_modified_ms=int(self.clock() * 1000),
        ))
        return {}

    def get_template(self, params: Params) -> Body:
        template = self._template(params)
        return {
            **_summary(template),
            "OverwriteFormat": template.overwrite_format,
            "SequenceFormat": template.sequence_format,
            "LastModified": iso_seconds(template.last_modified_ms),
        }

    def delete_template(self, params: Params) -> Body:
        if not self.store.delete_template(required(params, "TemplateId")):
            raise template_not_found()
        return {}

    def list_templates(self, params: Params) -> Body:
        page_no = integer(params, "PageNo", 1, 1, 2**31 - 1)
        page_size = integer(params, "PageSize", 10, 1, MAX_TEMPLATES_PER_PAGE)
        sort_by = choice(params, "SortBy", "desc", ("asc", "desc"))
        kind = optional_choice(params, "Type", TEMPLATE_TYPES)
        keyword = text(params, "SearchKeyWord", max_length=MAX_NAME_LENGTH)
        wanted = listed(params, "TemplateIds")
        if len(wanted) > MAX_TEMPLATE_IDS:
            raise invalid("TemplateIds", f"has {len(wanted)} items; at most {MAX_TEMPLATE_IDS}")
        found = [
            t for t in self.store.templates()
            if (kind is None or t.type == kind)
            and (keyword.lower() in t.template_name.lower() or keyword in t.template_id
                 if keyword else not wanted or t.template_id in wanted)
        ]
        if sort_by == "desc":
            found.reverse()
        first = (page_no - 1) * page_size
        return {
            "TemplateList": [_summary(t) for t in found[first:first + page_size]],
            "TotalCount": len(found),
            "PageNo": page_no,
            "PageSize": page_size,
            "SortBy": sort_by,
        }
