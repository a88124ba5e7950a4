#!/usr/bin/env python3
"""One entry point for every developer task; needs nothing but Python 3.10+.

    python3 dev.py demo      set up, start the seeded emulator, run the sample timer sweep
    python3 dev.py test      set up, then ruff, mypy and the whole test suite
    python3 dev.py invoke    run the handler on an event file (see --help)
    python3 dev.py emulator  run the local ICE emulator (see --help)
    python3 dev.py bench     run the benchmark (see --help)
    python3 dev.py package   build the Function Compute code package (see --help)

Setup is implicit: a virtual environment in .venv with the pinned requirements, rebuilt only when
the requirement files change.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = (ROOT / "requirements.txt", ROOT / "requirements-dev.txt")
STAMP = VENV / ".requirements.sha256"

COMMANDS: dict[str, list[str]] = {
    "demo": ["-m", "devtools.demo"],
    "invoke": ["-m", "devtools.invoke"],
    "emulator": ["-m", "emulator"],
    "bench": ["-m", "bench"],
    "package": ["-m", "devtools.package"],
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    python = venv_python()
    wanted = requirements_digest()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return python
    if not python.exists():
        print(f"dev.py: creating {VENV.name}/", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("dev.py: installing pinned requirements", file=sys.stderr)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check",
         "-r", str(ROOT / "requirements-dev.txt")],
        check=True,
    )
    STAMP.write_text(wanted + "\n")
    return python


def run(python: Path, args: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    child = subprocess.Popen([str(python), *args], cwd=ROOT, env=env)
    # SIGTERM would end dev.py alone and leave the child running (an emulator keeping its port):
    # pass it on. Ctrl-C reaches the child by itself (the terminal signals the whole group).
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_tests(python: Path, pytest_args: list[str]) -> int:
    checks = [
        ["-m", "ruff", "check", "."],
        ["-m", "mypy"],
        ["-m", "pytest", *pytest_args],
    ]
    for check in checks:
        print(f"dev.py: {' '.join(check[1:3])}", file=sys.stderr, flush=True)
        code = run(python, check)
        if code != 0:
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command != "setup" and command != "test" and command not in COMMANDS:
        print(f"dev.py: unknown command {command!r}; try: setup, {', '.join(['test', *COMMANDS])}",
              file=sys.stderr)
        return 2
    python = ensure_venv()
    if command == "setup":
        return 0
    if command == "test":
        return run_tests(python, rest)
    return run(python, [*COMMANDS[command], *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
