"""Where a starting platform is, from what `up` can observe: backfill, draining, first
training, the prediction service catching up, serving. Pure: the observations come in."""

from __future__ import annotations

import re
from dataclasses import dataclass

BEHIND = re.compile(r"\((\d+) candles behind\)")


@dataclass(frozen=True, slots=True)
class Observed:
    backfill: dict | None = None  # the newest `rest backfill` progress report
    backfill_finished: bool = True
    trades_behind: int | None = None  # in Kafka, not drained yet
    candles: int = 0  # final 1-minute candles drained
    first_model_candles: int = 0
    training: tuple[int, int, float | None] | None = None  # trial done, trials, ETA (s)
    champion: str | None = None  # "v3"
    answer: tuple[int, str] | None = None  # POST /predict: status, error text or ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@dataclass(frozen=True, slots=True)
class Stage:
    name: str  # what changes the line in a log: backfill, draining, ...
    progress: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.progress})" if self.progress else self.name


def stage(seen: Observed) -> Stage:
    if seen.backfill is not None and not seen.backfill_finished:
        fraction = seen.backfill.get("fraction") or 0.0
        eta = duration(seen.backfill.get("eta_seconds"))
        return Stage("backfill", f"{seen.backfill.get('pair')} {fraction:.0%}, ETA {eta}")
    if seen.answer is not None and seen.answer[0] == 200:
        return Stage("serving")
    if seen.champion is None:
        if seen.training is not None:
            done, trials, eta = seen.training
            return Stage("first training", f"trial {done}/{trials}, ETA {duration(eta)}")
        behind = f"{seen.trades_behind:,} trades behind, " if seen.trades_behind else ""
        return Stage(
            "draining",
            f"{behind}{seen.candles:,} of {seen.first_model_candles:,} candles for a first model",
        )
    if seen.answer is None:
        return Stage("prediction service starting")
    found = BEHIND.search(seen.answer[1])
    return Stage(
        "prediction service catching up",
        f"{found.group(1)} candles behind" if found else seen.answer[1],
    )


def rendering(shown: str | None, current: Stage, line: str, in_place: bool, due: bool) -> str:
    """What to write for a new status `line` at stage `current`, after stage `shown`: on a
    terminal the line rewritten in place (the old one kept when the stage changed); in a log
    a line when the stage changed or one is `due`, else nothing."""
    if in_place:
        return ("\n" if shown not in (None, current.name) else "") + "\r\x1b[K" + line
    return line + "\n" if due or current.name != shown else ""
