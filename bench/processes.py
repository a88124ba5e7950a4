"""What a measurement runs beside: the ICE emulator in a process of its own, and a meter of the
whole machine's CPU (Linux `/proc`; elsewhere the CPU figures are left out, not guessed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emulator.signing import AccessKey

ROOT = Path(__file__).resolve().parents[1]
# What `dev.py` gives the programs it runs: the function's code and the dev tools importable.
PYTHON_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
THROTTLED = "Throttling.User"
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class EmulatorGone(RuntimeError):
    """The emulator process ended before the measurement did."""


@dataclass(frozen=True)
class RunningEmulator:
    endpoint: str
    key: AccessKey
    process: subprocess.Popen[str]
    stderr: Path

    def calls(self) -> dict[str, dict[str, int]]:
        """Answers per action and code (`OK`, `Throttling.User`, ...), counted by the server."""
        self.check_alive()
        with urllib.request.urlopen(f"http://{self.endpoint}/_emulator/calls",
                                    timeout=10) as answer:
            calls: dict[str, dict[str, int]] = json.load(answer)["calls"]
        return calls

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise _gone(self.process, self.stderr, "ended during the run")

    def cpu_s(self) -> float | None:
        """CPU time the emulator process has used so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()
        # utime and stime are fields 14 and 15 of stat(5); 12 and 13 after the command name.
        return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


@contextmanager
def emulator_process(db: Path, *, caps: Mapping[str, float], latency_ms: float
                     ) -> Iterator[RunningEmulator]:
    """`dev.py emulator serve` on the database, with STS credentials, a cap per action and added
    latency, until the block ends. Its stderr goes to a file beside the database, so that if it
    ends early the error can say why."""
    command = [sys.executable, "-m", "emulator", "serve", "--db", str(db), "--sts",
               "--latency-ms", str(latency_ms),
               *(f"--qps={action}={cap:g}" for action, cap in caps.items())]
    errors = db.with_suffix(".emulator.log")
    with errors.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr,
                                   env=PYTHON_ENV, cwd=ROOT, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            raise _gone(process, errors, "did not start")
        started = json.loads(line)
        key = AccessKey(started["access_key_id"], started["access_key_secret"],
                        started["security_token"])
        yield RunningEmulator(started["endpoint"], key, process, errors)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _gone(process: subprocess.Popen[str], stderr: Path, what: str) -> EmulatorGone:
    lines = stderr.read_text(errors="replace").strip().splitlines()
    return EmulatorGone(f"the emulator {what} (exit {process.returncode}):"
                        f" {lines[-1] if lines else 'it said nothing'}")


def _machine_ticks() -> tuple[int, int] | None:
    """Busy and total CPU ticks of all cores since boot."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:9]]
    except OSError:
        return None
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


class MachineCpu:
    """How busy all the cores were since it was made: this run's processes and everyone else's."""

    def __init__(self) -> None:
        self._start = _machine_ticks()

    def busy(self) -> tuple[float, float] | None:
        """Busy CPU seconds (all cores) and the busy share of all the cores' time."""
        now = _machine_ticks()
        if now is None or self._start is None or now[1] == self._start[1]:
            return None
        busy, total = now[0] - self._start[0], now[1] - self._start[1]
        return busy / TICKS_PER_S, busy / total

