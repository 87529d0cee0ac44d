"""`up` brings back what dies: a part that exits unexpectedly is restarted with backoff; one
that keeps crashing (more than `max_restarts` exits within `window` seconds) is reported and
given up on, without taking the others down."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


def exit_cause(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class RestartPolicy:
    """When a part that exited at `now` comes back: None once it crashed too often."""

    max_restarts: int = 5
    window: float = 600.0
    base: float = 2.0
    cap: float = 60.0
    exits: deque[float] = field(default_factory=deque)

    def delay(self, now: float) -> float | None:
        self.exits.append(now)
        while self.exits and self.exits[0] < now - self.window:
            self.exits.popleft()
        if len(self.exits) > self.max_restarts:
            return None
        return min(self.cap, self.base * 2 ** (len(self.exits) - 1))


@dataclass
class Supervised:
    """One part under supervision: how to tell it exited, how to start it again."""

    name: str
    exited: Callable[[], int | None]  # None while it runs
    restart: Callable[[], None]
    log: str  # where to look
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    due: float | None = None  # when the pending restart happens
    restarts: int = 0
    last_cause: str = ""
    given_up: bool = False


class Supervisor:
    def __init__(
        self, parts: list[Supervised], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.parts, self.clock = parts, clock

    def check(self) -> list[str]:
        """Restart what is due; the events to tell the user, one line each."""
        events, now = [], self.clock()
        for part in self.parts:
            if part.given_up:
                continue
            if part.due is not None:
                if now >= part.due:
                    part.restart()
                    part.due, part.restarts = None, part.restarts + 1
                    events.append(f"{part.name} restarted (restart {part.restarts})")
                continue
            code = part.exited()
            if code is None:
                continue
            part.last_cause = exit_cause(code)
            delay = part.policy.delay(now)
            if delay is None:
                part.given_up = True
                events.append(
                    f"{part.name} keeps crashing ({len(part.policy.exits)} exits in "
                    f"{part.policy.window / 60:.0f} min, last: {part.last_cause}); given up, "
                    f"the rest goes on: see {part.log}"
                )
            else:
                part.due = now + delay
                events.append(
                    f"{part.name} exited unexpectedly ({part.last_cause}); restarting in "
                    f"{delay:.0f} s (see {part.log})"
                )
        return events

    def summary(self) -> str:
        """For the status line: what has been restarted or given up, or ''."""
        notes = [
            f"{p.name} given up ({p.last_cause})"
            if p.given_up
            else f"{p.name} restarted {p.restarts}x (last: {p.last_cause})"
            for p in self.parts
            if p.given_up or p.restarts
        ]
        return "; ".join(notes)
