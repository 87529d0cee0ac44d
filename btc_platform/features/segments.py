"""Contiguous runs of candles: features and targets never reach across a hole in the data.

A missing window is a hole. So is a long run of windows without a single trade: for a
traded pair that is an outage of the feed (the candles there only carry the last close
forward), not a quiet market, and it is treated as missing: for features from its
OUTAGE_WINDOWS-th window on (what was known then), for targets all of it. Imported candles without a
trade count never count as empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Consecutive windows without trades from which a run is an outage, not a quiet market.
OUTAGE_WINDOWS = 60


def without_outages(candles: pd.DataFrame, *, hindsight: bool = True) -> pd.DataFrame:
    """`candles` (oldest first) less the empty windows of every run of >= OUTAGE_WINDOWS.

    With hindsight (targets: no label reaches into an outage) the whole run goes. Without
    (features: what a live service could know at each window) only its windows from the
    OUTAGE_WINDOWS-th on: before that it was a quiet market as far as anyone could tell."""
    if "trade_count" not in candles.columns or candles.empty:
        return candles
    counts = pd.to_numeric(candles["trade_count"], errors="coerce").astype("float64")
    empty = (counts == 0).to_numpy()  # NULL (unknown) is not empty
    if not empty.any():
        return candles
    run = np.cumsum(~empty)  # the same number along a run of empty windows
    in_run = pd.Series(empty).groupby(run)
    sizes = (in_run.transform("sum") if hindsight else in_run.cumsum()).to_numpy()
    return candles[~(empty & (sizes >= OUTAGE_WINDOWS))]


def segment_ids(window_start: pd.Series, interval_seconds: int) -> np.ndarray:
    """A number per candle, the same along each run of consecutive windows (sorted input)."""
    step = window_start.diff() != pd.Timedelta(seconds=interval_seconds)
    return step.cumsum().to_numpy()
