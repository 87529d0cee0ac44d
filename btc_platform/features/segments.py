"""Contiguous runs of candles: features and targets never reach across a hole in the data.

A missing window is a hole. So is a long run of windows without a single trade: for a
traded pair that is an outage of the feed (the candles there only carry the last close
forward), not a quiet market, and it is treated as missing. Imported candles without a
trade count never count as empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Consecutive windows without trades from which a run is an outage, not a quiet market.
OUTAGE_WINDOWS = 60


def without_outages(candles: pd.DataFrame) -> pd.DataFrame:
    """`candles` (oldest first) less the windows inside runs of >= OUTAGE_WINDOWS empty ones."""
    if "trade_count" not in candles.columns or candles.empty:
        return candles
    counts = pd.to_numeric(candles["trade_count"], errors="coerce").astype("float64")
    empty = (counts == 0).to_numpy()  # NULL (unknown) is not empty
    if not empty.any():
        return candles
    run = np.cumsum(~empty)  # the same number along a run of empty windows
    sizes = pd.Series(empty).groupby(run).transform("sum").to_numpy()
    return candles[~(empty & (sizes >= OUTAGE_WINDOWS))]


def segment_ids(window_start: pd.Series, interval_seconds: int) -> np.ndarray:
    """A number per candle, the same along each run of consecutive windows (sorted input)."""
    step = window_start.diff() != pd.Timedelta(seconds=interval_seconds)
    return step.cumsum().to_numpy()
