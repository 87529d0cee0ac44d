"""The features of every candle: the one feature code path (offline assets and the live service).

Every feature of the candle starting at `window_start` uses only that candle and earlier
ones (it is known at the candle's close). A run of candles with a hole in it (a missing
window, or an outage: see `segments`) is split there: each contiguous segment is warmed up
on its own and its first `warmup_candles` rows are dropped, never guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.features import calendar, indicators, order_flow, price_volume, volatility
from btc_platform.features.candle_arrays import CandleArrays
from btc_platform.features.feature_set import FeatureSet
from btc_platform.features.segments import segment_ids, without_outages

OHLCV = ["open", "high", "low", "close", "volume"]
CANDLE_INPUTS = ["window_start", *OHLCV]
# The candle columns the order-flow features read, when the candles have them.
FLOW_INPUTS = list(order_flow.FLOW_INPUTS)
WARMUP_CANDLES = max(volatility.WARMUP, indicators.WARMUP) + 40

_CANDLE_COLUMNS = (
    *volatility.VOLATILITY_COLUMNS,
    *price_volume.PRICE_VOLUME_COLUMNS,
    *indicators.INDICATOR_COLUMNS,
    *calendar.CALENDAR_COLUMNS,
)
SCALE_COLUMNS = ("vol_ref", "realized_vol_60", "ewma_blend_vol")

CANDLE_FEATURES = FeatureSet(
    name="candle-vol",
    version=2,
    columns=_CANDLE_COLUMNS,
    warmup_candles=WARMUP_CANDLES,
    scale_columns=SCALE_COLUMNS,
)
FLOW_FEATURES = FeatureSet(
    name="trade-flow",
    version=2,
    columns=(*_CANDLE_COLUMNS, *order_flow.ORDER_FLOW_COLUMNS),
    warmup_candles=WARMUP_CANDLES,
    scale_columns=SCALE_COLUMNS,
)
# What is computed and stored for every candle (the flow columns NaN where unknown).
FEATURES = FLOW_FEATURES
FEATURE_SETS = {s.key: s for s in (CANDLE_FEATURES, FLOW_FEATURES)}


def feature_set_for(features: pd.DataFrame) -> FeatureSet:
    """The order-flow set when every row has order flow, else the candle-only set."""
    flow = list(order_flow.ORDER_FLOW_COLUMNS)
    has_flow = not features.empty and features[flow].notna().all().all()
    return FLOW_FEATURES if has_flow else CANDLE_FEATURES


def _segment_features(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    c = CandleArrays(candles.reset_index(drop=True), interval_seconds)
    columns = volatility.volatility_features(c)
    vol_ref = columns["vol_ref"]
    columns |= price_volume.price_volume_features(c, vol_ref)
    columns |= indicators.indicator_features(c, vol_ref)
    columns |= calendar.calendar_features(c)
    columns |= order_flow.order_flow_features(c)
    values = np.column_stack([columns[name] for name in FEATURES.columns])[WARMUP_CANDLES:]
    values[~np.isfinite(values)] = np.nan
    frame = pd.DataFrame(values, columns=list(FEATURES.columns))
    frame.insert(0, "window_start", c.frame["window_start"].iloc[WARMUP_CANDLES:].to_numpy())
    return frame


def compute_features(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    """`window_start` + FEATURES.columns for one pair's candles of one interval.

    `candles` has at least window_start and OHLCV (and the order-flow inputs
    trade_count, buy_volume, buy_count when known); any order. Rows within the warm-up of
    their contiguous segment are dropped.
    """
    missing = [c for c in CANDLE_INPUTS if c not in candles.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {', '.join(missing)}")
    present = [c for c in FLOW_INPUTS if c in candles.columns]
    ordered = candles.sort_values("window_start")[[*CANDLE_INPUTS, *present]]
    ordered = without_outages(ordered.astype(dict.fromkeys(OHLCV, "float64")), hindsight=False)
    segments = [
        _segment_features(part, interval_seconds)
        for _, part in ordered.groupby(
            segment_ids(ordered["window_start"], interval_seconds), sort=True
        )
        if len(part) > WARMUP_CANDLES
    ]
    if not segments:
        return pd.DataFrame(columns=["window_start", *FEATURES.columns])
    return pd.concat(segments, ignore_index=True)
