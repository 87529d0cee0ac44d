"""`features`: indicators per pair at BTC_CANDLE_SECONDS, refreshed incrementally."""

import dagster as dg

from btc_platform.defs.metadata import markdown_table
from btc_platform.defs.resources import DUCKDB_POOL, OfflineStoreResource
from btc_platform.features.compute import FEATURES
from btc_platform.store.feature_store import candle_pairs, refresh_features


@dg.asset(
    deps=["candles_1m"],
    description=f"Features {FEATURES.key} of each final candle, per pair: volatility "
    "estimators (realized, Parkinson, Garman-Klass, exponential) relative to a reference "
    "volatility, standardized returns, pandas-ta indicators, volume, time of day and week, "
    "and order flow where the candles come from trades; no look-ahead.",
    kinds={"duckdb", "pandas"},
    group_name="features",
    pool=DUCKDB_POOL,
)
def features(offline_store: OfflineStoreResource) -> dg.MaterializeResult:
    seconds = offline_store.candle_seconds
    with offline_store.connect() as connection:
        added = {
            pair: refresh_features(connection, pair, seconds)
            for pair in candle_pairs(connection, seconds)
        }
        summary = connection.execute(
            """SELECT pair, count(*) AS rows, min(window_start) AS first,
                      max(window_start) AS newest
               FROM features WHERE interval_seconds = ? GROUP BY pair ORDER BY pair""",
            [seconds],
        ).df()
    return dg.MaterializeResult(
        metadata={
            "features": FEATURES.key,
            "columns": len(FEATURES.columns),
            "warmup_candles": FEATURES.warmup_candles,
            "rows_added": sum(added.values()),
            "rows_added_by_pair": dg.MetadataValue.json(added),
            "by_pair": markdown_table(summary),
        }
    )
