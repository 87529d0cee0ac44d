"""Replays event time at `speed` times real time (speed 0 = as fast as possible)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

YIELD_EVERY = 1024


class Pacer:
    """Call `due(event_time)`; await `wait_until` only when it says so (awaiting a coroutine
    for every trade would cost more than the rest of a full-speed replay)."""

    def __init__(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = speed
        self._origin: tuple[datetime, float] | None = None
        self._count = 0

    def due(self) -> bool:
        """Whether to await `wait_until` now: always when paced, now and then at full speed."""
        if self.speed:
            return True
        self._count += 1
        return self._count % YIELD_EVERY == 0

    async def wait_until(self, event_time: datetime) -> None:
        """Sleep until `event_time` is due; at full speed, just let other tasks run."""
        if self.speed == 0:
            await asyncio.sleep(0)
            return
        if self._origin is None:
            self._origin = (event_time, time.monotonic())
        first_event, first_wall = self._origin
        due = first_wall + (event_time - first_event).total_seconds() / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
