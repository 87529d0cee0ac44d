"""Order flow from the trades behind each candle: who was the aggressor, how often.

Only candles built from trades have it (buy volume and buy count per window); imported
OHLCV candles do not, and their rows get NaN here (the candle-only feature set leaves
these columns out).
"""

from __future__ import annotations

import numpy as np

from btc_platform.features.candle_arrays import CandleArrays
from btc_platform.features.windows import rolling_mean, rolling_sum

FLOW_WINDOWS = (5, 30)
FLOW_INPUTS = ("trade_count", "buy_volume", "buy_count")


def _imbalance(buys: np.ndarray, total: np.ndarray, window: int) -> np.ndarray:
    """(buys - sells) / total over the window, in [-1, 1]; 0 when nothing traded."""
    bought, traded = rolling_sum(buys, window), rolling_sum(total, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (2 * bought - traded) / traded
    return np.where((traded == 0) & ~np.isnan(bought), 0.0, ratio)


def order_flow_features(c: CandleArrays) -> dict[str, np.ndarray]:
    count, buy_volume, buy_count = (c.column(name) for name in FLOW_INPUTS)
    if count is None or buy_volume is None or buy_count is None:
        return {name: np.full(len(c.close), np.nan) for name in ORDER_FLOW_COLUMNS}
    out = {}
    for w in FLOW_WINDOWS:
        out[f"buy_volume_imbalance_{w}"] = _imbalance(buy_volume, c.volume, w)
        out[f"buy_count_imbalance_{w}"] = _imbalance(buy_count, count, w)
    out["trade_count_ratio_15_240"] = np.log(
        (rolling_mean(count, 15) + 1) / (rolling_mean(count, 240) + 1)
    )
    return out


ORDER_FLOW_COLUMNS = (
    *(f"buy_{kind}_imbalance_{w}" for w in FLOW_WINDOWS for kind in ("volume", "count")),
    "trade_count_ratio_15_240",
)
