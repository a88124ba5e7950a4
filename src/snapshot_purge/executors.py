"""What the delete stage does with a batch: delete it through ICE, or only report it (dry run).

The runner is the same for both; a dry run is this executor, not a flag checked everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from snapshot_purge.errors import ApiFailure, JobNotFound, PermissionDenied
from snapshot_purge.ice import DeleteAnswer
from snapshot_purge.model import FileOutcome, Result, SnapshotFile


class DeleteExecutor(Protocol):
    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]: ...


class DryRunExecutor:
    """Reports what would be deleted; makes no delete call."""

    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]:
        return [FileOutcome(file, Result.DRY_RUN, delete_original_file) for file in files]


class DeletingApi(Protocol):
    def delete_files(
        self, job_id: str, timestamps: list[int], delete_original_file: bool
    ) -> DeleteAnswer: ...


@dataclass
class ApiDeleteExecutor:
    """Deletes through ICE and maps every answer to per-file results.

    `OverlayNotSupported` fails a whole request: the batch is split in halves until the overlay
    file is alone, so every other file is still deleted. `JobNotFound`, `PermissionDenied` and
    `DeadlineReached` go up to the runner, which knows what they mean for the rest of the run.
    """

    api: DeletingApi

    def delete(
        self, job_id: str, files: list[SnapshotFile], delete_original_file: bool
    ) -> list[FileOutcome]:
        try:
            answer = self.api.delete_files(
                job_id, [file.create_timestamp for file in files], delete_original_file
            )
        except (JobNotFound, PermissionDenied):
            raise
        except ApiFailure as failure:
            return self._whole_request_failed(job_id, files, delete_original_file, failure)
        gone_reason = "AlreadyGoneAfterRetry" if answer.retried_after_lost_answer else None
        outcomes = []
        for file in files:
            answered = answer.results.get(file.create_timestamp)
            result, reason = {
                "OK": (Result.OK, None),
                "NotFound": (Result.NOT_FOUND, gone_reason),
            }.get(answered or "", (Result.FAILED, answered or "NoResultForFile"))
            outcomes.append(
                FileOutcome(file, result, delete_original_file, reason, answer.request_id)
            )
        return outcomes

    def _whole_request_failed(
        self,
        job_id: str,
        files: list[SnapshotFile],
        delete_original_file: bool,
        failure: ApiFailure,
    ) -> list[FileOutcome]:
        if failure.code == "OverlayNotSupported" and len(files) > 1:
            middle = len(files) // 2
            return self.delete(job_id, files[:middle], delete_original_file) + self.delete(
                job_id, files[middle:], delete_original_file
            )
        result = {
            "NoValidSnapshot": Result.NOT_FOUND,
            "OverlayNotSupported": Result.SKIPPED,
        }.get(failure.code, Result.FAILED)
        return [
            FileOutcome(file, result, delete_original_file, failure.code, failure.request_id)
            for file in files
        ]

