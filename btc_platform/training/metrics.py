"""Forecast quality of p10/p50/p90 forecasts of log returns, as forecasters measure it.

Pinball loss over the quantiles (primary); the p50's errors; the p10-p90 band's coverage,
width and Winkler interval score; CRPS of the distribution the quantiles describe;
per-quantile calibration (the share of outcomes below each quantile); and coverage per
volatility tercile (is the band honest in calm and in wild markets alike?).
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)
MEDIAN = QUANTILES.index(0.5)
BPS = 1e4
INTERVAL_ALPHA = QUANTILES[0] + (1 - QUANTILES[2])  # the 80% band misses 20%
# Levels at which CRPS integrates the quantile function.
CRPS_LEVELS = np.linspace(0.01, 0.99, 99)
TERCILES = ("low", "mid", "high")


def pinball_losses(actual: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Each row's pinball loss, the mean over QUANTILES; `quantiles` is (rows, 3)."""
    levels = np.asarray(QUANTILES)
    error = actual[:, None] - quantiles
    return np.mean(np.maximum(levels * error, (levels - 1) * error), axis=1)


def pinball_loss(actual: np.ndarray, quantiles: np.ndarray) -> float:
    """Mean over QUANTILES of the mean pinball loss; `quantiles` is (rows, 3)."""
    return float(np.mean(pinball_losses(actual, quantiles)))


def winkler_score(actual: np.ndarray, quantiles: np.ndarray) -> float:
    """Mean interval score of the p10-p90 band: its width plus 2/alpha times any miss."""
    low, high = quantiles[:, 0], quantiles[:, 2]
    miss = np.maximum(low - actual, 0) + np.maximum(actual - high, 0)
    return float(np.mean(high - low + 2 / INTERVAL_ALPHA * miss))


def quantile_function(quantiles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(rows, len(levels)): the forecast's quantiles at `levels`, linear between p10, p50 and
    p90 and continued with the nearest segment's slope beyond them."""
    known = np.asarray(QUANTILES)
    segment = np.clip(np.searchsorted(known, levels) - 1, 0, len(known) - 2)
    left, right = known[segment], known[segment + 1]
    weight = (levels - left) / (right - left)
    return quantiles[:, segment] + weight * (quantiles[:, segment + 1] - quantiles[:, segment])


def crps(actual: np.ndarray, quantiles: np.ndarray) -> float:
    """Continuous ranked probability score of the distribution the three quantiles describe
    (`quantile_function`): twice the pinball loss integrated over levels 0.01..0.99."""
    values = quantile_function(quantiles, CRPS_LEVELS)
    error = actual[:, None] - values
    pinball = np.maximum(CRPS_LEVELS * error, (CRPS_LEVELS - 1) * error)
    return float(2 * np.mean(pinball))


def tercile_coverage(
    actual: np.ndarray, quantiles: np.ndarray, volatility: np.ndarray
) -> dict[str, float]:
    """Band coverage within each third of the rows, ranked by the volatility at forecast time."""
    inside = (actual >= quantiles[:, 0]) & (actual <= quantiles[:, 2])
    edges = np.quantile(volatility, [1 / 3, 2 / 3])
    tercile = np.searchsorted(edges, volatility, side="right")
    return {
        f"coverage_{name}_vol": float(inside[tercile == i].mean())
        for i, name in enumerate(TERCILES)
        if (tercile == i).any()
    }


def score(
    actual: np.ndarray, quantiles: np.ndarray, volatility: np.ndarray | None = None
) -> dict[str, float]:
    """Metrics of a (rows, 3) quantile forecast of log returns; errors in basis points.

    `volatility` (one value per row, known at forecast time) adds coverage per tercile.
    """
    median = quantiles[:, MEDIAN]
    moved = actual != 0
    metrics = {
        "pinball_loss": pinball_loss(actual, quantiles),
        "mae_bps": float(np.mean(np.abs(actual - median)) * BPS),
        "rmse_bps": float(np.sqrt(np.mean((actual - median) ** 2)) * BPS),
        "directional_accuracy": float(np.mean(np.sign(median[moved]) == np.sign(actual[moved])))
        if moved.any() and median.any()
        else float("nan"),  # undefined for a forecast that never moves (zero return)
        "band_coverage": float(np.mean((actual >= quantiles[:, 0]) & (actual <= quantiles[:, 2]))),
        "band_width_bps": float(np.mean(quantiles[:, 2] - quantiles[:, 0]) * BPS),
        "winkler_bps": winkler_score(actual, quantiles) * BPS,
        "crps_bps": crps(actual, quantiles) * BPS,
    }
    for level, column in zip(QUANTILES, quantiles.T, strict=True):
        metrics[f"below_p{round(level * 100)}"] = float(np.mean(actual < column))
    if volatility is not None:
        metrics |= tercile_coverage(actual, quantiles, volatility)
    return metrics


def skill(model: float, baseline: float) -> float:
    """1 - model/baseline: > 0 beats the baseline, 0 ties it."""
    return 1.0 - model / baseline if baseline > 0 else 0.0
