"""The baselines a model must beat, all with zero return as the median.

- static: the training window's p10 and p90 of the target, the same band for every row;
- volatility-scaled: the last 60 one-candle returns' standard deviation x sqrt(horizon)
  x the training window's p10 and p90 of the target standardized that way; a band that
  widens and narrows with the market, which is what any quant does first;
- EWMA blend: the same with a better volatility estimate and no machine learning, the mean
  of four exponentially weighted ones (`ewma_blend_vol`, see `features.volatility`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.training.metrics import QUANTILES

STATIC = "static"
VOL_SCALED = "vol_scaled"
EWMA_BLEND = "ewma_blend"
# The volatility-scaled baselines and the feature column each scales by.
SCALES = {VOL_SCALED: "realized_vol_60", EWMA_BLEND: "ewma_blend_vol"}
BAND_LEVELS = [QUANTILES[0], QUANTILES[2]]


def static_band(train_target: np.ndarray, rows: int) -> np.ndarray:
    """(rows, 3): the training window's p10 and p90 of the target, and 0 as the median."""
    low, high = np.quantile(train_target, BAND_LEVELS)
    return np.tile([low, 0.0, high], (rows, 1))


def standardized_band(train_target: np.ndarray, train_scale: np.ndarray) -> tuple[float, float]:
    """The p10 and p90 of target / scale over the training rows (rows without a scale out)."""
    ratio = train_target / train_scale
    low, high = np.quantile(ratio[np.isfinite(ratio)], BAND_LEVELS)
    return float(low), float(high)


def scales_of(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each volatility-scaled baseline's one-candle volatility per row of `frame`, by name."""
    return {name: frame[column].to_numpy() for name, column in SCALES.items()}


def standardized_bands(
    train_target: np.ndarray, train_scales: dict[str, np.ndarray], horizon_candles: int
) -> dict[str, tuple[float, float]]:
    """Each volatility-scaled baseline's standardized p10 and p90 over the training rows."""
    return {
        name: standardized_band(train_target, vol * np.sqrt(horizon_candles))
        for name, vol in train_scales.items()
    }


def vol_scaled_band(
    z_band: tuple[float, float], realized_vol: np.ndarray, horizon_candles: int
) -> np.ndarray:
    """(rows, 3): each row's realized volatility x sqrt(horizon) x the standardized band."""
    scale = realized_vol * np.sqrt(horizon_candles)
    return np.column_stack([scale * z_band[0], np.zeros(len(scale)), scale * z_band[1]])


def baseline_bands(
    train_target: np.ndarray,
    train_scales: dict[str, np.ndarray],
    test_scales: dict[str, np.ndarray],
    horizon_candles: int,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float]]]:
    """Every baseline over the test rows, from the training window; and the standardized
    band of each volatility-scaled one (`*_scales`: its one-candle volatility per row, by
    baseline name)."""
    rows = len(next(iter(test_scales.values())))
    z_bands = standardized_bands(train_target, train_scales, horizon_candles)
    bands = {STATIC: static_band(train_target, rows)} | {
        name: vol_scaled_band(z_band, test_scales[name], horizon_candles)
        for name, z_band in z_bands.items()
    }
    return bands, z_bands
