"""The Function Compute code package: `python3 dev.py package [--runtime python3.10|python3.12]`.

Builds `build/function-<runtime>.zip`: `index.py` and `snapshot_purge` at the root, beside every
runtime dependency. Nothing else goes in: no dev tools, tests, emulator or bench.

- Dependencies come from `requirements.lock` (every package, transitive ones included, pinned
  with hashes), installed by uv as manylinux wheels for the runtime's Python, whatever Python
  runs the build. `alibabacloud-tea` exists only as an sdist: uv builds it into a wheel on the
  way, with the build backend pinned and hash-checked in `requirements-build.lock`.
- Everything is byte-compiled by the runtime's own interpreter (python3.10 or python3.12, found
  on PATH or under pyenv), with hash-based pyc files that stay valid whatever mtime the unpacked
  files get, and with the paths Function Compute runs them from (`/code`).
- The zip is deterministic: sorted entries, fixed timestamps and permissions. Building twice gives
  the same bytes.

`python3 dev.py package --lock` regenerates both lock files after requirements.txt changes.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
HANDLER_MODULE = "index.py"
PACKAGE = "snapshot_purge"
BUILD_DIR = ROOT / "build"
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"
BUILD_LOCK = ROOT / "requirements-build.lock"
# What builds the sdist-only dependency into a wheel; pinned so the wheel's metadata is stable.
BUILD_BACKEND = "setuptools==80.9.0"
SOURCE_ONLY = "alibabacloud-tea"
RUNTIMES = {"python3.10": "3.10", "python3.12": "3.12"}
DEFAULT_RUNTIME = "python3.10"
# Function Compute's Python runtimes run on Debian 10 (python3.10, glibc 2.28) and Debian 11
# (python3.12, glibc 2.31), x86_64: manylinux_2_28 wheels run on both.
PLATFORM = "x86_64-manylinux_2_28"
# Where Function Compute unpacks the code: tracebacks name files there.
CODE_ROOT = "/code"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
MB = 1_000_000
# FC 3.0 code package limits (shared/reference/FACTS.md): 500 MB unzipped in most regions
# through the console and tools, 100 MB elsewhere and for a zip sent inline through the API.
UNZIPPED_LIMIT_MB = 500
STRICT_LIMIT_MB = 100


class PackageError(Exception):
    """A build that cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Package:
    runtime: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    def size_report(self) -> str:
        unzipped_mb = self.unzipped_bytes / MB
        return (
            f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}: "
            f"{self.zipped_bytes / MB:.1f} MB zipped, {unzipped_mb:.1f} MB unzipped in "
            f"{self.files} files ({unzipped_mb / UNZIPPED_LIMIT_MB:.0%} of FC's "
            f"{UNZIPPED_LIMIT_MB} MB limit, {unzipped_mb / STRICT_LIMIT_MB:.0%} of the "
            f"{STRICT_LIMIT_MB} MB limit of some regions and of inline API uploads)"
        )


def python_version(runtime: str) -> str:
    try:
        return RUNTIMES[runtime]
    except KeyError:
        raise PackageError(
            f"--runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}"
        ) from None


def find_interpreter(runtime: str) -> Path:
    """The runtime's Python on this machine: `pythonX.Y` on PATH, else a pyenv installation.

    A pyenv shim on PATH fails when its version is not selected, so each candidate is asked for
    its version rather than trusted by name.
    """
    version = python_version(runtime)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    on_path = shutil.which(f"python{version}")
    installed = pyenv_root / "versions" / f"{version}.*" / "bin" / f"python{version}"
    candidates = ([on_path] if on_path else []) + sorted(glob.glob(str(installed)), reverse=True)
    for candidate in candidates:
        answer = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return Path(candidate)
    raise PackageError(
        f"no Python {version} for {runtime}: put python{version} on PATH or install it with "
        f"`pyenv install {version}` (looked on PATH and in {pyenv_root / 'versions'})"
    )


def run(command: list[str], *, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise PackageError(
            f"`{' '.join(command[:4])} ...` failed (exit {done.returncode}):\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )


def install_dependencies(target: Path, version: str) -> None:
    run([
        find_uv_bin(), "pip", "install", "--quiet",
        "--target", str(target),
        "--python-version", version,
        "--python-platform", PLATFORM,
        "--require-hashes", "--no-deps",
        # Wheels only, but for the one package published as an sdist alone.
        "--only-binary", ":all:", "--no-binary", SOURCE_ONLY,
        "--build-constraints", str(BUILD_LOCK),
        "--requirements", str(LOCK),
    ])
    # Console scripts, with the building interpreter's path in their first line, and uv's lock
    # on the target directory: nothing the handler uses.
    shutil.rmtree(target / "bin", ignore_errors=True)
    (target / ".lock").unlink(missing_ok=True)


def copy_handler(target: Path) -> None:
    shutil.copy2(SOURCE / HANDLER_MODULE, target / HANDLER_MODULE)
    shutil.copytree(
        SOURCE / PACKAGE, target / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )


def byte_compile(target: Path, interpreter: Path) -> None:
    # A fixed hash seed: the order of set constants in the marshalled code depends on it.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    run([
        str(interpreter), "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash",
        "-s", str(target), "-p", CODE_ROOT,
        str(target),
    ], env=env)


def write_zip(source: Path, destination: Path) -> tuple[int, int]:
    """Zip `source`'s files in sorted order with fixed metadata; the files and bytes written."""
    paths = sorted(
        path for path in source.rglob("*") if path.is_file()
    )
    unzipped = 0
    partial = destination.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in paths:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_TIME)
            entry.external_attr = FILE_MODE << 16
            entry.create_system = 3  # Unix, so that the mode above is what unzip applies
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(entry, data)
    partial.replace(destination)
    return len(paths), unzipped


def build(runtime: str, out_dir: Path = BUILD_DIR) -> Package:
    version = python_version(runtime)
    interpreter = find_interpreter(runtime)
    out_dir.mkdir(parents=True, exist_ok=True)
    destination = out_dir / f"function-{runtime}.zip"
    with tempfile.TemporaryDirectory(prefix=f"package-{runtime}-") as staging_dir:
        staging = Path(staging_dir)
        install_dependencies(staging, version)
        copy_handler(staging)
        byte_compile(staging, interpreter)
        files, unzipped = write_zip(staging, destination)
    return Package(runtime, destination, destination.stat().st_size, unzipped, files)


def lock() -> None:
    """Regenerate both lock files: one resolution for every supported Python (`--universal`)."""
    common = [
        find_uv_bin(), "pip", "compile", "--quiet", "--universal", "--generate-hashes",
        "--python-version", "3.10", "--custom-compile-command", "python3 dev.py package --lock",
    ]
    run([*common, REQUIREMENTS.name, "--output-file", LOCK.name])
    with tempfile.TemporaryDirectory() as scratch:
        backend = Path(scratch) / "build-backend.txt"
        backend.write_text(BUILD_BACKEND + "\n")
        # No "via" annotation: it would name the temporary file.
        run([*common, "--no-annotate", str(backend), "--output-file", BUILD_LOCK.name])


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dev.py package", description="Build the Function Compute code package."
    )
    parser.add_argument(
        "--runtime", action="append", choices=sorted(RUNTIMES),
        help=f"the runtime to build for; repeat for several (default {DEFAULT_RUNTIME})",
    )
    parser.add_argument(
        "--lock", action="store_true",
        help="regenerate requirements.lock and requirements-build.lock instead of building",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    try:
        if args.lock:
            lock()
            print(f"wrote {LOCK.name} and {BUILD_LOCK.name}")
            return 0
        for runtime in args.runtime or [DEFAULT_RUNTIME]:
            print(build(runtime).size_report())
    except PackageError as err:
        print(f"dev.py package: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
