"""The SDK's errors, as this function's: what kind of failure, and what to do about it."""

from __future__ import annotations

import requests
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

from snapshot_purge.errors import ApiFailure, JobNotFound, PermissionDenied
from snapshot_purge.retry import is_throttling

NO_CREDENTIALS_HINT = (
    "On Function Compute, give the function a role (the runtime then passes its STS credentials);"
    " locally, set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and"
    " ALIBABA_CLOUD_SECURITY_TOKEN for STS), or a profile in ~/.aliyun/config.json"
    " (ALIBABA_CLOUD_PROFILE)."
)

PERMISSION_HINTS = {
    "Forbidden": "Grant the function's RAM role the ice:{action} permission (see template.yml).",
    "BucketNotAuthorized": "Authorise ICE to access the snapshot bucket (ICE console, OSS"
    " authorisation).",
    "OperationDenied": "Activate Intelligent Media Services (ICE) for this account.",
    "UserDisable": "The account is disabled; settle it with Alibaba Cloud support.",
    "InvalidAccessKeyId.NotFound": "Check the access key: it is not known to the service.",
    "InvalidAccessKeyId.Inactive": "The access key is disabled; enable it or use another.",
    "SignatureDoesNotMatch": "Check the access key secret (it does not match the key id).",
    "IncompleteSignature": "Check the credentials: the request could not be signed fully.",
    "InvalidSecurityToken.Expired": "The STS token expired: invoke again with fresh credentials.",
    "InvalidSecurityToken.Malformed": "Check the STS security token.",
    "InvalidSecurityToken.MismatchWithAccessKey": "The STS token belongs to another access key.",
    "MissingSecurityToken": "STS credentials need their security token.",
}


def network_reason(err: BaseException) -> str:
    """What went wrong on the wire, in a phrase: the SDK wraps the requests error it met (as the
    cause, or only as text) in its own retry and unretryable errors."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, requests.Timeout):
            return "no answer within the read timeout"
        if isinstance(seen, requests.ConnectionError):
            break
        seen = getattr(seen, "inner_exception", None) or seen.__cause__ or seen.__context__
    text = str(getattr(getattr(err, "inner_exception", None), "message", None) or err)
    if "Connection refused" in text:
        return "the connection was refused: nothing listens at the endpoint"
    if "timed out" in text.lower():
        return "no answer within the timeout"
    if isinstance(seen, requests.ConnectionError):
        return "the connection failed or was dropped"
    return f"{type(err).__name__}: {text[:300]}"


def subject(job_id: str | None) -> str:
    return f"job {job_id}: " if job_id else ""


def api_failure(
    action: str, job_id: str | None, err: AlibabaCloudException, attempts: int
) -> ApiFailure:
    code = str(err.code)
    data = err.data if isinstance(err.data, dict) else {}
    message = str(data.get("Message") or err.message or "")
    detail = subject(job_id) + message + (f" (after {attempts} attempts)" if attempts > 1 else "")
    request_id = str(data.get("RequestId") or err.request_id or "") or None
    if code in PERMISSION_HINTS:
        return PermissionDenied(
            action,
            code,
            detail,
            status=err.status_code,
            request_id=request_id,
            hint=PERMISSION_HINTS[code].format(action=action),
            job_id=job_id,
        )
    if code == "JobNotFound":
        return JobNotFound(
            action,
            code,
            detail,
            status=err.status_code,
            request_id=request_id,
            hint="Remove the job from SNAPSHOT_JOB_IDS or the request.",
            job_id=job_id,
        )
    hint = (
        "Throttled until the retries ran out: another tool may share the quota; set ICE_MAX_QPS"
        " below the account's quota (Quota Center), or raise the quota."
        if is_throttling(code)
        else ""
    )
    return ApiFailure(
        action, code, detail, status=err.status_code, request_id=request_id, hint=hint,
        job_id=job_id,
    )
