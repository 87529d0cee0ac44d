"""The features of a pair's newest final candle, computed when a candle closes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from btc_platform.features.indicators import FEATURES, compute_features


@dataclass(frozen=True, slots=True)
class LatestFeatures:
    pair: str
    window_start: datetime
    as_of: datetime  # the candle's close time: features know nothing after it
    close: float
    values: np.ndarray  # in FEATURES.columns order

    def frame(self, columns: list[str]) -> pd.DataFrame:
        row = dict(zip(FEATURES.columns, self.values, strict=True))
        return pd.DataFrame([[row[c] for c in columns]], columns=columns)


def latest_features(
    pair: str, candles: pd.DataFrame, interval_seconds: int
) -> LatestFeatures | None:
    """Features of the newest candle, or None while the history is shorter than the warm-up
    (or the newest candle sits within a warm-up after a missing window)."""
    if len(candles) <= FEATURES.warmup_candles:
        return None
    features = compute_features(candles, interval_seconds)
    newest = candles["window_start"].iloc[-1]
    if features.empty or features["window_start"].iloc[-1] != newest:
        return None
    start = pd.Timestamp(newest).to_pydatetime()
    return LatestFeatures(
        pair=pair,
        window_start=start,
        as_of=start + timedelta(seconds=interval_seconds),
        close=float(candles["close"].iloc[-1]),
        values=features[list(FEATURES.columns)].iloc[-1].to_numpy(dtype=float),
    )
