"""`features`: a pair's indicators at BTC_CANDLE_SECONDS, refreshed incrementally.

Partitioned like the training assets (pair x horizon) so that a retrain of one partition
runs as one job; the features themselves do not depend on the horizon, so the partitions
of one pair share its rows (a refresh of one finds the other's rows already there).
"""

import dagster as dg

from btc_platform.defs.partitions import target_of
from btc_platform.defs.resources import DUCKDB_POOL, OfflineStoreResource
from btc_platform.features.compute import FEATURES
from btc_platform.store.feature_store import refresh_features


def features_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        deps=["candles_1m"],
        description=f"Features {FEATURES.key} of each final candle of the partition's pair: "
        "volatility estimators (realized, Parkinson, Garman-Klass, exponential) relative to a "
        "reference volatility, standardized returns, pandas-ta indicators, volume, time of day "
        "and week, and order flow where the candles come from trades; no look-ahead.",
        kinds={"duckdb", "pandas"},
        group_name="features",
        pool=DUCKDB_POOL,
        partitions_def=partitions,
    )
    def features(
        context: dg.AssetExecutionContext, offline_store: OfflineStoreResource
    ) -> dg.MaterializeResult:
        pair = target_of(context.partition_key).pair
        seconds = offline_store.candle_seconds
        with offline_store.connect() as connection:
            added = refresh_features(connection, pair, seconds)
            rows, first, newest = connection.execute(
                """SELECT count(*), min(window_start), max(window_start)
                   FROM features WHERE interval_seconds = ? AND pair = ?""",
                [seconds, pair],
            ).fetchone()
        return dg.MaterializeResult(
            metadata={
                "pair": pair,
                "features": FEATURES.key,
                "columns": len(FEATURES.columns),
                "warmup_candles": FEATURES.warmup_candles,
                "rows_added": added,
                "rows_total": int(rows),
                "time_range": f"{first} -> {newest}",
            }
        )

    return features
