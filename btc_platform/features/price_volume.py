"""Returns, candle range and traded volume, each relative to the volatility (scale-free)."""

from __future__ import annotations

import numpy as np

from btc_platform.features.candle_arrays import CandleArrays
from btc_platform.features.windows import lagged_difference, rolling_mean

RETURN_LAGS = (1, 5, 15, 60)
TINY = 1e-12


def _log_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.log((numerator + TINY) / (denominator + TINY))


def price_volume_features(c: CandleArrays, vol_ref: np.ndarray) -> dict[str, np.ndarray]:
    out = {
        f"z_return_{lag}": lagged_difference(c.log_close, lag) / (vol_ref * np.sqrt(lag))
        for lag in RETURN_LAGS
    }
    out["z_range"] = np.log(c.high / c.low) / vol_ref
    out["volume_ratio_1_60"] = _log_ratio(c.volume, rolling_mean(c.volume, 60))
    out["volume_ratio_15_240"] = _log_ratio(rolling_mean(c.volume, 15), rolling_mean(c.volume, 240))
    return out


PRICE_VOLUME_COLUMNS = (
    *(f"z_return_{lag}" for lag in RETURN_LAGS),
    "z_range",
    "volume_ratio_1_60",
    "volume_ratio_15_240",
)
