"""The errors a user can see: a bad request, a failed API call, a permission problem.

Every message names the field or the call and says what to do about it.
"""

from __future__ import annotations


class PurgeError(Exception):
    """Base of every error this function raises on purpose."""


class BadRequest(PurgeError):
    """The event, the request or the configuration is invalid; nothing was deleted."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ApiFailure(PurgeError):
    """An ICE call failed for good (after the retries it deserved)."""

    def __init__(
        self,
        action: str,
        code: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        hint: str = "",
        job_id: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"HTTP {status}" if status else "",
                f"RequestId {request_id}" if request_id else "",
            )
            if part
        )
        text = f"{action} failed with {code}" + (f" ({where})" if where else "") + f": {message}"
        super().__init__(f"{text}. {hint}" if hint else text)
        self.action = action
        self.code = code
        self.status = status
        self.request_id = request_id
        self.job_id = job_id


class JobNotFound(ApiFailure):
    """ICE does not know the job: the job is skipped, the others go on."""


class PermissionDenied(ApiFailure):
    """The function's identity may not do this, or has no usable credentials: the whole run
    stops at once, and nothing about it is retried."""


class DeadlineReached(PurgeError):
    """No time is left in this invocation to start or retry a call."""
