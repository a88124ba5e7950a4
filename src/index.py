"""Function Compute entry point: `index.handler`. Thin on purpose; the work is in snapshot_purge."""

from __future__ import annotations

import os
from typing import Any

from snapshot_purge.app import handle
from snapshot_purge.logs import make_logger

logger = make_logger(os.environ.get("POWERTOOLS_SERVICE_NAME") or "ice-snapshot-purge")


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context, logger=logger)
