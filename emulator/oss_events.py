"""OSS event notifications for the objects the emulator writes and removes, in the two shapes a
function receives them: the native OSS trigger event (`{"events": [...]}`) and an EventBridge
CloudEvent (the same record under `data`). Samples of both are in shared/fixtures/events.

A filter chooses which events a trigger gets, as an OSS trigger's does: key prefix, key suffix
and event names such as `oss:ObjectCreated:*` or `oss:ObjectRemoved:DeleteObject`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

CREATED = "ObjectCreated:PutObject"
REMOVED_BY_HAND = "ObjectRemoved:DeleteObject"
REMOVED_BY_ICE = "ObjectRemoved:DeleteObjects"
SHAPES = ("oss", "eventbridge")
# The store keeps no object sizes; every snapshot is said to be this big.
SNAPSHOT_SIZE = 65_536


@dataclass(frozen=True)
class ObjectEvent:
    event_name: str
    bucket: str
    key: str
    time_ms: int


@dataclass(frozen=True)
class EventFilter:
    prefix: str = ""
    suffix: str = ""
    events: tuple[str, ...] = ("oss:ObjectCreated:*", "oss:ObjectRemoved:*")

    def matches(self, event: ObjectEvent) -> bool:
        return (
            event.key.startswith(self.prefix)
            and event.key.endswith(self.suffix)
            and any(fnmatch.fnmatchcase(f"oss:{event.event_name}", name) for name in self.events)
        )


@dataclass(frozen=True)
class Origin:
    """Where the events say they come from."""

    region: str = "cn-shanghai"
    account_id: str = "123456789"


def _iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def oss_record(event: ObjectEvent, origin: Origin) -> dict[str, Any]:
    """One record as the native OSS trigger sends it."""
    removed = event.event_name.startswith("ObjectRemoved")
    return {
        "eventName": event.event_name,
        "eventSource": "acs:oss",
        "eventTime": _iso_ms(event.time_ms),
        "eventVersion": "1.0",
        "oss": {
            "bucket": {
                "arn": f"acs:oss:{origin.region}:{origin.account_id}:{event.bucket}",
                "name": event.bucket,
                "ownerIdentity": origin.account_id,
                "virtualBucket": "",
            },
            "object": {
                "deltaSize": -SNAPSHOT_SIZE if removed else SNAPSHOT_SIZE,
                "eTag": hashlib.md5(event.key.encode()).hexdigest().upper(),
                "key": event.key,
                "size": SNAPSHOT_SIZE,
            },
            "ossSchemaVersion": "1.0",
            "ruleId": "ice-emulator",
        },
        "region": origin.region,
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"requestId": uuid.uuid4().hex[:24].upper()},
        "userIdentity": {"principalId": origin.account_id},
    }


def native_event(event: ObjectEvent, origin: Origin) -> dict[str, Any]:
    return {"events": [oss_record(event, origin)]}


def cloud_event(event: ObjectEvent, origin: Origin) -> dict[str, Any]:
    """The event as EventBridge delivers it: CloudEvents 1.0 with the OSS record under `data`."""
    when = _iso_ms(event.time_ms)
    return {
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": origin.account_id,
        "data": oss_record(event, origin),
        "subject": f"acs:oss:{origin.region}:{origin.account_id}:{event.bucket}/{event.key}",
        "aliyunoriginalaccountid": origin.account_id,
        "source": "acs.oss",
        "type": f"oss:{event.event_name}",
        "aliyunpublishtime": when,
        "specversion": "1.0",
        "aliyuneventbusname": "ice-emulator",
        "id": str(uuid.uuid4()),
        "time": when,
        "aliyunregionid": origin.region,
    }


def shaped(event: ObjectEvent, shape: str, origin: Origin) -> dict[str, Any]:
    return cloud_event(event, origin) if shape == "eventbridge" else native_event(event, origin)
