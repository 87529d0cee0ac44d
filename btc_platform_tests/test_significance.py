"""Skill intervals that cannot flatter: the HAC test keeps its size on a persistent null
(overlapping 5-step targets, AR(1) 0.98 forecasts) and has power on a real edge."""

from __future__ import annotations

import numpy as np
import pytest

from btc_platform.training.significance import (
    gain_t,
    hac_variance,
    newey_west_bandwidth,
    skill_interval,
)

HORIZON = 5
ROWS = 4_000
SIMULATIONS = 300


def ar1(rng: np.random.Generator, rows: int, phi: float) -> np.ndarray:
    """A stationary AR(1) with unit variance."""
    shocks = rng.standard_normal(rows) * np.sqrt(1 - phi**2)
    values = np.empty(rows)
    values[0] = rng.standard_normal()
    for i in range(1, rows):
        values[i] = phi * values[i - 1] + shocks[i]
    return values


def overlapping_targets(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Forward 5-step sums of iid returns (they overlap) and the first step of each."""
    returns = rng.standard_normal(ROWS + HORIZON)
    return np.convolve(returns, np.ones(HORIZON), "valid")[1:], returns[1 : ROWS + 1]


def fixed_lag_t(gain: np.ndarray, lag: int) -> float:
    """The old guard's statistic: Newey-West with the bandwidth fixed at the horizon."""
    centered = gain - gain.mean()
    variance = hac_variance(centered, lag)
    return float(gain.mean() / np.sqrt(variance / len(gain)))


def test_the_test_keeps_its_size_on_a_persistent_null_where_a_horizon_lag_does_not():
    """Two forecasts of equal skill, each persistent (AR(1) 0.98): one-sided rejections at
    the 2.5% level stay near 2.5% with the automatic bandwidth; at lag = horizon they are
    far more frequent (the flattering the gate had)."""
    rng = np.random.default_rng(7)
    new, old = 0, 0
    for _ in range(SIMULATIONS):
        target, _ = overlapping_targets(rng)
        one, other = 0.9 * ar1(rng, ROWS, 0.98), 0.9 * ar1(rng, ROWS, 0.98)
        gain = np.abs(target - other) - np.abs(target - one)
        new += gain_t(gain, HORIZON)[0] > 1.96
        old += fixed_lag_t(gain, HORIZON) > 1.96
    assert new / SIMULATIONS <= 0.05
    assert old / SIMULATIONS >= 2 * new / SIMULATIONS
    assert old / SIMULATIONS > 0.05


def test_the_test_has_power_on_a_real_edge():
    """A forecast that knows a third of the next step beats a persistent one that knows
    nothing: found significant almost always."""
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(100):
        target, first_step = overlapping_targets(rng)
        informed = first_step / 3 + 0.3 * ar1(rng, ROWS, 0.98)
        blind = 0.3 * ar1(rng, ROWS, 0.98)
        interval = skill_interval(np.abs(target - informed), np.abs(target - blind), HORIZON)
        found += interval.significant
    assert found >= 90


def test_the_bandwidth_is_never_below_the_horizon_and_grows_with_persistence():
    rng = np.random.default_rng(3)
    white = rng.standard_normal(ROWS)
    persistent = ar1(rng, ROWS, 0.98)
    assert newey_west_bandwidth(white[:50], 20) == 20  # short and white: the horizon's floor
    assert HORIZON <= newey_west_bandwidth(white, HORIZON) < 3 * HORIZON
    assert newey_west_bandwidth(persistent, HORIZON) > 3 * HORIZON


def test_a_skill_interval_reads_as_the_skill_and_its_bounds():
    rng = np.random.default_rng(5)
    baseline = 1.0 + rng.random(2_000)
    model = baseline * 0.9  # 10% better on every row: a tight interval around +10%
    interval = skill_interval(model, baseline, HORIZON)
    assert interval.skill == pytest.approx(0.1)
    assert interval.low < 0.1 < interval.high
    assert interval.significant
    assert interval.describe().startswith("+10.00% [95% +")
    tied = skill_interval(baseline, baseline, HORIZON)
    assert (tied.skill, tied.significant) == (0.0, False)
