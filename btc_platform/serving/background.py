"""The service's background work on threads that never die silently.

A task is either long-running (its work returns only when stopped) or periodic (its work is
one round, run every `every` seconds). When the work raises, the failure is held (what, since
when, how often), logged once per change of error, counted, and the work run again after a
backoff that doubles up to a bound. A periodic task recovers with its next good round; a
long-running one when its work says so (`recovered()`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from btc_platform.logs import get_logger

log = get_logger(__name__)
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Failure:
    task: str
    error: str  # the exception's type and message
    since: datetime  # the first failure of this run of failures
    count: int  # failures since then

    def describe(self) -> str:
        return (
            f"background task {self.task} failing since {self.since:%Y-%m-%dT%H:%M:%SZ} "
            f"({self.count} failure{'s' if self.count > 1 else ''}, restarting with backoff): "
            f"{self.error}"
        )


class BackgroundTask:
    def __init__(
        self,
        name: str,
        work: Callable[[], None],
        every: float | None = None,
        stopped: threading.Event | None = None,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
    ) -> None:
        self.name = name
        self.work = work
        self.every = every
        self.stopped = stopped or threading.Event()
        self.first_backoff = first_backoff
        self.failure: Failure | None = None
        self.failures_total = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.set()
        if timeout is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def recovered(self) -> None:
        """The work runs well again: the held failure is cleared (and logged once)."""
        if self.failure is not None:
            log.info("background task recovered", task=self.name, failures=self.failure.count)
            self.failure = None

    def _failed(self, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        held = self.failure
        if held is None or held.error != text:
            log.error("background task failed; restarting", task=self.name, exc_info=error)
        since = held.since if held else datetime.now(UTC)
        self.failure = Failure(self.name, text, since, (held.count if held else 0) + 1)
        self.failures_total += 1

    def _run(self) -> None:
        backoff = self.first_backoff
        while not self.stopped.is_set():
            try:
                self.work()
            except Exception as error:  # held, reported and retried: never a silent death
                self._failed(error)
                self.stopped.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if self.every is None:
                return  # long-running work returns only when stopped
            self.recovered()
            backoff = self.first_backoff
            self.stopped.wait(self.every)
