"""Progress reports for long work: count and rate (callers add an ETA), every few seconds;
the latest report of each kind of work stays readable in the process (`up`'s status line)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from btc_platform.logs import get_logger

_latest: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def latest_report(event: str) -> dict[str, Any] | None:
    """The figures of the newest report of `event` in this process, or None."""
    with _lock:
        return _latest.get(event)


class Progress:
    def __init__(
        self,
        event: str,
        unit: str = "trades",
        every_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.event = event
        self.unit = unit
        self.every_seconds = every_seconds
        self.count = 0
        self._clock = clock
        self._started = clock()
        self._last_report = self._started
        self._log = get_logger("btc_platform.progress")

    @property
    def rate(self) -> float:
        elapsed = self._clock() - self._started
        return self.count / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int = 1, fields: Callable[[], dict[str, Any]] | None = None) -> None:
        """Count `n` more; report when due, with the extra figures `fields()` returns."""
        self.count += n
        now = self._clock()
        if now - self._last_report >= self.every_seconds:
            self._last_report = now
            self.report(**(fields() if fields else {}))

    def report(self, **fields: Any) -> None:
        figures: dict[str, Any] = {self.unit: self.count, "per_second": round(self.rate, 1)}
        self._log.info(self.event, **figures, **fields)
        with _lock:
            _latest[self.event] = figures | fields
