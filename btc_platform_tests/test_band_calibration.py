"""The live band calibration (adaptive conformal inference on the band's width)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from btc_platform.training.band_calibration import BOUND, GAMMA, BandCalibration, widen

T0 = datetime(2026, 1, 1)
MINUTE = timedelta(minutes=1)
Z90 = 1.2815515655446004  # the standard normal's p90


def run(calibration: BandCalibration, moves: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Feed one close a minute (price following `moves`), each with the band `band`; returns
    whether each forecast's outcome fell inside its calibrated band (NaN: not due yet)."""
    horizon = int(calibration.horizon / MINUTE)
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(moves)]))
    calibrated = [calibration.step(T0 + MINUTE * i, p, band) for i, p in enumerate(prices)]
    inside = np.full(len(prices), np.nan)
    for i in range(len(prices) - horizon):
        realized = math.log(prices[i + horizon] / prices[i])
        inside[i] = calibrated[i][0] <= realized <= calibrated[i][2]
    return inside


def test_widening_stretches_both_half_widths_around_the_median():
    np.testing.assert_allclose(widen(np.array([-2.0, 1.0, 3.0]), 2.0), [-5.0, 1.0, 5.0])


def test_each_outcome_moves_the_width_by_gamma_and_missing_outcomes_are_dropped():
    calibration = BandCalibration(horizon=MINUTE)
    band = np.array([-0.01, 0.0, 0.01])
    calibration.step(T0, 100.0, band)
    calibration.step(T0 + MINUTE, 105.0, band)  # +4.9%: the first forecast missed
    assert calibration.theta == pytest.approx(GAMMA * 0.8)
    assert calibration.outcomes == 1
    calibration.step(T0 + 3 * MINUTE, 105.0, band)  # 00:02 never closed: that one is dropped
    assert calibration.outcomes == 1 and calibration.theta == pytest.approx(GAMMA * 0.8)
    calibration.step(T0 + 4 * MINUTE, 105.0, band)  # inside: narrows
    assert calibration.theta == pytest.approx(GAMMA * 0.8 - GAMMA * 0.2)
    assert calibration.as_dict()["recent_coverage"] == 0.5


def test_the_factor_is_bounded_whatever_happens():
    calibration = BandCalibration(horizon=MINUTE)
    moves = np.tile([0.05, -0.05], 2_000)  # every outcome far outside a 1% band
    run(calibration, moves, np.array([-0.01, 0.0, 0.01]))
    assert calibration.factor == pytest.approx(math.exp(BOUND))
    calm = BandCalibration(horizon=MINUTE)
    run(calm, np.zeros(4_000), np.array([-0.01, 0.0, 0.01]))  # always inside
    assert calm.factor == pytest.approx(math.exp(-BOUND))


def test_a_calibrated_band_is_left_about_as_it_is():
    rng = np.random.default_rng(4)
    calibration = BandCalibration(horizon=5 * MINUTE)
    sigma = 1e-3
    inside = run(
        calibration, rng.normal(0, sigma, 6_000), np.array([-Z90, 0, Z90]) * sigma * 5**0.5
    )
    assert 0.9 < calibration.factor < 1.1
    assert np.nanmean(inside) == pytest.approx(0.8, abs=0.02)


def test_coverage_recovers_after_the_volatility_doubles():
    """A model blind to the jump keeps its band; the calibration brings coverage back."""
    rng = np.random.default_rng(5)
    sigma = np.where(np.arange(8_000) < 2_000, 1e-3, 2e-3)
    band = np.array([-Z90, 0, Z90]) * 1e-3 * 5**0.5
    blind = run(BandCalibration(horizon=5 * MINUTE, bound=0.0), rng.normal(0, sigma), band)
    calibration = BandCalibration(horizon=5 * MINUTE)
    rng = np.random.default_rng(5)
    inside = run(calibration, rng.normal(0, sigma), band)
    assert np.nanmean(blind[2_100:]) < 0.55  # without it: about half the outcomes missed
    assert np.nanmean(inside[:2_000]) == pytest.approx(0.8, abs=0.03)
    assert np.nanmean(inside[4_000:]) == pytest.approx(0.8, abs=0.03)  # recovered
    assert 1.8 < calibration.factor <= 2.0


def test_a_new_champion_takes_over_the_factor_and_learns_only_from_unseen_outcomes():
    """A promotion keeps what the live outcomes taught; a replay over closes the new champion
    trained on (outcomes before `learn_from`) cannot move it."""
    band = np.array([-0.01, 0.0, 0.01])
    old = BandCalibration(horizon=MINUTE)
    run(old, np.full(50, 0.05), band)  # every outcome a miss: the band widened
    assert old.theta > 0
    trained_until = T0 + MINUTE * 100
    new = old.handover(trained_until)
    assert (new.theta, new.outcomes, list(new.recent)) == (
        old.theta,
        old.outcomes,
        list(old.recent),
    )
    assert not new.pending
    for i in range(60, 100):  # the replay: closes it trained on, all of them misses
        new.step(T0 + MINUTE * i, 100 * math.exp(0.05 * i), band)
    assert (new.theta, new.outcomes) == (old.theta, old.outcomes)
    new.step(trained_until, 100 * math.exp(0.05 * 100), band)  # the first unseen outcome
    assert new.theta == pytest.approx(old.theta + GAMMA * 0.8)
