"""The features of a pair's final candles as the live service uses them: at each close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from btc_platform.features.compute import FEATURES, compute_features


@dataclass(frozen=True, slots=True)
class LatestFeatures:
    pair: str
    window_start: datetime
    as_of: datetime  # the candle's close time: features know nothing after it
    close: float
    values: np.ndarray  # in FEATURES.columns order


def features_at_closes(
    pair: str, candles: pd.DataFrame, interval_seconds: int
) -> list[LatestFeatures]:
    """The features known at each candle's close, for every candle past its warm-up."""
    features = compute_features(candles, interval_seconds)
    closes = candles.set_index("window_start")["close"]
    values = features[list(FEATURES.columns)].to_numpy(dtype=float)
    step = timedelta(seconds=interval_seconds)
    starts = pd.DatetimeIndex(features["window_start"]).to_pydatetime()
    return [
        LatestFeatures(pair, start, start + step, float(close), values[index])
        for index, (start, close) in enumerate(
            zip(starts, closes.reindex(features["window_start"]).to_numpy(), strict=True)
        )
    ]


def latest_features(
    pair: str, candles: pd.DataFrame, interval_seconds: int
) -> LatestFeatures | None:
    """Features of the newest candle, or None while the history is shorter than the warm-up
    (or the newest candle sits within a warm-up after a hole)."""
    if len(candles) <= FEATURES.warmup_candles:
        return None
    points = features_at_closes(pair, candles, interval_seconds)
    newest = pd.Timestamp(candles["window_start"].iloc[-1]).to_pydatetime()
    return points[-1] if points and points[-1].window_start == newest else None
