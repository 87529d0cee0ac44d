"""Asset checks on the offline store: invariants, duplicates, continuity, freshness.

They read DuckDB, which a writer in another process locks, so they queue in its pool too.
"""

from datetime import UTC, datetime

import dagster as dg

from btc_platform.defs.metadata import markdown_table
from btc_platform.defs.resources import DUCKDB_POOL, OfflineStoreResource


@dg.asset_check(
    asset="candles_1m", description="low <= open, close <= high; volume >= 0.", pool=DUCKDB_POOL
)
def ohlc_invariants(offline_store: OfflineStoreResource) -> dg.AssetCheckResult:
    with offline_store.connect(read_only=True) as connection:
        bad = connection.execute(
            """SELECT pair, interval_seconds, window_start, open, high, low, close, volume
               FROM candles
               WHERE low > least(open, close) OR high < greatest(open, close) OR volume < 0
               ORDER BY window_start LIMIT 20"""
        ).df()
    return dg.AssetCheckResult(
        passed=bad.empty,
        metadata={
            "violations_shown": len(bad),
            **({"examples": markdown_table(bad)} if len(bad) else {}),
        },
    )


@dg.asset_check(asset="trades", description="No (pair, trade_id) stored twice.", pool=DUCKDB_POOL)
def no_duplicate_trade_ids(offline_store: OfflineStoreResource) -> dg.AssetCheckResult:
    with offline_store.connect(read_only=True) as connection:
        rows, unique = connection.execute(
            "SELECT count(*), count(DISTINCT (pair, trade_id)) FROM trades"
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=rows == unique, metadata={"rows": rows, "duplicates": rows - unique}
    )


@dg.asset_check(
    asset="candles_1m",
    description="Continuity by pair: missing windows (must be none) and empty windows (reported).",
    pool=DUCKDB_POOL,
)
def candle_continuity(offline_store: OfflineStoreResource) -> dg.AssetCheckResult:
    seconds = offline_store.candle_seconds
    with offline_store.connect(read_only=True) as connection:
        report = connection.execute(
            """SELECT pair, count(*) AS candles,
                      count(*) FILTER (WHERE trade_count = 0) AS empty_windows,
                      CAST(epoch(max(window_start) - min(window_start)) / ? AS BIGINT)
                          + 1 - count(*) AS missing_windows
               FROM candles WHERE interval_seconds = ? GROUP BY pair ORDER BY pair""",
            [seconds, seconds],
        ).df()
    missing = int(report["missing_windows"].sum()) if len(report) else 0
    return dg.AssetCheckResult(
        passed=missing == 0,
        metadata={"missing_windows": missing, "by_pair": markdown_table(report)},
    )


@dg.asset_check(
    asset="candles_1m", description="The newest candle is recent enough.", pool=DUCKDB_POOL
)
def candle_freshness(offline_store: OfflineStoreResource) -> dg.AssetCheckResult:
    with offline_store.connect(read_only=True) as connection:
        newest = connection.execute(
            "SELECT max(window_start) FROM candles WHERE interval_seconds = ?",
            [offline_store.candle_seconds],
        ).fetchall()[0][0]
    limit = offline_store.freshness_seconds
    if newest is None:
        return dg.AssetCheckResult(passed=False, metadata={"reason": "no candles yet"})
    age = (datetime.now(UTC).replace(tzinfo=None) - newest).total_seconds()
    return dg.AssetCheckResult(
        passed=age <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "newest_window": str(newest),
            "age_seconds": round(age, 1),
            "limit_seconds": limit,
        },
    )


asset_checks = [ohlc_invariants, no_duplicate_trade_ids, candle_continuity, candle_freshness]
