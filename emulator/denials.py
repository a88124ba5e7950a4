"""Switchable 403 answers: what a real account answers when a RAM policy, the bucket's
authorisation or the account itself says no, so that a client's permission paths can be run.

A denial names the code, the action (or every action) and, optionally, one job or one bucket:
a scoped denial answers only requests about that job, or about jobs writing to that bucket.
The codes and messages are the ones the API reference documents for these actions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from emulator.params import ServiceError

EVERY_ACTION = "*"
MESSAGES = {
    "Forbidden": "User not authorized to operate on the specified resource.",
    "BucketNotAuthorized": "Bucket is not authorised.",
    "OperationDenied": "Your account has not enabled the ICE service.",
    "UserDisable": "User is disable.",
}
SYNTAX = "[ACTION|*][@job:JOB_ID|@bucket:BUCKET]=CODE"
_PATTERN = re.compile(r"^(?P<action>[A-Za-z*]+)?(?:@(?P<kind>job|bucket):(?P<name>[^=]+))?"
                      r"=(?P<code>\w+)$")


@dataclass(frozen=True)
class Denial:
    """Answer `action` ("*": every action) with 403 `code`; only for one job or one bucket
    when `job_id` or `bucket` is given."""

    code: str
    action: str = EVERY_ACTION
    job_id: str | None = None
    bucket: str | None = None

    def __post_init__(self) -> None:
        if self.code not in MESSAGES:
            raise ValueError(f"denial code {self.code!r}: use one of {', '.join(MESSAGES)}")
        if self.job_id is not None and self.bucket is not None:
            raise ValueError("a denial is scoped to a job or to a bucket, not both")

    @classmethod
    def parse(cls, text: str) -> Denial:
        """`DeleteLiveSnapshotFiles=Forbidden`, `*@bucket:photos=BucketNotAuthorized`,
        `GetLiveSnapshotJob@job:JOBID=Forbidden`, `=UserDisable` (every action)."""
        found = _PATTERN.match(text)
        if found is None:
            raise ValueError(f"{text!r}: use {SYNTAX}")
        scope = {"job": "job_id", "bucket": "bucket"}.get(found["kind"] or "")
        return cls(found["code"], found["action"] or EVERY_ACTION,
                   **({scope: found["name"]} if scope else {}))

    def applies(self, action: str, job_id: str | None, bucket: str | None) -> bool:
        return (
            self.action in (EVERY_ACTION, action)
            and (self.job_id is None or self.job_id == job_id)
            and (self.bucket is None or self.bucket == bucket)
        )


def refusal(denials: Iterable[Denial], action: str, job_id: str | None, bucket: str | None
            ) -> ServiceError | None:
    """The 403 for this request, from the first denial that applies; None when none does."""
    for denial in denials:
        if denial.applies(action, job_id, bucket):
            return ServiceError(403, denial.code, MESSAGES[denial.code])
    return None
