"""The cursor: what a stopped run left, as one compact string a person can paste back.

It carries everything that decides what the resumed run does: the run it belongs to, dry run or
not, each job's delete setting and rule, and the QPS share of a shard. What is
left is kept as ranges per job (asked for a day at a time only when listing), explicit timestamps
packed as deltas, and jobs not yet started as the selection and policy that produce them, so its
size is bounded by the request's own, never by how long the run's windows are.

Format: `c1.` + base64url(zlib(JSON)). zlib's checksum turns a cursor damaged in copy and paste
into a clear refusal rather than a different plan.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from typing import Any

from snapshot_purge.errors import BadRequest
from snapshot_purge.jobs import JobSelection, PendingJobs
from snapshot_purge.model import JobWork, RunIdentity
from snapshot_purge.plan import Policy, RangePolicy, RetentionPolicy
from snapshot_purge.rules import RetentionRule

PREFIX = "c1."
FIELD = "Cursor"


@dataclass(frozen=True)
class Remainder:
    """What a run hands on: to a person as a cursor, to FC as a shard or continuation."""

    identity: RunIdentity
    dry_run: bool
    jobs: tuple[JobWork, ...] = ()
    pending: PendingJobs | None = None
    qps_share: float = 1.0

    @property
    def empty(self) -> bool:
        return not self.jobs and self.pending is None


def encode(remainder: Remainder) -> str:
    identity = remainder.identity
    body = {
        "r": identity.run_id,
        "s": identity.shard,
        "h": identity.hop,
        "d": remainder.dry_run,
        "q": remainder.qps_share,
        "j": [_job(work) for work in remainder.jobs],
        "p": None if remainder.pending is None else _pending(remainder.pending),
    }
    text = json.dumps(body, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(zlib.compress(text, 9)).decode().rstrip("=")


def decode(token: str) -> Remainder:
    if not token.startswith(PREFIX):
        raise BadRequest(
            FIELD,
            "is not a cursor of this function: pass back the `cursor` string of a summary as it"
            " is (cursors of earlier versions, lists of slices, are no longer read: run the"
            " original request again)",
        )
    packed = token[len(PREFIX) :]
    try:
        text = zlib.decompress(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
        body = json.loads(text)
        return _remainder(body)
    except (binascii.Error, zlib.error, ValueError, TypeError, KeyError, IndexError):
        raise BadRequest(
            FIELD,
            "is damaged (it does not decode, or its checksum does not match): copy the whole"
            " `cursor` string of the summary again",
        ) from None


def _job(work: JobWork) -> list[Any]:
    return [
        work.job_id,
        work.delete_original_file,
        work.rule,
        [list(span) for span in work.ranges],
        None if work.only_objects is None else sorted(work.only_objects),
        pack_timestamps(work.timestamps) if work.timestamps else None,
    ]


def _pending(pending: PendingJobs) -> dict[str, Any]:
    selection, policy = pending.selection, pending.policy
    packed_policy: dict[str, Any]
    if isinstance(policy, RetentionPolicy):
        packed_policy = {
            "k": "retention",
            "a": policy.as_of_ms,
            "rd": policy.retention_days,
            "ld": policy.lookback_days,
            "o": policy.delete_original_file,
            "ru": [rule.model_dump(exclude_none=True) for rule in policy.rules],
        }
    else:
        packed_policy = {
            "k": "range",
            "s": policy.start_ms,
            "e": policy.end_ms,
            "o": policy.delete_original_file,
        }
    return {
        "ids": None if selection.job_ids is None else list(selection.job_ids),
        "kw": selection.keyword,
        "st": selection.status,
        "ex": sorted(selection.exclude),
        "dd": selection.discovery_days,
        "af": selection.after,
        "pol": packed_policy,
    }


def _remainder(body: dict[str, Any]) -> Remainder:
    pending = body["p"]
    return Remainder(
        identity=RunIdentity(
            _text(body["r"]),
            None if body["s"] is None else _count(body["s"]),
            _count(body["h"]),
        ),
        dry_run=_flag(body["d"]),
        jobs=tuple(_job_work(entry) for entry in body["j"]),
        pending=None if pending is None else _pending_jobs(pending),
        qps_share=_share(body["q"]),
    )


def _job_work(entry: list[Any]) -> JobWork:
    job_id, original, rule, ranges, objects, stamps = entry
    spans = tuple((_count(start), _count(end)) for start, end in ranges)
    if any(start >= end for start, end in spans):
        raise ValueError("empty range")
    return JobWork(
        _text(job_id),
        _flag(original),
        ranges=spans,
        timestamps=unpack_timestamps(_text(stamps)) if stamps is not None else (),
        only_objects=None if objects is None else frozenset(_text(key) for key in objects),
        rule=None if rule is None else _text(rule),
    )


def _pending_jobs(packed: dict[str, Any]) -> PendingJobs:
    ids = packed["ids"]
    selection = JobSelection(
        job_ids=None if ids is None else tuple(_text(job_id) for job_id in ids),
        keyword=None if packed["kw"] is None else _text(packed["kw"]),
        status=None if packed["st"] is None else _text(packed["st"]),
        exclude=frozenset(_text(job_id) for job_id in packed["ex"]),
        discovery_days=_number(packed["dd"]),
        after=None if packed["af"] is None else _text(packed["af"]),
    )
    pol = packed["pol"]
    policy: Policy
    if pol["k"] == "retention":
        policy = RetentionPolicy(
            as_of_ms=_count(pol["a"]),
            retention_days=_number(pol["rd"]),
            lookback_days=_number(pol["ld"]),
            delete_original_file=_flag(pol["o"]),
            rules=tuple(RetentionRule.model_validate(rule) for rule in pol["ru"]),
        )
    elif pol["k"] == "range":
        policy = RangePolicy(_count(pol["s"]), _count(pol["e"]), _flag(pol["o"]))
    else:
        raise ValueError(f"unknown policy {pol['k']!r}")
    return PendingJobs(selection, policy)


def pack_timestamps(stamps: tuple[int, ...]) -> str:
    """Sorted timestamps as LEB128 deltas, base64url: about 4 characters each for real snapshot
    files (seconds to minutes apart), 7 at worst, where JSON takes 14."""
    out = bytearray()
    previous = 0
    for stamp in sorted(stamps):
        delta, previous = stamp - previous, stamp
        while True:
            low, delta = delta & 0x7F, delta >> 7
            out.append(low | (0x80 if delta else 0))
            if not delta:
                break
    return base64.urlsafe_b64encode(bytes(out)).decode()


def unpack_timestamps(text: str) -> tuple[int, ...]:
    stamps: list[int] = []
    value = shift = previous = 0
    for byte in base64.urlsafe_b64decode(text):
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            previous += value
            stamps.append(previous)
            value = shift = 0
    if shift:
        raise ValueError("truncated timestamps")
    return tuple(stamps)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected text")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a whole number")
    return value


def _number(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise TypeError("expected a positive number")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _share(value: Any) -> float:
    share = _number(value)
    if share > 1:
        raise ValueError("a QPS share is at most 1")
    return share
