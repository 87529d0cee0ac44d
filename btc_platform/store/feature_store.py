"""The `features` table: one row per (pair, interval_seconds, window_start), from final candles.

It holds every column the feature module computes (`FEATURES`; the order-flow columns NULL
where the candles have no order flow); a model's feature set picks its columns from it.
Refreshed incrementally: only windows after the pair's newest stored row are computed, each
from `warmup_candles` of history before it, with the one feature module. A table written by
another version of the features (other columns) is rebuilt: features are derived data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd

from btc_platform.features.compute import FEATURES, compute_features
from btc_platform.features.feature_set import FeatureSet
from btc_platform.store.offline_store import scalar
from btc_platform.store.schema import create_tables
from btc_platform.store.transactions import in_transaction
from btc_platform.store.upsert import upsert

KEY_COLUMNS = ["pair", "interval_seconds", "window_start", "feature_set"]
FEATURE_KEYS = KEY_COLUMNS[:3]  # one row per window: its feature set is a column
EPOCH = datetime(1970, 1, 1)


def _stored_columns(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = 'features' ORDER BY ordinal_position"
    ).fetchall()
    return [row[0] for row in rows]


def ensure_feature_table(connection: duckdb.DuckDBPyConnection) -> None:
    existing = _stored_columns(connection)
    if existing and existing != [*KEY_COLUMNS, *FEATURES.columns]:
        connection.execute("DROP TABLE features")
    columns = ", ".join(f"{name} DOUBLE" for name in FEATURES.columns)
    create_tables(
        connection,
        f"""CREATE TABLE IF NOT EXISTS features (
            pair VARCHAR NOT NULL, interval_seconds INTEGER NOT NULL,
            window_start TIMESTAMP NOT NULL, feature_set VARCHAR NOT NULL, {columns},
            PRIMARY KEY (pair, interval_seconds, window_start)
);""",
    )
    connection.execute("DELETE FROM features WHERE feature_set <> ?", [FEATURES.key])


def read_final_candles(
    connection: duckdb.DuckDBPyConnection, pair: str, interval_seconds: int, since: datetime
) -> pd.DataFrame:
    return connection.execute(
        """SELECT window_start, open, high, low, close, volume, trade_count, buy_volume, buy_count
           FROM candles WHERE pair = ? AND interval_seconds = ? AND final AND window_start >= ?
           ORDER BY window_start""",
        [pair, interval_seconds, since],
    ).df()


def refresh_features(
    connection: duckdb.DuckDBPyConnection, pair: str, interval_seconds: int
) -> int:
    """Compute and store the pair's features for final candles not yet featurized, in one
    transaction: readers never see half a refresh, and one that meets another writer's commit
    on a lake runs again on the newer snapshot."""
    return in_transaction(connection, lambda: _refresh(connection, pair, interval_seconds))


def _refresh(connection: duckdb.DuckDBPyConnection, pair: str, interval_seconds: int) -> int:
    ensure_feature_table(connection)
    last = scalar(
        connection,
        "SELECT max(window_start) FROM features WHERE pair = ? AND interval_seconds = ?",
        [pair, interval_seconds],
    )
    since = (
        last - timedelta(seconds=interval_seconds * FEATURES.warmup_candles)
        if isinstance(last, datetime)
        else EPOCH
    )
    candles = read_final_candles(connection, pair, interval_seconds, since)
    fresh = compute_features(candles, interval_seconds)
    if isinstance(last, datetime):
        fresh = fresh[fresh["window_start"] > last]
    if fresh.empty:
        return 0
    fresh.insert(0, "pair", pair)
    fresh.insert(1, "interval_seconds", interval_seconds)
    fresh.insert(3, "feature_set", FEATURES.key)
    connection.register("fresh_features", fresh)
    try:
        upsert(connection, "features", "SELECT * FROM fresh_features", keys=FEATURE_KEYS)
    finally:
        connection.unregister("fresh_features")
    return len(fresh)


def read_features(
    connection: duckdb.DuckDBPyConnection,
    pair: str,
    interval_seconds: int,
    feature_set: FeatureSet = FEATURES,
) -> pd.DataFrame:
    """The stored features (window_start + the set's columns), oldest first."""
    if _stored_columns(connection) != [*KEY_COLUMNS, *FEATURES.columns]:
        raise ValueError(
            f"the offline store has no features of version {FEATURES.key} yet: materialize "
            "`features` (or run `btc-platform train`, which refreshes them)"
        )
    columns = ", ".join(["window_start", *feature_set.columns])
    return connection.execute(
        f"SELECT {columns} FROM features WHERE pair = ? AND interval_seconds = ?"
        " ORDER BY window_start",
        [pair, interval_seconds],
    ).df()
