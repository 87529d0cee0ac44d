"""Writes a drained batch into the store in one transaction: trades, their candles, offsets.

Trades are inserted once per (pair, trade_id); the candles of every window a batch touches
(from the pair's last candle on, so empty windows in between become explicit) are
recomputed from the stored trades with the one candle module and replaced; the Kafka
offsets the batch consumed are written in the same transaction. A crash before COMMIT
leaves nothing; after it, the offsets say the batch is done: nothing lost, nothing doubled.

Several drains may write one DuckLake at once. Each batch says from which stored offset of
each partition it continues (`Consumed.since`); a batch whose partitions another writer has
moved on is refused whole (`StaleBatch`). Two batches committing at once both update
`kafka_offsets`, so DuckLake lets only one commit and the other is retried from the start:
batches apply one after the other, and each sees the trades and offsets of those before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from btc_platform.candles import CANDLE_TRADE_COLUMNS, candle_sql
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform.store.trade_decoding import BATCH_TABLE, decode_batch
from btc_platform.store.transactions import in_transaction
from btc_platform.store.upsert import insert_missing, upsert

TopicPartitionKey = tuple[str, int]
DUPLICATE_SLACK = "INTERVAL 1 DAY"  # a replayed trade's time differs by far less than this
TRADE_COUNT = "SELECT count(*) FROM trades"


@dataclass(frozen=True, slots=True)
class Consumed:
    """The Kafka records a batch holds, per (topic, partition): from the stored offset the
    batch continues (`since`) to the offset after its last record (`next`)."""

    since: dict[TopicPartitionKey, int]
    next: dict[TopicPartitionKey, int]


class StaleBatch(Exception):
    """Another writer stored offsets of the batch's partitions first; nothing was written."""

    def __init__(self, stored: dict[TopicPartitionKey, int]) -> None:
        super().__init__(f"partitions moved on by another writer: {stored}")
        self.stored = stored


@dataclass(frozen=True, slots=True)
class BatchResult:
    trades_in_batch: int
    trades_added: int
    candles_written: int
    rejected: list[tuple[int, str]]  # (index in the batch, why it is not a valid trade)


def stored_offsets(connection: duckdb.DuckDBPyConnection, topic: str) -> dict[int, int]:
    rows = connection.execute(
        "SELECT partition, max(next_offset) FROM kafka_offsets WHERE topic = ? GROUP BY ALL",
        [topic],
    ).fetchall()
    return dict(rows)


def seed_offsets(
    connection: duckdb.DuckDBPyConnection, partitions: list[TopicPartitionKey]
) -> None:
    """An offset row (0: from the beginning) for each partition that has none, so that every
    batch updates its partitions' rows: two writers of one partition then always conflict."""
    source, params = _offset_rows(dict.fromkeys(partitions, 0))
    in_transaction(connection, lambda: insert_missing(connection, "kafka_offsets", source, params))


def _offset_rows(offsets: dict[TopicPartitionKey, int]) -> tuple[str, list]:
    """A query of `kafka_offsets` rows, and its parameters."""
    values = ", ".join("(?, ?::INTEGER, ?::BIGINT)" for _ in offsets)
    params = [
        value
        for (topic, partition), offset in offsets.items()
        for value in (topic, partition, offset)
    ]
    return f"SELECT * FROM (VALUES {values}) AS rows(topic, partition, next_offset)", params


def write_batch(
    connection: duckdb.DuckDBPyConnection,
    payloads: list[bytes],
    consumed: Consumed,
    interval_seconds: int,
) -> BatchResult:
    """A batch of `trades` messages + the offsets after them, atomically."""

    def work() -> BatchResult:
        store_offsets(connection, consumed)
        rejected = decode_batch(connection, payloads)
        added = _insert_new_trades(connection)
        firsts = connection.execute(
            f"SELECT pair, min(ts) FROM {BATCH_TABLE} GROUP BY pair"
        ).fetchall()
        written = sum(
            _refresh_candles(connection, pair, first, interval_seconds) for pair, first in firsts
        )
        return BatchResult(len(payloads) - len(rejected), added, written, rejected)

    return in_transaction(connection, work)


def _insert_new_trades(connection: duckdb.DuckDBPyConnection) -> int:
    """The batch's trades whose (pair, trade_id) the store does not hold yet. The stored side
    is read only around the batch's time range, so a lake reads few of its Parquet files."""
    rows = connection.execute(
        f"""INSERT INTO trades
            SELECT batch.* FROM (SELECT DISTINCT ON (pair, trade_id) * FROM {BATCH_TABLE}) batch
            ANTI JOIN (
                SELECT pair, trade_id FROM trades
                WHERE ts BETWEEN (SELECT min(ts) - {DUPLICATE_SLACK} FROM {BATCH_TABLE})
                    AND (SELECT max(ts) + {DUPLICATE_SLACK} FROM {BATCH_TABLE})
            ) stored USING (pair, trade_id)"""
    ).fetchall()
    return int(rows[0][0]) if rows else 0


def store_offsets(connection: duckdb.DuckDBPyConnection, consumed: Consumed) -> None:
    """Where the next drain of each (topic, partition) starts, inside the batch's transaction;
    StaleBatch if another writer stored an offset the batch does not continue from."""
    stored = {
        (topic, partition): offset
        for topic in {topic for topic, _ in consumed.next}
        for partition, offset in stored_offsets(connection, topic).items()
    }
    moved = {
        key: stored.get(key, 0)
        for key, since in consumed.since.items()
        if stored.get(key, 0) != since
    }
    if moved:
        raise StaleBatch(moved)
    if consumed.next:
        upsert(connection, "kafka_offsets", *_offset_rows(consumed.next))


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """The first column of the first row, or None (reading the result to its end)."""
    rows = connection.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def stored_trade_count(store: StoreLocation) -> int:
    """The trades in the store; 0 before a first drain has made it or its tables (a lake's
    catalog exists a moment before the transaction that creates the tables commits). Read
    again when a SQLite catalog was locked by a writer's commit."""
    if not store.exists():
        return 0
    with open_store(store, read_only=True) as connection:
        try:
            return in_transaction(connection, lambda: scalar(connection, TRADE_COUNT))
        except duckdb.CatalogException:
            return 0


def _refresh_candles(
    connection: duckdb.DuckDBPyConnection, pair: str, first_ts: pd.Timestamp, interval: int
) -> int:
    """Recompute the pair's candles, in SQL, from its first candle that is not final yet (the
    last one never is: it holds the newest trade), or from `first_ts` if that is earlier."""
    window = pd.Timestamp(first_ts).floor(f"{interval}s")
    open_since = scalar(
        connection,
        "SELECT min(window_start) FROM candles WHERE pair = ? AND interval_seconds = ?"
        " AND NOT final",
        [pair, interval],
    )
    start = (
        min(window, pd.Timestamp(open_since)) if open_since is not None else window
    ).to_pydatetime()
    previous = scalar(
        connection,
        "SELECT close FROM candles WHERE pair = ? AND interval_seconds = ? AND window_start < ?"
        " ORDER BY window_start DESC LIMIT 1",
        [pair, interval, start],
    )
    max_trade_id = scalar(
        connection, "SELECT max(trade_id) FROM trades WHERE pair = ? AND ts >= ?", [pair, start]
    )
    query = candle_sql(
        trades=f"(SELECT {', '.join(CANDLE_TRADE_COLUMNS)} FROM trades"
        " WHERE pair = $pair AND ts >= $grid_start)",
        interval_seconds=interval,
        max_trade_id=max_trade_id,
    )
    bounds = {"pair": pair, "grid_start": start, "grid_end": None, "previous_close": previous}
    return upsert(connection, "candles", query, bounds)
