"""The emulator's command line as a person meets it: wrong values are one line and exit code 2,
seeding says what it does first, `serve` prints a command that finds every seeded job, and
SIGTERM or SIGINT stops it and frees the port (also when started through dev.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alibabacloud_ice20201109 import models as ice
from alibabacloud_ice20201109.client import Client
from alibabacloud_tea_openapi.utils_models import Config

from emulator.cli import main
from emulator.cli_serve import invoke_hint
from emulator.seed import seed
from emulator.server import Emulator
from emulator.store import Store

ROOT = Path(__file__).resolve().parents[1]
STOP_WAIT_S = 60  # at most; a clean stop takes a fraction of a second


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused command prints, having checked the exit code."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(("argv", "line"), [
    (["serve", "--interval", "1"], "ice-emulator serve: argument --interval: 1 s is outside"
                                   " ICE's snapshot intervals, 5..3600 s (see --help)"),
    (["seed", "--db", "x.db", "--days", "-1"],
     "ice-emulator seed: argument --days: -1 must be a number of days above 0 (see --help)"),
    (["serve", "--days", "nan"], "ice-emulator serve: argument --days: 'nan' is not a number"
                                 " (see --help)"),
    (["serve", "--jobs", "-3"], "ice-emulator serve: argument --jobs: -3 must not be negative"
                                " (see --help)"),
    (["serve", "--live", "0"], "ice-emulator serve: argument --live: 0 must be above 0"
                               " (1: real time) (see --help)"),
    (["serve", "--deny", "DeleteLiveSnapshotFiles=Nope"],
     "ice-emulator serve: argument --deny: denial code 'Nope': use one of Forbidden,"
     " BucketNotAuthorized, OperationDenied, UserDisable (see --help)"),
    (["serve", "--error-rate", "2"],
     "ice-emulator: fault options: error_rate 2.0 must be between 0 and 1"),
    (["state", "--db", "no-such.db"], "ice-emulator state: argument --db: no-such.db: no such"
                                      " file; create it with `seed --db no-such.db` (see --help)"),
])
def test_wrong_values_are_one_line_naming_the_flag(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert refusal(argv, capsys) == line
    assert list(tmp_path.iterdir()) == []


def test_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        line = refusal(["serve", "--port", str(port), "--jobs", "1"], capsys)

    assert line == (f"ice-emulator: cannot listen on 127.0.0.1:{port} (Address already in use):"
                    " choose another --port, or 0 for a free one")


def test_an_unreachable_endpoint_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()

    line = refusal(["state", "--endpoint", f"127.0.0.1:{port}"], capsys)

    assert line == (f"ice-emulator: --endpoint 127.0.0.1:{port}: no emulator answered ([Errno"
                    " 111] Connection refused); start one with `serve` and use the endpoint it"
                    " prints")


def test_seeding_says_what_it_will_do_before_doing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ice.db"

    assert main(["seed", "--db", str(db), "--jobs", "2", "--days", "1", "--interval", "600"]) == 0

    first, second = capsys.readouterr().err.splitlines()
    assert first == "seeding 2 jobs x 1 day at 600 s: ~288 records ..."
    assert second.startswith("seeded 2 job(s), 290 records in ")
    assert Store(db).count_records() == 290


def key_old(emulator: Emulator) -> str:
    return f"--access-key-secret {emulator.credentials.access_key_secret}"


def test_the_printed_command_finds_every_job_even_older_than_the_default_discovery() -> None:
    store = Store()
    seed(store, jobs=1, interval_s=3600, days=1)
    recent = Emulator(store)
    store_old = Store()
    seed(store_old, jobs=1, interval_s=3600, days=500)
    old = Emulator(store_old)
    try:
        key = recent.credentials
        assert invoke_hint(recent) == (
            f"python3 dev.py invoke events/manual-dry-run.json --endpoint {recent.endpoint}"
            f" --access-key-id {key.access_key_id} --access-key-secret {key.access_key_secret}")
        assert invoke_hint(old).endswith(f" {key_old(old)} --env JOB_DISCOVERY_DAYS=501")
    finally:
        recent.stop()
        old.stop()


# --- A served emulator, stopped by a signal -----------------------------------------------------


@contextmanager
def serving(command: list[str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """A `serve` started as a person would, and the JSON line it printed once listening."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    process = subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        yield process, ready
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def port_is_free(endpoint: str) -> bool:
    host, port = endpoint.rsplit(":", 1)
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_a_working_command_and_a_signal_stops_it_and_frees_the_port(
    stop_with: signal.Signals,
) -> None:
    with serving([sys.executable, "-m", "emulator", "serve", "--jobs", "2", "--days", "1",
                  "--interval", "600"]) as (process, ready):
        endpoint = ready["endpoint"]
        client = Client(Config(endpoint=endpoint, protocol="http", region_id="cn-shanghai",
                               access_key_id=ready["access_key_id"],
                               access_key_secret=ready["access_key_secret"]))
        emulator_jobs = client.list_live_snapshot_jobs(
            ice.ListLiveSnapshotJobsRequest(page_size=100)).body.job_list

        process.send_signal(stop_with)
        _, err = process.communicate(timeout=STOP_WAIT_S)

    assert process.returncode == 0
    lines = err.splitlines()
    assert lines[0] == "seeding 2 jobs x 1 day at 600 s: ~288 records ..."
    assert lines[3] == "Point the function at it:"
    assert lines[4] == (
        f"  python3 dev.py invoke events/manual-dry-run.json --endpoint {endpoint}"
        f" --access-key-id {ready['access_key_id']} --access-key-secret"
        f" {ready['access_key_secret']}")
    assert lines[-1] == "ICE emulator stopped"
    assert len(emulator_jobs) == 2, "the seeded jobs are found in the last week's creation window"
    assert port_is_free(endpoint)


def test_sigterm_to_dev_py_stops_the_emulator_it_started() -> None:
    with serving([sys.executable, "dev.py", "emulator", "serve", "--jobs", "1", "--days", "1",
                  "--interval", "3600"]) as (process, ready):
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=STOP_WAIT_S)

    assert process.returncode == 0
    assert err.splitlines()[-1] == "ICE emulator stopped"
    assert port_is_free(ready["endpoint"])
