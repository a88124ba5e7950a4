"""The ICE live snapshot actions over the store: parameters in, answer body or ServiceError out.

Validation, limits and error codes follow the official API reference (shared/reference): a
request that the real service would refuse is refused here with the same code and status.
Where the reference is silent (see emulator/README.md, "Where the reference is silent") the
choice made here is the one that keeps a correct client correct.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emulator.actions_files import FileActions, RemovedObjects
from emulator.actions_jobs import JobActions
from emulator.actions_templates import TemplateActions
from emulator.params import Body, Params, ServiceError
from emulator.store import Store

__all__ = ["VERSION", "IceService", "ServiceError"]

VERSION = "2020-11-09"


def _ignore(objects: Sequence[tuple[str, str]]) -> None:
    """No one to tell that objects were removed."""


@dataclass
class IceService:
    """`clock` is the service's now (epoch seconds), for creation times and default windows;
    `removed` hears of the OSS objects that deletes removed, (bucket, key) each."""

    store: Store
    clock: Callable[[], float] = time.time
    removed: RemovedObjects = _ignore

    def __post_init__(self) -> None:
        files = FileActions(self.store, self.removed)
        jobs = JobActions(self.store, self.clock)
        templates = TemplateActions(self.store, self.clock)
        self.actions: dict[str, Callable[[Params], Body]] = {
            "ListLiveSnapshotFiles": files.list_files,
            "DeleteLiveSnapshotFiles": files.delete_files,
            "ListLiveSnapshotJobs": jobs.list_jobs,
            "GetLiveSnapshotJob": jobs.get_job,
            "SubmitLiveSnapshotJob": jobs.submit_job,
            "SendLiveSnapshotJobCommand": jobs.send_command,
            "CreateLiveSnapshotTemplate": templates.create_template,
            "GetLiveSnapshotTemplate": templates.get_template,
            "ListLiveSnapshotTemplates": templates.list_templates,
            "UpdateLiveSnapshotTemplate": templates.update_template,
            "DeleteLiveSnapshotTemplate": templates.delete_template,
        }

    def call(self, action: str, params: Params) -> Body:
        handler = self.actions.get(action)
        if handler is None:
            raise ServiceError(
                404, "InvalidAction.NotFound",
                f"Specified api {action!r} is not found, please check your url and method.",
            )
        return handler(params)

    def scope(self, params: Params) -> tuple[str | None, str | None]:
        """The job and the bucket a request is about, as far as its parameters tell."""
        job_id = params.get("JobId") or None
        if job_id is not None:
            job = self.store.job(job_id)
            return job_id, (job.bucket if job else None)
        try:
            output = json.loads(params.get("SnapshotOutput", ""))
        except json.JSONDecodeError:
            return None, None
        bucket = output.get("Bucket") if isinstance(output, dict) else None
        return None, (bucket if isinstance(bucket, str) else None)
