"""Exponential backoff with jitter, for reconnects and rate-limited requests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """The delay before the next attempt: base * 2^attempt, capped, with ±50% jitter."""
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return delay * self.rng.uniform(0.5, 1.5)

    def reset(self) -> None:
        self.attempt = 0
