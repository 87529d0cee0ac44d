"""Live calibration of the p10-p90 band: adaptive conformal inference on its width.

After each outcome (the close `horizon` after a forecast), the band's log width factor
theta moves by gamma x (missed - 0.2): a miss widens the next bands a little, a hit narrows
them a little, so the long-run share of misses is held at the nominal 20% whatever the market
does (Gibbs & Candes, "Adaptive conformal inference under distribution shift", 2021). The
factor is bounded (a few bad minutes cannot blow the band up) and stretches both half-widths
around the p50. The service and the backtest run this same code, one candle close at a time.

A new champion takes the calibration over (`handover`): the factor the live outcomes built
carries on, and only outcomes realized after the champion's training data ended (`learn_from`)
move it, so a replay over closes it trained on cannot narrow its band in-sample.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from btc_platform.training.metrics import QUANTILES

GAMMA = 0.005
BOUND = math.log(2.0)  # the factor stays within [1/2, 2]
TARGET_MISS = QUANTILES[0] + (1 - QUANTILES[2])
RECENT = 240  # outcomes the recent coverage is over


def widen(quantiles: np.ndarray, factor: float) -> np.ndarray:
    """p10/p50/p90 with both half-widths around the p50 multiplied by `factor`."""
    low, median, high = (float(q) for q in quantiles)
    return np.array([median - (median - low) * factor, median, median + (high - median) * factor])


@dataclass
class BandCalibration:
    horizon: timedelta
    gamma: float = GAMMA
    bound: float = BOUND
    theta: float = 0.0
    outcomes: int = 0
    # forecasts waiting for their outcome: (due close time, price then, band low, band high)
    pending: deque[tuple[datetime, float, float, float]] = field(default_factory=deque)
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT))
    learn_from: datetime | None = None  # outcomes realized before this are not learned from

    @property
    def factor(self) -> float:
        return math.exp(self.theta)

    def handover(self, learn_from: datetime | None) -> BandCalibration:
        """The calibration of the next champion: this factor and record, none of this one's
        pending forecasts; it learns from outcomes realized from `learn_from` on."""
        return BandCalibration(
            self.horizon,
            self.gamma,
            self.bound,
            self.theta,
            self.outcomes,
            recent=deque(self.recent, maxlen=RECENT),
            learn_from=learn_from,
        )

    def step(self, close_time: datetime, close: float, quantiles: np.ndarray) -> np.ndarray:
        """One candle close: learn from the forecasts due now, then calibrate this one."""
        self.observe(close_time, close)
        calibrated = widen(quantiles, self.factor)
        self.pending.append((close_time + self.horizon, close, calibrated[0], calibrated[2]))
        return calibrated

    def observe(self, close_time: datetime, close: float) -> None:
        """The outcome of every forecast due at `close_time`; those due earlier (their candle
        is missing) are dropped unscored."""
        while self.pending and self.pending[0][0] <= close_time:
            due, price, low, high = self.pending.popleft()
            if due == close_time and (self.learn_from is None or due >= self.learn_from):
                realized = math.log(close / price)
                missed = not low <= realized <= high
                self.theta = min(
                    max(self.theta + self.gamma * (missed - TARGET_MISS), -self.bound), self.bound
                )
                self.outcomes += 1
                self.recent.append(missed)

    def as_dict(self) -> dict[str, object]:
        recent = list(self.recent)
        return {
            "method": "adaptive conformal inference on the band width",
            "band_scale": round(self.factor, 6),
            "outcomes": self.outcomes,
            "recent_coverage": round(1 - sum(recent) / len(recent), 4) if recent else None,
            "recent_outcomes": len(recent),
            "gamma": self.gamma,
            "scale_bounds": [round(math.exp(-self.bound), 4), round(math.exp(self.bound), 4)],
        }
