"""The fast formatter writes exactly what Powertools' own formatter writes: same keys, same
order, same values, whatever the extra and appended keys."""

from __future__ import annotations

import inspect
import io
import itertools
import json
from typing import Any

from aws_lambda_powertools import Logger
from hypothesis import given, settings
from hypothesis import strategies as st

from snapshot_purge.logs import BatchLines, make_logger

_names = itertools.count()
values = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False) | st.lists(st.integers(), max_size=3)
keys = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda key: key not in {"message", "asctime", "args", "msg", "name", "exc_info", "level",
                            "location", "timestamp", "service", "module", "lineno", "created"}
    and key not in logging_attributes())
messages = st.sampled_from(["snapshot_file", "purge_summary", "bad_request", "1234", '{"a": 1}',
                            "true", "plain text", "naming", "", "Infinity"])


def logging_attributes() -> set[str]:
    import logging

    return set(logging.LogRecord("n", 20, "p", 1, "m", None, None).__dict__)


def line(logger: Logger, stream: io.StringIO, message: str, extra: dict[str, Any]) -> str:
    logger.info(message, extra=extra)
    return stream.getvalue().rstrip("\n").split("\n")[-1]


@settings(max_examples=300, deadline=None)
@given(extra=st.dictionaries(keys, values, max_size=6),
       appended=st.dictionaries(keys, values, max_size=4), message=messages)
def test_lines_equal_the_stock_formatters_whatever_the_keys(extra: dict[str, Any],
                                                            appended: dict[str, Any],
                                                            message: str) -> None:
    # Powertools sets a logger up once per service name: each of the two gets its own.
    stock_stream, fast_stream = io.StringIO(), io.StringIO()
    stock = Logger(service=f"stock-{next(_names)}", stream=stock_stream)
    fast = make_logger(f"fast-{next(_names)}", fast_stream)
    for logger in (stock, fast):
        logger.append_keys(**appended)

    stock_line, fast_line = line(stock, stock_stream, message, extra), \
        line(fast, fast_stream, message, extra)

    stock_log, fast_log = json.loads(stock_line), json.loads(fast_line)
    for varies in ("timestamp", "location", "service"):
        stock_log[varies] = fast_log[varies] = varies
    assert list(fast_log.items()) == list(stock_log.items())


def test_timestamp_and_location_are_formatted_as_powertools_does() -> None:
    stock_stream, fast_stream = io.StringIO(), io.StringIO()
    stock = Logger(service=f"same-{next(_names)}", stream=stock_stream)
    fast = make_logger(f"same-{next(_names)}", fast_stream)

    stock.info("snapshot_file")
    fast.info("snapshot_file")
    called_at = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]

    stock_log, fast_log = (json.loads(s.getvalue()) for s in (stock_stream, fast_stream))
    assert len(fast_log["timestamp"]) == len(stock_log["timestamp"])
    assert fast_log["timestamp"][:16] == stock_log["timestamp"][:16]
    assert fast_log["timestamp"][-5:] == stock_log["timestamp"][-5:]
    assert fast_log["location"] == (
        f"test_timestamp_and_location_are_formatted_as_powertools_does:{called_at}"
    )
    assert stock_log["location"] == fast_log["location"].replace(
        str(called_at), str(called_at - 1))


def test_an_exception_is_logged_with_its_traceback_as_powertools_logs_it() -> None:
    stream = io.StringIO()
    logger = make_logger(f"same-{next(_names)}", stream)

    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"job_id": "j"})

    log = json.loads(stream.getvalue())
    assert log["exception_name"] == "ValueError" and "boom" in log["exception"]
    assert log["job_id"] == "j" and log["level"] == "ERROR"


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(st.dictionaries(keys, values, max_size=6), min_size=1, max_size=5),
       appended=st.dictionaries(keys, values, max_size=4))
def test_a_batch_writes_the_lines_logger_info_writes(batch: list[dict[str, Any]],
                                                     appended: dict[str, Any]) -> None:
    one_by_one, batched = io.StringIO(), io.StringIO()
    single = make_logger(f"single-{next(_names)}", one_by_one)
    together = make_logger(f"batch-{next(_names)}", batched)
    for logger in (single, together):
        logger.append_keys(**appended)

    for fields in batch:
        single.info("snapshot_file", extra=fields)
    BatchLines(together, "snapshot_file", ("report.py", 7, "files")).write(batch)

    expected = [json.loads(line) for line in one_by_one.getvalue().rstrip("\n").split("\n")]
    written = [json.loads(line) for line in batched.getvalue().rstrip("\n").split("\n")]
    assert [line["location"] for line in written] == ["files:7"] * len(batch)
    for log in expected + written:
        for varies in ("timestamp", "location", "service"):
            log[varies] = varies
    assert [list(log.items()) for log in written] == [list(log.items()) for log in expected]
