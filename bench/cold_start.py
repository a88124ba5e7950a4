"""Cold start: what `import index` costs over the bare SDK client, in fresh interpreters.

The two imports take turns, each in a new interpreter, in pairs (which goes first alternates),
and the overhead is the median of the pairs' differences: a slow spell of the machine falls on
both halves of a pair alike, and on few pairs. Measured twice:
- from source: the development interpreter with src/ on the path, as `dev.py` runs it;
- from the package: the code package `dev.py package` builds (here into a temporary directory, so
  build/ is left alone), unpacked, imported by the runtime's python3.10 with `-I -S`: no site
  directory, no user paths, no PYTHON* variables, only the package and the standard library.
  `-I` ignores PYTHONPATH, so the timing code puts the directory first on `sys.path`, as Function
  Compute puts /code.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from bench.measure import GOALS
from bench.processes import PYTHON_ENV, ROOT
from devtools.package import PackageError, build, find_interpreter

SDK_MODULE = "alibabacloud_ice20201109.client"
HANDLER_MODULE = "index"
RUNTIME = "python3.10"


def _timing_code(module: str, path: str | None) -> str:
    prefix = "" if path is None else f"import sys; sys.path.insert(0, {path!r}); "
    return (f"{prefix}import time; t = time.perf_counter(); import {module}; "
            "print((time.perf_counter() - t) * 1000)")


def _import_ms(python: str, flags: list[str], module: str, path: str | None, cwd: Path,
               env: dict[str, str] | None) -> float:
    answer = subprocess.run([python, *flags, "-c", _timing_code(module, path)],
                            capture_output=True, text=True, check=True, cwd=cwd, env=env)
    return float(answer.stdout)


def _medians(python: str, flags: list[str], path: str | None, cwd: Path, repeats: int,
             env: dict[str, str] | None) -> dict[str, Any]:
    sdk, handler = [], []
    for pair in range(repeats):
        first, second = (SDK_MODULE, HANDLER_MODULE)[::1 if pair % 2 else -1]
        times = {module: _import_ms(python, flags, module, path, cwd, env)
                 for module in (first, second)}
        sdk.append(times[SDK_MODULE])
        handler.append(times[HANDLER_MODULE])
    overhead = statistics.median(h - s for h, s in zip(handler, sdk, strict=True))
    return {"sdk_ms": round(statistics.median(sdk), 1),
            "handler_ms": round(statistics.median(handler), 1),
            "overhead_ms": round(overhead, 1), "samples": repeats,
            "met": overhead <= GOALS.import_overhead_ms}


def from_source(repeats: int) -> dict[str, Any]:
    # Byte-compiled first, as the package is: with PYTHONDONTWRITEBYTECODE set, every sample
    # would otherwise compile src/ again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    return {"python": sys.version.split()[0],
            **_medians(sys.executable, [], None, ROOT, repeats, PYTHON_ENV)}


def from_package(repeats: int) -> dict[str, Any]:
    """Build the package, unpack it and time it; or say why it could not be built."""
    try:
        # The interpreter itself, not a pyenv shim: a shim's start-up would slow every sample.
        python, version = subprocess.run(
            [find_interpreter(RUNTIME), "-c", "import sys; print(sys.executable, sys.version)"],
            capture_output=True, text=True, check=True,
        ).stdout.split()[:2]
        with tempfile.TemporaryDirectory(prefix="bench-package-") as scratch:
            package = build(RUNTIME, out_dir=Path(scratch))
            unpacked = Path(scratch, "code")
            with zipfile.ZipFile(package.path) as archive:
                archive.extractall(unpacked)
            return {"python": version, "package_mb": round(package.zipped_bytes / 1e6, 1),
                    **_medians(python, ["-I", "-S"], str(unpacked), unpacked, repeats, None)}
    except PackageError as err:
        return {"error": f"the package could not be built: {err}"}
