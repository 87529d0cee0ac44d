"""Reads a training set out of the offline store, so training can release DuckDB.

The feature set follows the data: the order-flow set when every candle of the pair has
order flow (candles built from trades), the candle-only set otherwise (imported candles).
"""

from __future__ import annotations

import duckdb

from btc_platform.features.compute import feature_set_for
from btc_platform.store.feature_store import EPOCH, read_features, read_final_candles
from btc_platform.training.dataset import TrainingSet, build_training_set


def load_training_set(
    connection: duckdb.DuckDBPyConnection,
    pair: str,
    interval_seconds: int,
    horizon_minutes: int,
) -> TrainingSet:
    features = read_features(connection, pair, interval_seconds)
    candles = read_final_candles(connection, pair, interval_seconds, EPOCH)
    feature_set = feature_set_for(features)
    return build_training_set(
        features, candles, feature_set, pair, interval_seconds, horizon_minutes
    )
