"""Tables of the offline store and their keys. Timestamps are UTC.

Every write is an upsert or an insert of what is missing by these keys (`upsert`), so a
replay is idempotent on both backends. The DuckDB file also enforces them as primary keys;
a DuckLake has no keys, so its tables are created without them.
"""

from __future__ import annotations

import re

import duckdb

LAKE = "lake"  # the attached DuckLake's name: the connection's current database

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
    buy_volume DOUBLE,  -- volume of buyer-initiated trades; NULL: unknown (imported OHLCV)
    buy_count BIGINT,  -- number of buyer-initiated trades; NULL: unknown
    PRIMARY KEY (pair, interval_seconds, window_start)
);
CREATE TABLE IF NOT EXISTS predictions (
    id VARCHAR PRIMARY KEY,
    pair VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,  -- close time of the last candle the prediction used
    horizon_minutes INTEGER NOT NULL,
    model_version VARCHAR NOT NULL,
    model_name VARCHAR,  -- the (pair, horizon)'s registered model; NULL: an older record
    current_price DOUBLE NOT NULL,
    predicted_return DOUBLE NOT NULL,
    band_low DOUBLE NOT NULL,
    band_high DOUBLE NOT NULL,
    band_scale DOUBLE,  -- the live calibration's factor on the band
    realized_vol DOUBLE,  -- std of the last 60 one-candle returns at as_of
    vol_baseline_low DOUBLE,  -- the volatility-scaled baseline's p10 and p90 (log returns)
    vol_baseline_high DOUBLE,
    origin VARCHAR  -- 'live' (/predict) or 'candles' (/predict_candles: the client's data)
);
CREATE TABLE IF NOT EXISTS backtest_predictions (
    run_id VARCHAR NOT NULL,  -- the backtest's MLflow run
    pair VARCHAR NOT NULL,
    horizon_minutes INTEGER NOT NULL,
    as_of TIMESTAMP NOT NULL,  -- close time of the last candle the forecast used
    model_version VARCHAR NOT NULL,  -- the backtest's champion then, e.g. bt-3
    trained_until TIMESTAMP NOT NULL,  -- when its last training target was realized
    current_price DOUBLE NOT NULL,
    p10 DOUBLE NOT NULL,  -- quantiles and outcome as forward log returns
    p50 DOUBLE NOT NULL,
    p90 DOUBLE NOT NULL,
    realized_return DOUBLE,  -- NULL: not known (the end of the data, a missing candle)
    band_scale DOUBLE,  -- the live calibration's factor then
    realized_vol DOUBLE,
    vol_scaled_p10 DOUBLE,  -- the baselines' bands at that close
    vol_scaled_p90 DOUBLE,
    static_p10 DOUBLE,
    static_p90 DOUBLE,
    ewma_blend_p10 DOUBLE,
    ewma_blend_p90 DOUBLE,
    PRIMARY KEY (run_id, pair, horizon_minutes, as_of)
);
CREATE TABLE IF NOT EXISTS kafka_offsets (
    topic VARCHAR NOT NULL,
    partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""


# Columns added after the first release: a store written by an older version gains them.
MIGRATIONS = """
ALTER TABLE candles ADD COLUMN IF NOT EXISTS buy_volume DOUBLE;
ALTER TABLE candles ADD COLUMN IF NOT EXISTS buy_count BIGINT;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS band_scale DOUBLE;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS realized_vol DOUBLE;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS vol_baseline_low DOUBLE;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS vol_baseline_high DOUBLE;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS origin VARCHAR;
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS model_name VARCHAR;
ALTER TABLE backtest_predictions ADD COLUMN IF NOT EXISTS ewma_blend_p10 DOUBLE;
ALTER TABLE backtest_predictions ADD COLUMN IF NOT EXISTS ewma_blend_p90 DOUBLE;
"""


TABLE_KEYS = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.DOTALL)


def table_keys(ddl: str) -> dict[str, tuple[str, ...]]:
    """Each table's key columns, from its PRIMARY KEY clause in `ddl`."""
    keys = {}
    for table, body in TABLE_KEYS.findall(ddl):
        clause = re.search(r"PRIMARY KEY \(([^)]*)\)", body)
        inline = re.search(r"^\s*(\w+) \w+ PRIMARY KEY", body, re.MULTILINE)
        columns = clause.group(1) if clause else inline.group(1) if inline else ""
        keys[table] = tuple(column.strip() for column in columns.split(",") if column.strip())
    return keys


KEYS = table_keys(SCHEMA)


def is_lake(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection's store is a DuckLake (no keys: dedup is the writer's job)."""
    return connection.execute("SELECT current_database()").fetchone() == (LAKE,)


TABLE_KEY = re.compile(r",(?P<comment>[ \t]*--[^\n]*)?\s*PRIMARY KEY \([^)]*\)")


def create_tables(connection: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """CREATE TABLE IF NOT EXISTS statements, without their keys on a lake."""
    if is_lake(connection):
        ddl = TABLE_KEY.sub(lambda key: key["comment"] or "", ddl).replace(" PRIMARY KEY", "")
    connection.execute(ddl)


def ensure_schema(connection: duckdb.DuckDBPyConnection) -> None:
    create_tables(connection, SCHEMA)
    connection.execute(MIGRATIONS)
