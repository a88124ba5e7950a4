"""Which jobs a run covers: explicit ids, or every job in the region found by discovery.

Discovery walks `ListLiveSnapshotJobs` back in 30-day creation windows (the API's limit) to a
horizon, pages of 100, oldest first so that a job created meanwhile lands on a later page instead
of shifting the pages already read. Rules need job names: discovery has them; explicit ids get
them from `GetLiveSnapshotJob`, and only when rules are in play.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from snapshot_purge.errors import JobNotFound
from snapshot_purge.model import DAY_MS, JobInfo, JobWork
from snapshot_purge.plan import Policy

DISCOVERY_WINDOW_MS = 30 * DAY_MS
JOBS_PER_PAGE = 100


@dataclass(frozen=True)
class JobPage:
    jobs: tuple[JobInfo, ...]
    total_count: int


class JobsApi(Protocol):
    def list_jobs(
        self,
        start_ms: int,
        end_ms: int,
        page_no: int,
        page_size: int,
        keyword: str | None,
        status: str | None,
    ) -> JobPage: ...

    def get_job(self, job_id: str) -> JobInfo: ...


@dataclass(frozen=True)
class JobSelection:
    """`job_ids` None means every job in the region (`"JobIds": "*"`), narrowed by the rest.

    `after` is set in a cursor: the jobs up to that id (in id order) were taken by an earlier
    hop of the same run, which carries what it left of them itself.
    """

    job_ids: tuple[str, ...] | None
    keyword: str | None = None
    status: str | None = None
    exclude: frozenset[str] = field(default_factory=frozenset)
    discovery_days: float = 400.0
    after: str | None = None

    def wanted(self, job_id: str) -> bool:
        return job_id not in self.exclude and (self.after is None or job_id > self.after)


@dataclass(frozen=True)
class ResolvedJobs:
    work: tuple[JobWork, ...]
    not_found: tuple[JobNotFound, ...] = ()


def resolve(
    api: JobsApi,
    selection: JobSelection,
    policy: Policy,
    *,
    as_of_ms: int,
    concurrency: int,
) -> ResolvedJobs:
    """The selected jobs in id order, each with its window from the policy."""
    if selection.job_ids is None:
        jobs = discover(api, selection, as_of_ms=as_of_ms, concurrency=concurrency)
        work = tuple(policy.work_for(job.job_id, job.job_name) for job in jobs)
        return ResolvedJobs(work)
    ids = sorted(job_id for job_id in selection.job_ids if selection.wanted(job_id))
    if not policy.needs_job_names:
        return ResolvedJobs(tuple(policy.work_for(job_id, None) for job_id in ids))
    named, missing = _get_all(api.get_job, ids, concurrency)
    work = tuple(policy.work_for(job.job_id, job.job_name) for job in named)
    return ResolvedJobs(work, missing)


def discover(
    api: JobsApi, selection: JobSelection, *, as_of_ms: int, concurrency: int
) -> list[JobInfo]:
    horizon = as_of_ms - round(selection.discovery_days * DAY_MS)
    windows = list(_creation_windows(horizon, as_of_ms))
    found: dict[str, JobInfo] = {}
    with ThreadPoolExecutor(min(concurrency, len(windows)), "discover") as pool:
        for jobs in pool.map(lambda window: list(_jobs_in(api, window, selection)), windows):
            for job in jobs:
                found.setdefault(job.job_id, job)
    return sorted(
        (job for job in found.values() if selection.wanted(job.job_id)), key=lambda j: j.job_id
    )


def _creation_windows(horizon: int, end: int) -> Iterator[tuple[int, int]]:
    """Windows of at most 30 days from `end` back to `horizon`. They touch: a job created on a
    boundary may come back twice, and is kept once."""
    while end > horizon:
        start = max(horizon, end - DISCOVERY_WINDOW_MS)
        yield start, end
        end = start


def _jobs_in(api: JobsApi, window: tuple[int, int], selection: JobSelection) -> Iterator[JobInfo]:
    page_no = 1
    while True:
        page = api.list_jobs(
            window[0], window[1], page_no, JOBS_PER_PAGE, selection.keyword, selection.status
        )
        yield from page.jobs
        if len(page.jobs) < JOBS_PER_PAGE or page_no * JOBS_PER_PAGE >= page.total_count:
            return
        page_no += 1


def _get_all(
    get: Callable[[str], JobInfo], ids: Iterable[str], concurrency: int
) -> tuple[list[JobInfo], tuple[JobNotFound, ...]]:
    def attempt(job_id: str) -> JobInfo | JobNotFound:
        try:
            return get(job_id)
        except JobNotFound as missing:
            return missing

    ids = list(ids)
    if not ids:
        return [], ()
    with ThreadPoolExecutor(min(concurrency, len(ids)), "get-job") as pool:
        answers = list(pool.map(attempt, ids))
    return (
        [a for a in answers if isinstance(a, JobInfo)],
        tuple(a for a in answers if isinstance(a, JobNotFound)),
    )


@dataclass(frozen=True)
class PendingJobs:
    """Jobs still to be found (discovery) or named (rules), and the policy that sets their
    windows: a plan's selected jobs before `resolve`, and a cursor's jobs not yet started."""

    selection: JobSelection
    policy: Policy
