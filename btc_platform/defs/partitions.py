"""The (pair, horizon) partitions of the feature, training and backtest assets.

Dagster's multi-partition key of `BTC/USD` at 5 minutes is `5m|BTC/USD` (dimensions in name
order: horizon, pair); the UI shows each with its own materializations and metadata.
"""

from __future__ import annotations

import dagster as dg

from btc_platform.pair_horizon import PairHorizon, horizon_key, horizon_of_key

PAIR, HORIZON = "pair", "horizon"


def pair_horizon_partitions(pairs: list[str], horizons: list[int]) -> dg.MultiPartitionsDefinition:
    return dg.MultiPartitionsDefinition(
        {
            PAIR: dg.StaticPartitionsDefinition(list(pairs)),
            HORIZON: dg.StaticPartitionsDefinition([horizon_key(h) for h in horizons]),
        }
    )


def partition_key(target: PairHorizon) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({PAIR: target.pair, HORIZON: horizon_key(target.horizon_minutes)})


def target_of(key: dg.MultiPartitionKey | str) -> PairHorizon:
    """The (pair, horizon) of a partition key."""
    if not isinstance(key, dg.MultiPartitionKey):
        horizon, pair = str(key).split("|")  # dimensions in name order: horizon, pair
        key = dg.MultiPartitionKey({PAIR: pair, HORIZON: horizon})
    keys = key.keys_by_dimension
    return PairHorizon(keys[PAIR], horizon_of_key(keys[HORIZON]))
