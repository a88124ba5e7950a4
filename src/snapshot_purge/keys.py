"""Object keys -> (job id, time window) through the snapshot template's naming pattern.

`SNAPSHOT_KEY_PATTERN` mirrors the snapshot template's `SequenceFormat`, whose placeholders are
`{JobId}`, `{Date}`, `{UnixTimestamp}` and `{Sequence}`. A key gives a window in which its record's
`CreateTimestamp` lies; the record itself is matched by `OssObject` within that window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from snapshot_purge.errors import BadRequest
from snapshot_purge.model import DAY_MS, SECOND_MS

PLACEHOLDERS = {
    "JobId": r"(?P<JobId>[^/]+?)",
    "UnixTimestamp": r"(?P<UnixTimestamp>\d{10}|\d{13})",
    "Date": r"(?P<Date>\d[\d_:T.\-]*\d)",
    "Sequence": r"(?P<Sequence>\d+)",
}
# The file is written a moment after the record's timestamp (or before, with clock skew between
# the snapshot worker and ICE): a key's time is trusted to within this much either way.
KEY_TIME_TOLERANCE_MS = 60 * SECOND_MS


@dataclass(frozen=True)
class KeyMatch:
    job_id: str
    window_start_ms: int
    window_end_ms: int
    create_timestamp: int | None


class KeyPattern:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        regex = ""
        seen: set[str] = set()
        for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", pattern):
            regex += re.escape(literal)
            if not name:
                continue
            if name not in PLACEHOLDERS:
                raise BadRequest(
                    "SNAPSHOT_KEY_PATTERN",
                    f"unknown placeholder {{{name}}}; use {{JobId}}, {{Date}}, {{UnixTimestamp}}"
                    " or {Sequence}",
                )
            regex += f"(?P={name})" if name in seen else PLACEHOLDERS[name]
            seen.add(name)
        if "JobId" not in seen:
            raise BadRequest("SNAPSHOT_KEY_PATTERN", f"{pattern!r} must contain {{JobId}}")
        self.has_time = bool(seen & {"UnixTimestamp", "Date"})
        self._regex = re.compile(regex)

    def match(self, key: str) -> KeyMatch | None:
        """The job and time window of a snapshot key, or None when the key is not a snapshot."""
        found = self._regex.fullmatch(key)
        if found is None:
            return None
        groups = found.groupdict()
        job_id = groups["JobId"]
        if groups.get("UnixTimestamp"):
            stamp = int(groups["UnixTimestamp"])
            exact = stamp if stamp >= 10**12 else None
            start = stamp if exact else stamp * SECOND_MS
            end = start + (1 if exact else SECOND_MS)
            return KeyMatch(
                job_id, start - KEY_TIME_TOLERANCE_MS, end + KEY_TIME_TOLERANCE_MS, exact
            )
        if groups.get("Date"):
            start, length = _parse_date(groups["Date"], key)
            return KeyMatch(
                job_id,
                start - KEY_TIME_TOLERANCE_MS,
                start + length + KEY_TIME_TOLERANCE_MS,
                None,
            )
        raise BadRequest(
            "SNAPSHOT_KEY_PATTERN",
            f"{self.pattern!r} has neither {{UnixTimestamp}} nor {{Date}}, so an object key does"
            " not say when its snapshot was taken; matching OSS events needs one of them",
        )


def _parse_date(text: str, key: str) -> tuple[int, int]:
    """Start (ms) and length (ms) of the period a `{Date}` value names: a day or a second."""
    digits = re.sub(r"\D", "", text)
    formats = {8: ("%Y%m%d", DAY_MS), 14: ("%Y%m%d%H%M%S", SECOND_MS)}
    if len(digits) not in formats:
        raise BadRequest(
            "oss.object.key",
            f"{key!r}: the {{Date}} part {text!r} is neither a date (YYYY-MM-DD) nor a date"
            " and time (YYYY-MM-DD-HH-mm-ss)",
        )
    fmt, length = formats[len(digits)]
    try:
        moment = datetime.strptime(digits, fmt).replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadRequest("oss.object.key", f"{key!r}: {text!r} is not a valid date") from None
    return int(moment.timestamp()) * SECOND_MS, length
