"""The emulator's own pages, unsigned, for development tools and people (never part of ICE):

- `GET /_emulator/state`: what the store holds, per job, and what is out of step;
- `GET /_emulator/calls`: requests counted per action and answer;
- `GET /_emulator/deliveries`: OSS event notifications delivered, failed and pending;
- `POST /_emulator/objects/delete` with `{"bucket": ..., "keys": [...]}`: delete OSS objects
  as a person would in the console (records stay; OSS notifies of each removal).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from emulator.server import Emulator

PREFIX = "/_emulator/"
FAILURES_SHOWN = 5
Answer = tuple[int, dict[str, Any]]


def _problem(status: int, code: str, message: str) -> Answer:
    return status, {"Code": code, "Message": message}


def _delete_objects(emulator: Emulator, body: bytes) -> Answer:
    try:
        request = json.loads(body or b"null")
    except json.JSONDecodeError:
        request = None
    if not (isinstance(request, dict) and isinstance(request.get("bucket"), str)
            and isinstance(request.get("keys"), list)
            and all(isinstance(key, str) for key in request["keys"])):
        return _problem(400, "InvalidParameter",
                        'send JSON {"bucket": "...", "keys": ["...", ...]}')
    keys: list[str] = request["keys"]
    deleted = emulator.delete_by_hand(request["bucket"], keys)
    return 200, {"deleted": deleted, "missing": [key for key in keys if key not in deleted]}


def answer(emulator: Emulator, method: str, target: str, body: bytes) -> Answer:
    page = urlsplit(target).path.removeprefix(PREFIX)
    if (method, page) == ("GET", "state"):
        return 200, asdict(emulator.store.state())
    if (method, page) == ("GET", "calls"):
        return 200, {"calls": emulator.calls()}
    if (method, page) == ("GET", "deliveries"):
        failures = [asdict(d) for d in emulator.deliveries.results() if not d.delivered]
        return 200, {**emulator.deliveries.counts(),
                     "recent_failures": failures[-FAILURES_SHOWN:]}
    if (method, page) == ("POST", "objects/delete"):
        return _delete_objects(emulator, body)
    return _problem(404, "NotFound", f"nothing at {method} {PREFIX}{page}; see emulator/admin.py")
