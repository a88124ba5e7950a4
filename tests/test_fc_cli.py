"""The FC endpoint's command (`dev.py emulator fc`): one JSON line
to script against, the function's environment from the flags, and one-line refusals of bad ones."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fc_support import PROBE, PROBE_CODE, ROOT, fc_client, sync_result

from emulator.signing import AccessKey

COMMAND = [sys.executable, str(ROOT / "dev.py"), "emulator", "fc"]
PROBE_FLAGS = ["--function", PROBE, "--handler", "probe.handler", "--code-path", str(PROBE_CODE)]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


@contextmanager
def serving(*flags: str) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    """The command running; what it printed on its first line."""
    process = subprocess.Popen([*COMMAND, *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment(), cwd=ROOT)
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline()), process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_it_prints_endpoint_and_keys_and_serves_the_function_with_the_given_environment(
) -> None:
    key = AccessKey.generate(sts=True)
    with serving(*PROBE_FLAGS, "--ice-endpoint", "127.0.0.1:9", "--env", "GREETING=hi there",
                 "--access-key-id", key.access_key_id,
                 "--access-key-secret", key.access_key_secret,
                 "--security-token", str(key.security_token)) as (started, process):
        result = sync_result(fc_client(started["endpoint"], key), {"do": "echo"})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    assert started == {"endpoint": started["endpoint"], "function": PROBE,
                       "access_key_id": key.access_key_id,
                       "access_key_secret": key.access_key_secret,
                       "security_token": key.security_token}
    assert {name: result["environment"][name] for name in
            ("GREETING", "ICE_ENDPOINT", "FANOUT_ENDPOINT")} == {
        "GREETING": "hi there", "ICE_ENDPOINT": "127.0.0.1:9",
        "FANOUT_ENDPOINT": started["endpoint"]}
    assert result["credentials"]["access_key_id"] == key.access_key_id


def test_without_keys_it_makes_sts_style_ones_and_accepts_only_those() -> None:
    with serving(*PROBE_FLAGS) as (started, _):
        key = AccessKey(started["access_key_id"], started["access_key_secret"],
                        started["security_token"])
        result = sync_result(fc_client(started["endpoint"], key), {"do": "echo"})

    assert key.security_token
    assert result["credentials"]["security_token"] == key.security_token


def refusal(*flags: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a run that should stop at once."""
    done = subprocess.run([*COMMAND, *flags], capture_output=True, text=True, env=environment(),
                          cwd=ROOT, timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--env", "NO_EQUALS_SIGN"], "--env 'NO_EQUALS_SIGN': use NAME=VALUE"),
    (["--env", "FC_REGION=x"], "names starting FC_ are reserved by Function Compute"),
    (["--max-async-retry-attempts", "9"], "max_async_retry_attempts 9: 0..8"),
    (["--access-key-id", "only-the-id"], "give both --access-key-id and --access-key-secret"),
    (["--code-path", "/no/such/dir"], "code_paths: no such directory: /no/such/dir"),
    (["--port", "70000"], "argument --port: 70000 is not a TCP port"),
    (["--timeout", "nan"], "timeout_s nan: more than 0"),
])
def test_a_bad_flag_is_one_line_and_exit_code_2(flags: list[str], message: str) -> None:
    code, out, err = refusal(*flags)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("ice-emulator fc: ")
    assert message in err


def test_a_busy_port_is_one_line_and_exit_code_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, out, err = refusal("--port", str(taken.getsockname()[1]))
    assert (code, out) == (2, "")
    assert err.startswith("ice-emulator fc: cannot listen on 127.0.0.1:")
    assert err.count("\n") == 1
