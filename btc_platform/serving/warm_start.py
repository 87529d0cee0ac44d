"""Warm-up from the offline store: recent final candles, the trades of windows still open,
and the Kafka offsets they reflect, read in one read-only snapshot (never a write lock).

The drain wrote all three in one transaction, so following Kafka from these offsets
skips nothing and counts nothing twice. While a writer holds the file, DuckDB refuses
readers: the read is retried until it gets through. A DuckLake is read at its latest
snapshot while drains write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from btc_platform.logs import get_logger
from btc_platform.serving.live_candles import LIVE_CANDLE_COLUMNS, TRADE_COLUMNS
from btc_platform.store.offline_store import stored_offsets
from btc_platform.store.store_connection import read_when_free
from btc_platform.store.store_location import StoreLocation, as_location

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WarmStart:
    final_candles: dict[str, pd.DataFrame] = field(default_factory=dict)
    open_trades: dict[str, pd.DataFrame] = field(default_factory=dict)
    offsets: dict[int, int] = field(default_factory=dict)  # partition -> next offset


def _read(
    connection: duckdb.DuckDBPyConnection,
    topic: str,
    pairs: list[str],
    interval_seconds: int,
    history: int,
) -> WarmStart:
    final, open_trades = {}, {}
    for pair in pairs:
        final[pair] = connection.execute(
            f"""SELECT {", ".join(LIVE_CANDLE_COLUMNS)} FROM (
                    SELECT * FROM candles WHERE pair = ? AND interval_seconds = ? AND final
                    ORDER BY window_start DESC LIMIT ?)
                ORDER BY window_start""",
            [pair, interval_seconds, history],
        ).df()
        open_trades[pair] = connection.execute(
            f"""SELECT {", ".join(TRADE_COLUMNS)} FROM trades
                WHERE pair = ? AND ts >= (
                    SELECT coalesce(max(window_start) + to_seconds(?), TIMESTAMP '1970-01-01')
                    FROM candles WHERE pair = ? AND interval_seconds = ? AND final)
                ORDER BY ts, trade_id""",
            [pair, interval_seconds, pair, interval_seconds],
        ).df()
    offsets = stored_offsets(connection, topic)
    return WarmStart(final, open_trades, offsets)


def read_warm_start(
    store: StoreLocation | Path,
    topic: str,
    pairs: list[str],
    interval_seconds: int,
    history: int,
    stopped: Callable[[], bool] = lambda: False,
) -> WarmStart:
    """The snapshot; an empty one when there is no store yet (Kafka is then read from its
    beginning)."""
    location = as_location(store)
    if not location.exists():
        log.info("no offline store yet; following Kafka from the beginning", store=str(location))
        return WarmStart()
    try:
        with read_when_free(location, lambda _waited: stopped()) as connection:
            return _read(connection, topic, pairs, interval_seconds, history)
    except duckdb.CatalogException:  # a store without the tables yet
        return WarmStart()
