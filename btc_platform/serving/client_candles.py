"""Features from candles a client sends (`/predict_candles`), checked like any input."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd

from btc_platform.features.compute import FEATURES, FLOW_FEATURES, FLOW_INPUTS
from btc_platform.features.segments import OUTAGE_WINDOWS
from btc_platform.serving.api_models import CandleIn
from btc_platform.serving.live_features import LatestFeatures, latest_features


class BadCandles(ValueError):
    """The candles cannot give features; the message names the field and why."""


def _naive_utc(moment: datetime) -> datetime:
    """UTC without tzinfo (a time without an offset is taken as UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _check_order_flow(candles: list[CandleIn], feature_set: str) -> None:
    """A model trained on order flow needs it in every candle."""
    if feature_set != FLOW_FEATURES.key:
        return
    for index, candle in enumerate(candles):
        for name in FLOW_INPUTS:
            if getattr(candle, name) is None:
                raise BadCandles(
                    f"candles[{index}].{name}: the champion uses order flow (feature set "
                    f"{feature_set}), so every candle needs {', '.join(FLOW_INPUTS)}"
                )


def features_from_candles(
    pair: str, candles: list[CandleIn], interval_seconds: int, feature_set: str
) -> LatestFeatures:
    """The features of the newest candle; `feature_set` is the champion's."""
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
    _check_order_flow(candles, feature_set)
    # column by column: a fifth of the time of a frame from each candle's model_dump()
    frame = pd.DataFrame(
        {name: [getattr(c, name) for c in candles] for name in CandleIn.model_fields}
    )
    frame["window_start"] = pd.Series(starts, dtype="datetime64[us]")
    features = latest_features(pair, frame, interval_seconds)
    if features is None:
        raise BadCandles(
            f"candles: the newest candle has no features: a run of {OUTAGE_WINDOWS} or more "
            f"candles without trades within the last {FEATURES.warmup_candles} is an outage, "
            "after which the features need a new warm-up"
        )
    return features
