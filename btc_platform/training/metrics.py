"""Forecast quality: pinball loss over the quantiles (primary), point errors, band coverage."""

from __future__ import annotations

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)
MEDIAN = QUANTILES.index(0.5)
BPS = 1e4


def pinball_loss(actual: np.ndarray, quantiles: np.ndarray) -> float:
    """Mean over QUANTILES of the mean pinball loss; `quantiles` is (rows, 3)."""
    levels = np.asarray(QUANTILES)
    error = actual[:, None] - quantiles
    return float(np.mean(np.maximum(levels * error, (levels - 1) * error)))


def score(actual: np.ndarray, quantiles: np.ndarray) -> dict[str, float]:
    """Metrics of a (rows, 3) quantile forecast of log returns."""
    median = quantiles[:, MEDIAN]
    moved = actual != 0
    return {
        "pinball_loss": pinball_loss(actual, quantiles),
        "mae_bps": float(np.mean(np.abs(actual - median)) * BPS),
        "rmse_bps": float(np.sqrt(np.mean((actual - median) ** 2)) * BPS),
        "directional_accuracy": float(np.mean(np.sign(median[moved]) == np.sign(actual[moved])))
        if moved.any() and median.any()
        else float("nan"),  # undefined for a forecast that never moves (zero return)
        "band_coverage": float(np.mean((actual >= quantiles[:, 0]) & (actual <= quantiles[:, 2]))),
        "band_width_bps": float(np.mean(quantiles[:, 2] - quantiles[:, 0]) * BPS),
    }


def skill(model: float, baseline: float) -> float:
    """1 - model/baseline: > 0 beats the baseline, 0 ties it."""
    return 1.0 - model / baseline if baseline > 0 else 0.0
