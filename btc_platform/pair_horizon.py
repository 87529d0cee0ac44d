"""What gets its own model: a (pair, horizon) — its Dagster partition, its registered model
and champion, its live forecasts.

Registered models are named `<BTC_MODEL_NAME>-<BASE>-<QUOTE>-<horizon>m`, e.g.
`btc-price-BTC-USD-5m`: each has its own versions, `champion` and gate history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HORIZON_KEY = re.compile(r"^(\d+)m$")


def horizon_key(minutes: int) -> str:
    """The horizon as a partition key: `5m`."""
    return f"{minutes}m"


def horizon_of_key(key: str) -> int:
    match = HORIZON_KEY.match(key)
    if match is None:
        raise ValueError(f"{key!r} is not a horizon like 5m")
    return int(match.group(1))


@dataclass(frozen=True, slots=True, order=True)
class PairHorizon:
    pair: str
    horizon_minutes: int

    def __str__(self) -> str:
        return f"{self.pair} {horizon_key(self.horizon_minutes)}"

    def model_name(self, prefix: str) -> str:
        """The registered model of this pair and horizon."""
        return f"{prefix}-{self.pair.replace('/', '-')}-{horizon_key(self.horizon_minutes)}"


def pair_horizons(pairs: list[str], horizons: list[int]) -> list[PairHorizon]:
    """Every served (pair, horizon), pair by pair, horizons in their configured order."""
    return [PairHorizon(pair, horizon) for pair in pairs for horizon in horizons]
