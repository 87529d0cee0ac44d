"""Reads a training set out of the offline store, so training can release DuckDB."""

from __future__ import annotations

import duckdb

from btc_platform.features.feature_set import FeatureSet
from btc_platform.features.indicators import FEATURES
from btc_platform.store.feature_store import EPOCH, read_features, read_final_candles
from btc_platform.training.dataset import TrainingSet, build_training_set


def load_training_set(
    connection: duckdb.DuckDBPyConnection,
    pair: str,
    interval_seconds: int,
    horizon_minutes: int,
    feature_set: FeatureSet = FEATURES,
) -> TrainingSet:
    features = read_features(connection, pair, interval_seconds, feature_set)
    candles = read_final_candles(connection, pair, interval_seconds, EPOCH)
    return build_training_set(
        features, candles, feature_set, pair, interval_seconds, horizon_minutes
    )
