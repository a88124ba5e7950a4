"""Object keys -> job and time window, through SNAPSHOT_KEY_PATTERN."""

from __future__ import annotations

import pytest

from snapshot_purge.errors import BadRequest
from snapshot_purge.keys import KEY_TIME_TOLERANCE_MS, KeyPattern
from snapshot_purge.model import DAY_MS

JOB = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def test_millisecond_key_pins_the_timestamp() -> None:
    found = KeyPattern("snapshots/{JobId}/{UnixTimestamp}.jpg").match(
        f"snapshots/{JOB}/1660638613798.jpg"
    )

    assert found is not None
    assert found.job_id == JOB
    assert found.create_timestamp == 1660638613798
    assert found.window_start_ms <= 1660638613798 < found.window_end_ms


def test_second_key_gives_a_window_around_that_second() -> None:
    found = KeyPattern("snapshots/{JobId}/{UnixTimestamp}.jpg").match(
        f"snapshots/{JOB}/1660638613.jpg"
    )

    assert found is not None
    assert found.create_timestamp is None
    assert found.window_start_ms == 1660638613000 - KEY_TIME_TOLERANCE_MS
    assert found.window_end_ms == 1660638614000 + KEY_TIME_TOLERANCE_MS


def test_date_key_gives_its_day_or_second() -> None:
    pattern = KeyPattern("live/{JobId}/{Date}/{Sequence}.jpg")

    day = pattern.match(f"live/{JOB}/2022-08-16/42.jpg")
    second = pattern.match(f"live/{JOB}/2022-08-16-08-30-13/42.jpg")

    assert day is not None and second is not None
    assert day.window_end_ms - day.window_start_ms == DAY_MS + 2 * KEY_TIME_TOLERANCE_MS
    assert second.window_start_ms == 1660638613000 - KEY_TIME_TOLERANCE_MS


def test_other_objects_and_overlay_files_do_not_match() -> None:
    pattern = KeyPattern("snapshots/{JobId}/{UnixTimestamp}.jpg")

    assert pattern.match("image/a.jpg") is None
    assert pattern.match(f"snapshots/{JOB}/overlay.jpg") is None
    assert pattern.match(f"snapshots/{JOB}/16606386137980.jpg") is None


def test_pattern_without_job_id_is_refused() -> None:
    with pytest.raises(BadRequest, match=r"SNAPSHOT_KEY_PATTERN: .* must contain"):
        KeyPattern("snapshots/{UnixTimestamp}.jpg")


def test_unknown_placeholder_is_refused() -> None:
    with pytest.raises(BadRequest, match="unknown placeholder"):
        KeyPattern("snapshots/{JobId}/{Time}.jpg")


def test_pattern_without_time_cannot_match_events() -> None:
    pattern = KeyPattern("snapshots/{JobId}/{Sequence}.jpg")

    with pytest.raises(BadRequest, match=r"neither \{UnixTimestamp\} nor \{Date\}"):
        pattern.match(f"snapshots/{JOB}/17.jpg")


def test_malformed_date_names_the_key() -> None:
    with pytest.raises(BadRequest, match=r"oss\.object\.key"):
        KeyPattern("live/{JobId}/{Date}.jpg").match(f"live/{JOB}/2022-08.jpg")
