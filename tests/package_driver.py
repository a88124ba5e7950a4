"""Runs the handler from an unpacked code package the way Function Compute does.

    pythonX.Y -I -S package_driver.py CODE_DIR CONTEXT_JSON EVENT_JSON RESULT_FILE

Run isolated (`-I -S`: no site-packages, no user site, no PYTHON* variables, not even this
file's directory on the path), so only CODE_DIR and the standard library can be imported. Writes
`{"import_s": ..., "summary": ..., "foreign_modules": [...]}` to RESULT_FILE: the handler's log
lines own stdout. Python 3.10 syntax: it runs on the package's own interpreter.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def fc_context(spec: dict[str, Any]) -> SimpleNamespace:
    credentials = spec.get("credentials")
    return SimpleNamespace(
        request_id=spec["request_id"],
        credentials=None if credentials is None else SimpleNamespace(**credentials),
        function=SimpleNamespace(**spec["function"]),
        region=spec["region"],
        account_id=spec["account_id"],
    )


def modules_outside(code_dir: Path) -> list[str]:
    """Modules loaded from anywhere but the package and the standard library."""
    paths = sysconfig.get_paths()
    stdlib = [Path(paths[name]).resolve() for name in ("stdlib", "platstdlib")]
    site = [Path(paths[name]).resolve() for name in ("purelib", "platlib")]
    driver = Path(__file__).resolve()
    outside = []
    for module in list(sys.modules.values()):
        where = getattr(module, "__file__", None)
        if where is None:
            continue
        path = Path(where).resolve()
        if path == driver:
            continue
        in_stdlib = any(path.is_relative_to(root) for root in stdlib) and not any(
            path.is_relative_to(root) for root in site
        )
        if not (path.is_relative_to(code_dir) or in_stdlib):
            outside.append(str(path))
    return sorted(outside)


def main(code_dir: str, context_json: str, event_json: str, result_file: str) -> None:
    code = Path(code_dir).resolve()
    sys.path.insert(0, str(code))
    started = time.perf_counter()
    import index

    import_s = time.perf_counter() - started
    summary = index.handler(event_json.encode(), fc_context(json.loads(context_json)))
    Path(result_file).write_text(json.dumps({
        "import_s": import_s,
        "summary": summary,
        "foreign_modules": modules_outside(code),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:5])
