"""Features from candles a client sends (`/predict_candles`), checked like any input."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd

from btc_platform.features.indicators import FEATURES
from btc_platform.serving.api_models import CandleIn
from btc_platform.serving.live_features import LatestFeatures, latest_features


class BadCandles(ValueError):
    """The candles cannot give features; the message names the field and why."""


def _naive_utc(moment: datetime) -> datetime:
    """UTC without tzinfo (a time without an offset is taken as UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def features_from_candles(
    pair: str, candles: list[CandleIn], interval_seconds: int
) -> LatestFeatures:
    needed = FEATURES.warmup_candles + 1
    if len(candles) < needed:
        raise BadCandles(
            f"candles: need at least {needed} consecutive candles (the features need "
            f"{FEATURES.warmup_candles} of warm-up), got {len(candles)}"
        )
    starts = [_naive_utc(c.window_start) for c in candles]
    step = timedelta(seconds=interval_seconds)
    for index, (before, after) in enumerate(itertools.pairwise(starts)):
        if after - before != step:
            raise BadCandles(
                f"candles[{index + 1}].window_start: expected {before + step:%Y-%m-%dT%H:%M:%S}Z "
                f"({interval_seconds} s after the previous candle, oldest first), got "
                f"{after:%Y-%m-%dT%H:%M:%S}Z"
            )
    frame = pd.DataFrame([c.model_dump() for c in candles])
    frame["window_start"] = pd.Series(starts, dtype="datetime64[us]")
    features = latest_features(pair, frame, interval_seconds)
    if features is None:  # cannot happen for consecutive candles beyond the warm-up
        raise BadCandles("candles: no features could be computed from them")
    return features
