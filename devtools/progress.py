"""Progress on a terminal, on stderr: files listed and done, failed, throttled answers, rate.

tqdm draws it on stderr, so it never mixes with the JSON lines on stdout, and stays silent when
stderr is not a terminal (CI, pipes, files).
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from tqdm import tqdm

from snapshot_purge.model import Result
from snapshot_purge.report import ProgressView


class TerminalProgress:
    def __init__(self, *, due: int | None = None, stream: TextIO = sys.stderr) -> None:
        self.enabled = stream.isatty()
        self._bar = tqdm(total=due, unit=" files", file=stream, disable=not self.enabled,
                         dynamic_ncols=True, mininterval=0.2, smoothing=0.1)
        self._done = 0
        self._lock = threading.Lock()

    def __call__(self, view: ProgressView) -> None:
        if not self.enabled:
            return
        done = sum(view.counts.values())
        with self._lock:
            step, self._done = done - self._done, done
            self._bar.set_postfix(listed=view.listed, deleted=view.counts[Result.OK],
                                  failed=view.counts[Result.FAILED], throttled=view.throttled,
                                  refresh=False)
            self._bar.update(step)

    def close(self) -> None:
        self._bar.close()
