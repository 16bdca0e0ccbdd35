"""`serve --state-dir`'s saves: restored at start, saved every interval and at a clean stop.

The periodic save is what a crash (or a kill -9) leaves behind: at most an interval's changes are lost. A save is
atomic (state_dir.store), so the one a crash interrupts leaves the previous one whole.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from local_runtime import state_dir

if TYPE_CHECKING:
    from local_runtime.server import LocalAws

DEFAULT_SAVE_INTERVAL_SECONDS = 30.0

logger = logging.getLogger(__name__)


class AutoSave:
    """Saves `aws` to `directory` from a thread every `interval_seconds`, and once more at stop()."""

    def __init__(
        self, aws: LocalAws, directory: Path, *, interval_seconds: float, say: Callable[[str], None] | None = None
    ) -> None:
        self._aws = aws
        self._directory = directory
        self._interval = interval_seconds
        self._say = say or (lambda _: None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="state-autosave", daemon=True)

    def start(self) -> AutoSave:
        self._thread.start()
        return self

    def save(self) -> state_dir.SaveReport:
        return state_dir.save(self._aws, self._directory)

    def stop(self) -> None:
        """Stop the periodic saves and save what is there now (the clean stop's save)."""
        self._stop.set()
        self._thread.join(timeout=60)
        report = self.save()
        self._say(
            f"State saved to {self._directory}: {report.objects} S3 object versions, "
            f"{report.blobs_written} new blobs ({report.seconds:.1f} s)"
        )

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.save()
            except Exception as error:  # the next interval tries again; the previous save stays whole
                logger.warning("state not saved to %s: %s", self._directory, error)
                self._say(f"State not saved to {self._directory}: {error}")
