"""Progress reports for long work: count and rate (callers add an ETA), every few seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from btc_platform.logs import get_logger


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
