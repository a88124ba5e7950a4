"""Raw events -> typed requests, on the platform's real sample events and on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import platform_fixture

from snapshot_purge.errors import BadRequest
from snapshot_purge.events import parse_event
from snapshot_purge.model import Trigger

JOB = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def test_native_oss_trigger_sample_gives_every_record() -> None:
    sample = platform_fixture("oss-trigger-sample.json")
    second = json.loads(json.dumps(sample["events"][0]))
    second["oss"]["object"]["key"] = "image/b.jpg"
    second["eventName"] = "ObjectRemoved:DeleteObjects"
    sample["events"].append(second)

    parsed = parse_event(json.dumps(sample).encode())

    assert parsed.trigger is Trigger.OSS
    assert [(r.eventName, r.oss.bucket.name, r.oss.object.key) for r in parsed.oss_records] == [
        ("ObjectCreated:PutObject", "testbucket", "image/a.jpg"),
        ("ObjectRemoved:DeleteObjects", "testbucket", "image/b.jpg"),
    ]
    assert [r.removed for r in parsed.oss_records] == [False, True]


def test_eventbridge_oss_sample_gives_its_record() -> None:
    sample = platform_fixture("oss-eventbridge-sample.json")

    parsed = parse_event(sample)

    assert parsed.trigger is Trigger.OSS
    (record,) = parsed.oss_records
    assert record.eventName == "ObjectCreated:PostObject"
    assert record.oss.object.key == sample["data"]["oss"]["object"]["key"]


@pytest.mark.parametrize("encode", [lambda e: e, json.dumps, lambda e: json.dumps(e).encode()])
def test_event_may_be_dict_str_or_bytes(encode: Any) -> None:
    event = {"JobId": JOB, "CreateTimestampList": [1660638613798], "DryRun": True}

    parsed = parse_event(encode(event))

    assert parsed.trigger is Trigger.MANUAL
    assert parsed.request.CreateTimestampList == [1660638613798]
    assert parsed.request.DryRun is True


def test_timer_payload_json_is_the_request() -> None:
    event = {
        "triggerTime": "2026-11-25T05:49:00Z",
        "triggerName": "hourly-sweep",
        "payload": json.dumps({"RetentionDays": 3.5, "JobIds": [JOB]}),
    }

    parsed = parse_event(event)

    assert parsed.trigger is Trigger.TIMER
    assert parsed.request.RetentionDays == 3.5
    assert parsed.request.JobIds == [JOB]


def test_timer_with_free_text_payload_falls_back_to_the_environment() -> None:
    parsed = parse_event(
        {"triggerTime": "2018-02-09T05:49:00Z", "triggerName": "timer-trigger",
         "payload": "awesome-fc"}
    )

    assert parsed.trigger is Trigger.TIMER
    assert parsed.request.model_dump(exclude_none=True) == {}


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        (b"{not json", "event", "not valid JSON"),
        ("", "event", "empty"),
        ("[1, 2]", "event", "JSON list"),
        ({"JobId": JOB, "CreateTimestampList": [1660638613]}, "CreateTimestampList",
         "seconds"),
        ({"JobId": JOB, "CreateTimestampList": [-1660638613798]}, "CreateTimestampList",
         "positive"),
        ({"JobId": JOB, "CreateTimestampList": []}, "CreateTimestampList", "at least 1"),
        ({"JobId": JOB, "CreateTimestampList": list(range(10**12, 10**12 + 10_001))},
         "CreateTimestampList", "at most 10000"),
        ({"JobId": JOB, "CreateTimestampList": ["1660638613798"]}, "CreateTimestampList[0]",
         "integer"),
        ({"JobId": JOB, "CreateTimestampList": [1660638613798, 1660638613798]},
         "CreateTimestampList", "twice"),
        ({"JobId": JOB, "DryRun": "yes"}, "DryRun", "boolean"),
        ({"JobId": JOB, "RetentionDays": -1}, "RetentionDays", "greater than 0"),
        ({"JobId": JOB, "RetentionDays": True}, "RetentionDays", ""),
        ({"JobId": JOB, "Retention": 7}, "Retention", "not a known field"),
        ({"JobId": JOB, "StartTime": "2026-11-20T00:00:00"}, "StartTime", "time zone"),
        ({"JobId": ""}, "JobId", "at least 1"),
        ({"triggerTime": "2026-11-25T05:49:00Z", "triggerName": "t", "payload": "{bad"},
         "payload", "not valid"),
        ({"triggerTime": "2026-11-25T05:49:00Z", "triggerName": "t",
          "payload": '{"RetentionDay": 7}'}, "payload.RetentionDay", "not a known field"),
        ({"events": []}, "event.events", "at least 1"),
        ({"Cursor": [{"JobId": JOB, "StartTimestamp": 1_764_000_000_000,
                      "EndTimestamp": 1_764_000_000_000 + 86_400_000,
                      "DeleteOriginalFile": False}]},
         "Cursor", "valid string"),
        ({"events": [{"eventName": "ObjectCreated:PutObject"}]}, "event.events[0].eventTime",
         "required"),
        ({"Shard": "c1.x", "DryRun": True}, "Shard", "nothing else"),
        ({"JobId": JOB, "RetentionDays": float("inf")}, "RetentionDays", "finite"),
        ({"JobId": JOB, "Rules": [{"JobName": "a*", "RetentionDays": 1, "Days": 2}]},
         "Rules[0].Days", "not a known field"),
    ],
)
def test_bad_input_names_the_field(event: Any, field: str, words: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_event(event)

    assert raised.value.field == field
    assert words in str(raised.value)
    assert str(raised.value).startswith(f"{field}: ")
