"""The cursor: what it carries survives the trip, damage is refused, and its size is bounded by
the request's own limits, never by how long a run's windows are."""

from __future__ import annotations

import random
import string

import pytest
from emulator_support import NOW_MS
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_purge import cursor
from snapshot_purge.cursor import Remainder
from snapshot_purge.errors import BadRequest
from snapshot_purge.events import MAX_EXPLICIT_JOBS, MAX_EXPLICIT_TIMESTAMPS, MIN_TIMESTAMP_MS
from snapshot_purge.jobs import JobSelection, PendingJobs
from snapshot_purge.model import DAY_MS, JobWork, RunIdentity
from snapshot_purge.plan import RangePolicy, RetentionPolicy
from snapshot_purge.rules import RetentionRule

FC_ASYNC_PAYLOAD_LIMIT = 128 * 1024
BASE64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"

job_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
spans = st.tuples(st.integers(0, 10**13), st.integers(1, 10**11)).map(lambda s: (s[0], s[0] + s[1]))
works = st.builds(
    JobWork,
    job_id=job_ids,
    delete_original_file=st.booleans(),
    ranges=st.lists(spans, max_size=4).map(tuple),
    timestamps=st.lists(st.integers(MIN_TIMESTAMP_MS, 10**13 - 1), unique=True, max_size=50)
    .map(lambda stamps: tuple(sorted(stamps))),
    only_objects=st.none() | st.frozensets(st.text(min_size=1, max_size=40), max_size=5),
    rule=st.none() | st.text(min_size=1, max_size=20),
)
days = st.floats(0.01, 36_500)
rules = st.builds(RetentionRule, JobName=st.text(min_size=1, max_size=20), RetentionDays=days,
                  DeleteOriginalFile=st.none() | st.booleans())
policies = st.builds(
    RetentionPolicy, as_of_ms=st.integers(0, 10**13), retention_days=days, lookback_days=days,
    delete_original_file=st.booleans(), rules=st.lists(rules, max_size=3).map(tuple),
) | st.builds(RangePolicy, st.integers(0, 10**12), st.integers(10**12, 10**13), st.booleans())
selections = st.builds(
    JobSelection,
    job_ids=st.none() | st.lists(job_ids, max_size=5).map(tuple),
    keyword=st.none() | st.text(min_size=1, max_size=10),
    status=st.none() | st.sampled_from(["init", "paused", "started"]),
    exclude=st.frozensets(job_ids, max_size=3),
    discovery_days=st.floats(1, 5000),
    after=st.none() | job_ids,
)
remainders = st.builds(
    Remainder,
    identity=st.builds(RunIdentity, st.text(min_size=1, max_size=60),
                       st.none() | st.integers(0, 10_000), st.integers(0, 100)),
    dry_run=st.booleans(),
    jobs=st.lists(works, max_size=5).map(tuple),
    pending=st.none() | st.builds(PendingJobs, selections, policies),
    qps_share=st.floats(0.0001, 1.0),
)


@settings(max_examples=300, deadline=None)
@given(remainders)
def test_a_cursor_decodes_to_exactly_what_was_encoded(remainder: Remainder) -> None:
    assert cursor.decode(cursor.encode(remainder)) == remainder


@settings(max_examples=100, deadline=None)
@given(remainders, st.data())
def test_a_cursor_cut_or_altered_in_copy_and_paste_is_refused_or_means_the_same(
        remainder: Remainder, data: st.DataObject) -> None:
    token = cursor.encode(remainder)
    cut = data.draw(st.integers(len(cursor.PREFIX) + 1, len(token) - 1))
    # Flip the top bit of one base64 digit: never one of the unused bits of the last digit.
    flipped = token[:cut] + BASE64[BASE64.index(token[cut]) ^ 32] + token[cut + 1:]

    with pytest.raises(BadRequest, match=r"^Cursor: is damaged"):
        cursor.decode(token[:cut])
    # Deflate ignores the padding bits after its end-of-block code, so a flip there is harmless:
    # the one acceptable outcome besides a refusal is the very same remainder.
    try:
        assert cursor.decode(flipped) == remainder
    except BadRequest as refused:
        assert str(refused).startswith("Cursor: is damaged")


def size(remainder: Remainder) -> int:
    return len(cursor.encode(remainder))


def test_a_ten_year_dry_run_leaves_one_range_per_job_not_a_slice_per_day() -> None:
    ten_years = (NOW_MS - 3650 * DAY_MS, NOW_MS)
    jobs = tuple(JobWork(f"{n:032x}", True, ranges=(ten_years,)) for n in range(3))

    assert size(Remainder(RunIdentity("r"), True, jobs)) < 400


def test_the_largest_explicit_list_fits_an_async_invocation_whatever_its_timestamps() -> None:
    rng = random.Random(7)
    everywhere = range(MIN_TIMESTAMP_MS, 10**13)
    worst_spread = tuple(sorted(rng.sample(everywhere, MAX_EXPLICIT_TIMESTAMPS)))
    work = JobWork("f" * 32, True, timestamps=worst_spread)

    assert size(Remainder(RunIdentity("r" * 60, 9_999, 99), False, (work,))) < 70 * 1024


def test_the_largest_job_list_fits_an_async_invocation_with_room_to_spare() -> None:
    rng = random.Random(7)
    ids = tuple(f"{rng.getrandbits(128):032x}" for _ in range(MAX_EXPLICIT_JOBS))
    rules = tuple(RetentionRule(JobName=f"{'x' * 120}{n}", RetentionDays=n + 1) for n in range(100))
    pending = PendingJobs(JobSelection(ids, exclude=frozenset(ids)),
                          RetentionPolicy(NOW_MS, 7, 2, True, rules))
    in_flight = tuple(
        JobWork(job_id, True, ranges=tuple((NOW_MS - d * DAY_MS, NOW_MS - d * DAY_MS + 1000)
                                           for d in range(1, 9)), rule="x" * 128)
        for job_id in ids[:32]
    )

    assert size(Remainder(RunIdentity("r" * 60, 9_999, 99), False, in_flight, pending)) < (
        FC_ASYNC_PAYLOAD_LIMIT // 2
    )
