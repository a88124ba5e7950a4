"""`dev.py invoke`: every sample runs its own path against an emulator seeded for it, and a
mistake is one line and an exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.invoke import main

ROOT = Path(__file__).resolve().parents[1]
# What each sample must show: the result its way in produces, and how many files at least.
SAMPLE_PATHS = {
    "timer.json": ("OK", 3 * 576),
    "oss-created.json": ("OK", 576),
    "oss-removed.json": ("OK", 1),
    "oss-batch-removed.json": ("OK", 3),
    "eventbridge-oss-removed.json": ("OK", 1),
    "manual-explicit.json": ("OK", 2),
    "manual-range.json": ("OK", 2 * 288),
    "manual-dry-run.json": ("DryRun", 3 * (7 * 288 - 1)),  # a window between grid points
}


def summaries(stderr: str) -> list[dict[str, Any]]:
    decoder, found, at = json.JSONDecoder(), [], stderr.find("\n{")
    while at != -1:
        summary, end = decoder.raw_decode(stderr, at + 1)
        found.append(summary)
        at = stderr.find("\n{", end)
    return found


@pytest.mark.parametrize(("sample", "expected"), sorted(SAMPLE_PATHS.items()))
def test_every_sample_shows_its_path_working(sample: str, expected: tuple[str, int],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(ROOT / "events" / sample), "--emulator"])

    out, err = capsys.readouterr()
    (summary,) = summaries(err)
    result, at_least = expected
    assert code == 0, err
    assert summary["files"][result] >= at_least and summary["complete"] is True
    assert err.startswith("Seeding the ICE emulator for the event ...\n"
                          "Seeded the ICE emulator for the event:")
    lines = [json.loads(line) for line in out.splitlines()]
    assert sum(line["message"] == "snapshot_file" for line in lines) == summary["files_total"]


def test_a_removal_event_drops_exactly_the_record_of_the_removed_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = json.loads((ROOT / "events" / "oss-removed.json").read_text())
    key = event["events"][0]["oss"]["object"]["key"]

    assert main([str(ROOT / "events" / "oss-removed.json"), "--emulator"]) == 0

    out, _ = capsys.readouterr()
    (line,) = [json.loads(line) for line in out.splitlines()
               if json.loads(line)["message"] == "snapshot_file"]
    assert (line["oss_object"], line["result"], line["delete_original_file"]) == (key, "OK", False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["events/none.json", "--emulator"], "events/none.json: No such file or directory"),
        (["events/timer.json", "--emulator", "--interval", "1"],
         "argument --interval: 1 must be seconds from 5 to 3600"),
        (["events/timer.json", "--emulator", "--days", "-1"],
         "argument --days: -1 must be a number of days from 0.01 to 3650"),
        (["events/timer.json", "--fanout"], "--fanout runs on the local FC endpoint"),
        (["events/timer.json", "--emulator", "--env", "RETENTION_DAYS"],
         "--env 'RETENTION_DAYS': use NAME=VALUE"),
    ],
)
def test_a_mistake_is_one_line_and_exit_code_2(argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    with pytest.raises(SystemExit) as exited:
        main(argv)

    _, err = capsys.readouterr()
    assert exited.value.code == 2
    assert message in err and "Traceback" not in err


def test_an_invalid_event_is_refused_with_its_field_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"JobId": "j", "RetentionDays": "seven"}')

    code = main([str(bad), "--emulator"])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "dev.py invoke: RetentionDays: Input should be a valid number (nothing was deleted)")


def test_a_run_that_leaves_work_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(ROOT / "events" / "timer.json"), "--emulator", "--env",
                 "SNAPSHOT_JOB_IDS=ffffffffffffffffffffffffffffffff"])

    _, err = capsys.readouterr()
    (summary,) = summaries(err)
    assert code == 1 and summary["jobs_not_found"] == ["f" * 32]
