"""Coarser candles (5m, 15m, 1h) resampled from `candles_1m`, incrementally."""

from datetime import datetime

import dagster as dg

from btc_platform.candles import resample_candles
from btc_platform.defs.metadata import candle_metadata
from btc_platform.defs.resources import DUCKDB_POOL, OfflineStoreResource
from btc_platform.store.offline_store import scalar
from btc_platform.store.upsert import upsert

COARSE_INTERVALS = {"candles_5m": 300, "candles_15m": 900, "candles_1h": 3_600}


def coarse_candles(name: str, seconds: int) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        deps=["candles_1m"],
        description=f"{seconds // 60}-minute candles resampled from candles_1m.",
        kinds={"duckdb", "pandas"},
        group_name="market_data",
        pool=DUCKDB_POOL,
    )
    def _asset(offline_store: OfflineStoreResource) -> dg.MaterializeResult:
        fine = offline_store.candle_seconds
        with offline_store.connect() as connection:
            since = scalar(
                connection,
                "SELECT max(window_start) FROM candles WHERE interval_seconds = ?",
                [seconds],
            )
            source = connection.execute(
                "SELECT * FROM candles WHERE interval_seconds = ? AND window_start >= ?",
                [fine, since if since is not None else datetime(1970, 1, 1)],
            ).df()
            coarse = resample_candles(source, seconds)
            connection.register("coarse", coarse)
            upsert(connection, "candles", "SELECT * FROM coarse")
            connection.unregister("coarse")
            metadata = candle_metadata(connection, seconds)
        return dg.MaterializeResult(metadata={"candles_written": len(coarse), **metadata})

    return _asset


coarse_candle_assets = [coarse_candles(name, s) for name, s in COARSE_INTERVALS.items()]
