"""Honest intervals for forecast skill when errors overlap in time.

Forecasts of overlapping horizons, and forecasts from persistent inputs, give loss
differences that are correlated for far longer than the horizon. Their mean's variance is
a HAC (Newey-West, Bartlett kernel) long-run variance whose bandwidth is chosen from the data
(Newey and West 1994's plug-in rule), and never below the horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959964


def _autocovariances(centered: np.ndarray, lags: int) -> np.ndarray:
    n = len(centered)
    return np.array([float(centered[k:] @ centered[: n - k]) / n for k in range(lags + 1)])


def newey_west_bandwidth(series: np.ndarray, horizon: int) -> int:
    """Newey-West (1994) automatic bandwidth for the Bartlett kernel, at least `horizon`."""
    n = len(series)
    if n < 3:
        return max(horizon, 0)
    pilot = min(n - 1, math.floor(4 * (n / 100) ** (2 / 9)))
    gamma = _autocovariances(series - series.mean(), pilot)
    s0 = gamma[0] + 2 * gamma[1:].sum()
    s1 = 2 * float(np.arange(1, pilot + 1) @ gamma[1:])
    automatic = 0 if s0 <= 0 else math.ceil(1.1447 * ((s1 / s0) ** 2 * n) ** (1 / 3))
    return min(n - 1, max(horizon, automatic))


def hac_variance(series: np.ndarray, bandwidth: int) -> float:
    """Long-run variance of `series` with Bartlett weights up to `bandwidth` lags."""
    n = len(series)
    lags = min(bandwidth, n - 1)
    gamma = _autocovariances(series - series.mean(), lags)
    weights = 1 - np.arange(1, lags + 1) / (bandwidth + 1)
    return float(gamma[0] + 2 * weights @ gamma[1:])


@dataclass(frozen=True, slots=True)
class SkillInterval:
    """Skill 1 - model/baseline of mean losses, with its 95% interval and the t of the gain."""

    skill: float
    low: float
    high: float
    t_stat: float
    bandwidth: int
    rows: int

    @property
    def significant(self) -> bool:
        """The whole interval lies above zero."""
        return self.low > 0

    def describe(self) -> str:
        return f"{self.skill:+.2%} [95% {self.low:+.2%}, {self.high:+.2%}]"


def gain_t(gain: np.ndarray, horizon: int) -> tuple[float, int]:
    """t statistic of mean(gain) > 0 with the HAC variance, and the bandwidth it used."""
    n = len(gain)
    if n < 3:
        return 0.0, horizon
    bandwidth = newey_west_bandwidth(gain, horizon)
    variance = hac_variance(gain, bandwidth)
    if variance <= 0:
        return 0.0, bandwidth
    return float(gain.mean() / math.sqrt(variance / n)), bandwidth


def skill_interval(
    model_loss: np.ndarray, baseline_loss: np.ndarray, horizon: int
) -> SkillInterval:
    """The model's skill over per-row losses, with a HAC 95% interval (delta method: the
    baseline's mean loss taken as known)."""
    gain = baseline_loss - model_loss
    base = float(baseline_loss.mean())
    t_stat, bandwidth = gain_t(gain, horizon)
    if base <= 0 or len(gain) < 3:
        return SkillInterval(0.0, -math.inf, math.inf, 0.0, bandwidth, len(gain))
    mean = float(gain.mean())
    spread = Z_95 * abs(mean / t_stat) if t_stat else math.inf
    return SkillInterval(
        mean / base, (mean - spread) / base, (mean + spread) / base, t_stat, bandwidth, len(gain)
    )
