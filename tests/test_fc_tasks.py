"""The FC endpoint's async task queue on a clock the tests set: order, FC's retry delays, expiry
of old events; and the checks a function's configuration must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.fc import FunctionConfig, TaskStatus
from emulator.fc.api import valid_task_id
from emulator.fc.tasks import DuplicateTask, FunctionError, Outcome, TaskBook

HERE = Path(__file__).resolve().parent
TASK_ID_FIRST = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
TASK_ID_REST = TASK_ID_FIRST | set("0123456789-")


def config(**overrides: Any) -> FunctionConfig:
    return FunctionConfig(**{"name": "f", "code_paths": (HERE,), **overrides})


def failed(log: str = "") -> Outcome:
    return Outcome(b"", FunctionError("boom", "RuntimeError"), log, "c-1")


def succeeded(body: bytes = b'{"ok": true}') -> Outcome:
    return Outcome(body, None, "done\n", "c-1")


def taken(book: TaskBook, function: FunctionConfig, now: float) -> str:
    """The id of the task the book starts now; fails if there is none."""
    task = book.take(function, now)
    assert task is not None
    return task.task_id


@given(first_delay=st.floats(min_value=0.0, max_value=5.0), retries=st.integers(0, 8),
       submitted=st.floats(min_value=0.0, max_value=1e9))
def test_failed_attempts_are_retried_after_fcs_doubling_delays_until_the_retries_run_out(
    first_delay: float, retries: int, submitted: float,
) -> None:
    function = config(retry_delay_s=first_delay, max_async_retry_attempts=retries,
                      max_async_event_age_s=604_800.0)
    book = TaskBook()
    book.submit("f", "t", b"{}", "req", submitted)
    now = submitted
    for attempt in range(1, retries + 2):
        assert taken(book, function, now) == "t"
        book.finish(function, "t", failed(f"attempt {attempt}"), now)
        ready_at = book.next_ready_at({"f"})
        if attempt <= retries:
            assert ready_at == now + first_delay * 2.0 ** (attempt - 1)
            if ready_at > now:
                assert book.take(function, now) is None
            now = ready_at
        else:
            assert ready_at is None

    task = book.get("f", "t")
    assert task is not None
    assert (task.status, task.attempts, task.error) == (TaskStatus.FAILED, retries + 1,
                                                        "RuntimeError: boom")
    assert task.logs == tuple(f"attempt {n}" for n in range(1, retries + 2))
    assert book.active() == 0


def test_fcs_default_schedule_is_half_a_second_then_doubling() -> None:
    function = config()
    book = TaskBook()
    book.submit("f", "t", b"{}", "req", 100.0)
    waits = []
    now = 100.0
    for _ in range(3):
        book.take(function, now)
        book.finish(function, "t", failed(), now)
        ready_at = book.next_ready_at({"f"})
        assert ready_at is not None
        waits.append(ready_at - now)
        now = ready_at
    assert waits == [0.5, 1.0, 2.0]


def test_ready_tasks_run_oldest_first_and_a_retry_waits_its_turn() -> None:
    function = config(retry_delay_s=1.0)
    book = TaskBook()
    book.submit("f", "a", b"", "r1", 10.0)
    book.submit("f", "b", b"", "r2", 10.5)
    assert taken(book, function, 11.0) == "a"
    book.finish(function, "a", failed(), 11.0)  # "a" is ready again at 12.0
    book.submit("f", "c", b"", "r3", 11.5)

    order = []
    while (task := book.take(function, 12.0)) is not None:
        order.append(task.task_id)
    assert order == ["b", "c", "a"]


def test_an_event_older_than_the_maximum_age_expires_without_running() -> None:
    function = config(max_async_event_age_s=60.0, retry_delay_s=50.0)
    book = TaskBook()
    book.submit("f", "waited", b"", "r1", 0.0)
    book.submit("f", "retried", b"", "r2", 30.0)
    assert taken(book, function, 61.0) == "retried"
    book.finish(function, "retried", failed(), 61.0)  # ready again at 111.0, 81 s old then

    assert book.take(function, 111.0) is None
    for task in book.tasks():
        assert task.status is TaskStatus.EXPIRED
        assert task.error == ("the event is older than max_async_event_age_s (60 s) and was"
                              " dropped")
    assert [task.attempts for task in book.tasks()] == [0, 1]
    assert book.active() == 0


def test_a_task_id_is_taken_for_good_and_a_success_keeps_the_parsed_result() -> None:
    function = config()
    book = TaskBook()
    book.submit("f", "t", b"{}", "req", 0.0)
    book.take(function, 0.0)
    book.finish(function, "t", succeeded(), 1.0)

    with pytest.raises(DuplicateTask):
        book.submit("f", "t", b"{}", "req-2", 2.0)
    book.submit("g", "t", b"{}", "req-3", 2.0)  # another function's ids are its own
    task = book.get("f", "t")
    assert task is not None
    assert (task.status, task.result, task.logs, task.started_at, task.ended_at) == (
        TaskStatus.SUCCEEDED, {"ok": True}, ("done\n",), 0.0, 1.0)


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,127}", fullmatch=True))
def test_task_ids_of_fcs_form_are_valid(task_id: str) -> None:
    assert valid_task_id(task_id)


@given(st.text(max_size=140))
def test_a_task_id_is_valid_exactly_when_it_follows_fcs_rule(task_id: str) -> None:
    expected = (0 < len(task_id) <= 128 and task_id[0] in TASK_ID_FIRST
                and set(task_id) <= TASK_ID_REST)
    assert valid_task_id(task_id) == expected


@pytest.mark.parametrize(("field", "value", "complaint"), [
    ("name", "9lives", "name: use letters"),
    ("handler", "index", "handler 'index': use module.function"),
    ("code_paths", (HERE / "no-such-dir",), "code_paths: no such directory"),
    ("runtime", "python3.8", "runtime 'python3.8': one of python3.10, python3.12, python3.9"),
    ("instances", 0, "instances 0: at least 1"),
    ("max_async_retry_attempts", 9, "max_async_retry_attempts 9: 0..8"),
    ("max_async_event_age_s", 604_801.0, "max_async_event_age_s 604801.0: more than 0"),
    ("timeout_s", 0.0, "timeout_s 0.0: more than 0, at most 86400"),
    ("environment", {"FC_REGION": "x"}, "names starting FC_ are reserved by Function Compute"),
    ("environment", {"BIG": "x" * 4094}, "environment: 4097 bytes of names and values;"
                                         " Function Compute allows 4096 in all"),
])
def test_a_configuration_fc_would_refuse_is_refused_naming_the_field(
    field: str, value: Any, complaint: str,
) -> None:
    with pytest.raises(ValueError) as refused:
        config(**{field: value})
    assert str(refused.value).startswith("FunctionConfig(")
    assert complaint in str(refused.value)


def test_seconds_given_as_whole_numbers_are_taken_as_seconds() -> None:
    config = FunctionConfig(name="f", code_paths=(Path("."),), timeout_s=8, retry_delay_s=1,
                            max_async_event_age_s=60)

    seconds = (config.timeout_s, config.retry_delay_s, config.max_async_event_age_s)
    assert seconds == (8.0, 1.0, 60.0) and all(isinstance(value, float) for value in seconds)
