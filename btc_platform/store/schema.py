"""Tables of the offline store; keys make every replay idempotent. Timestamps are UTC."""

from __future__ import annotations

import duckdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS trades (
    pair VARCHAR NOT NULL,
    trade_id BIGINT NOT NULL,
    ts TIMESTAMP NOT NULL,
    price DOUBLE NOT NULL,
    qty DOUBLE NOT NULL,
    side VARCHAR NOT NULL,
    ord_type VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (pair, trade_id)
);
CREATE TABLE IF NOT EXISTS candles (
    pair VARCHAR NOT NULL,
    interval_seconds INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL,
    trade_count BIGINT,  -- 0: a window without trades; NULL: unknown (imported OHLCV)
    vwap DOUBLE,  -- NULL: unknown (imported OHLCV)
    final BOOLEAN NOT NULL,  -- the watermark passed the window's end plus grace
    PRIMARY KEY (pair, interval_seconds, window_start)
);
CREATE TABLE IF NOT EXISTS predictions (
    id VARCHAR PRIMARY KEY,
    pair VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,  -- close time of the last candle the prediction used
    horizon_minutes INTEGER NOT NULL,
    model_version VARCHAR NOT NULL,
    current_price DOUBLE NOT NULL,
    predicted_return DOUBLE NOT NULL,
    band_low DOUBLE NOT NULL,
    band_high DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS kafka_offsets (
    topic VARCHAR NOT NULL,
    partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(SCHEMA)
