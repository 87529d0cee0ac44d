"""Replays event time at `speed` times real time (speed 0 = as fast as possible)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime


class Pacer:
    def __init__(self, speed: float) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = speed
        self._origin: tuple[datetime, float] | None = None
        self._yield_every = 1000
        self._count = 0

    async def wait_until(self, event_time: datetime) -> None:
        """Sleep until `event_time` is due; at full speed, only yield to the loop now and then."""
        if self.speed == 0:
            self._count += 1
            if self._count % self._yield_every == 0:
                await asyncio.sleep(0)
            return
        if self._origin is None:
            self._origin = (event_time, time.monotonic())
        first_event, first_wall = self._origin
        due = first_wall + (event_time - first_event).total_seconds() / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
