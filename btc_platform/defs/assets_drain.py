"""`trades` and `candles_1m`: both written by one drain transaction, so one multi-asset."""

from collections.abc import Iterator

import dagster as dg

from btc_platform.defs.metadata import candle_metadata, trade_metadata
from btc_platform.defs.resources import DUCKDB_POOL, KafkaResource, OfflineStoreResource


class DrainConfig(dg.Config):
    batch_size: int = 50_000
    max_messages: int = 2_000_000


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "trades",
            description="Every trade drained from Kafka `trades`, keyed by (pair, trade_id).",
            kinds={"kafka", "duckdb"},
            group_name="market_data",
        ),
        dg.AssetSpec(
            "candles_1m",
            description="OHLCV candles at BTC_CANDLE_SECONDS by event time; empty windows "
            "explicit (trade_count 0, close carried forward).",
            deps=["trades"],
            kinds={"duckdb"},
            group_name="market_data",
        ),
    ],
    pool=DUCKDB_POOL,
)
def drained_market_data(
    context: dg.AssetExecutionContext,
    config: DrainConfig,
    kafka: KafkaResource,
    offline_store: OfflineStoreResource,
) -> Iterator[dg.MaterializeResult]:
    """Drain Kafka into DuckDB until caught up (trades, candles and offsets in one commit)."""
    result = offline_store.drain(kafka, config.batch_size, config.max_messages)
    context.log.info(
        f"drained {result.messages} messages, {result.trades_added} new trades, "
        f"{result.candles_written} candles written"
    )
    with offline_store.connect(read_only=False) as connection:
        trades = trade_metadata(connection, result)
        candles = candle_metadata(connection, offline_store.candle_seconds)
    yield dg.MaterializeResult(asset_key="trades", metadata=trades)
    yield dg.MaterializeResult(asset_key="candles_1m", metadata=candles)
