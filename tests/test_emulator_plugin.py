"""The pytest plugin other projects load: its fixtures give a running emulator and an SDK client
for it, in a test suite of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A_PROJECTS_TESTS = '''
from alibabacloud_ice20201109 import models as ice

from emulator.seed import seed


def test_an_empty_emulator_has_no_jobs(ice_client):
    answer = ice_client.list_live_snapshot_jobs(ice.ListLiveSnapshotJobsRequest())
    assert answer.body.total_count == 0


def test_seeded_jobs_are_listed(ice_emulator, ice_client):
    seed(ice_emulator.store, jobs=["cam-1", "cam-2"], interval_s=600, days=1)
    answer = ice_client.list_live_snapshot_jobs(ice.ListLiveSnapshotJobsRequest())
    assert sorted(job.job_id for job in answer.body.job_list) == ["cam-1", "cam-2"]
'''


def test_the_plugin_fixtures_work_in_another_projects_tests(tmp_path: Path) -> None:
    (tmp_path / "test_with_emulator.py").write_text(A_PROJECTS_TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "emulator.pytest_plugin", "-p", "no:cacheprovider",
         "-q", "test_with_emulator.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
