"""Writes a drained batch into DuckDB in one transaction: trades, their candles, offsets.

Trades are inserted once per (pair, trade_id); the candles of every window a batch touches
(from the pair's last candle on, so empty windows in between become explicit) are
recomputed from the stored trades with the one candle module and replaced; the Kafka
offsets the batch consumed are written in the same transaction. A crash before COMMIT
leaves nothing; after it, the offsets say the batch is done: nothing lost, nothing doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from btc_platform.candles import CANDLE_TRADE_COLUMNS, candle_sql
from btc_platform.logs import get_logger
from btc_platform.store.schema import ensure_schema
from btc_platform.store.trade_decoding import BATCH_TABLE, decode_batch

log = get_logger(__name__)
RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class BatchResult:
    trades_in_batch: int
    trades_added: int
    candles_written: int
    rejected: list[tuple[int, str]]  # (index in the batch, why it is not a valid trade)


@contextmanager
def open_store(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the store file (created with its schema unless read-only)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            ensure_schema(connection)
        yield connection
    finally:
        connection.close()


@contextmanager
def read_when_free(
    path: Path, give_up: Callable[[float], bool]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the store file once no writer holds it (DuckDB refuses
    readers while a drain writes); the lock error is raised when `give_up(seconds waited)`."""
    waited = 0.0
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as error:
            if give_up(waited):
                raise
            if waited == 0:
                log.info("offline store busy (a writer holds it); retrying", error=str(error))
            time.sleep(RETRY_SECONDS)
            waited += RETRY_SECONDS
    try:
        yield connection
    finally:
        connection.close()


def stored_offsets(connection: duckdb.DuckDBPyConnection, topic: str) -> dict[int, int]:
    rows = connection.execute(
        "SELECT partition, next_offset FROM kafka_offsets WHERE topic = ?", [topic]
    ).fetchall()
    return dict(rows)


def write_batch(
    connection: duckdb.DuckDBPyConnection,
    payloads: list[bytes],
    offsets: dict[tuple[str, int], int],
    interval_seconds: int,
) -> BatchResult:
    """A batch of `trades` messages + the offsets after them, atomically."""
    connection.execute("BEGIN TRANSACTION")
    try:
        rejected = decode_batch(connection, payloads)
        added = scalar(
            connection, f"INSERT INTO trades SELECT * FROM {BATCH_TABLE} ON CONFLICT DO NOTHING"
        )  # the number of rows inserted
        firsts = connection.execute(
            f"SELECT pair, min(ts) FROM {BATCH_TABLE} GROUP BY pair"
        ).fetchall()
        written = sum(
            _refresh_candles(connection, pair, first, interval_seconds) for pair, first in firsts
        )
        store_offsets(connection, offsets)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return BatchResult(len(payloads) - len(rejected), int(added), written, rejected)


def store_offsets(
    connection: duckdb.DuckDBPyConnection, offsets: dict[tuple[str, int], int]
) -> None:
    """Where the next drain of each (topic, partition) starts; inside the batch's transaction."""
    for (topic, partition), next_offset in offsets.items():
        connection.execute(
            "INSERT OR REPLACE INTO kafka_offsets VALUES (?, ?, ?)",
            [topic, partition, next_offset],
        )


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> object:
    """The first column of the first row, or None (reading the result to its end)."""
    rows = connection.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


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
    query = candle_sql(
        trades=f"(SELECT {', '.join(CANDLE_TRADE_COLUMNS)} FROM trades"
        " WHERE pair = $pair AND ts >= $grid_start)",
        interval_seconds=interval,
    )
    bounds = {"pair": pair, "grid_start": start, "grid_end": None, "previous_close": previous}
    written = connection.execute(f"INSERT OR REPLACE INTO candles {query}", bounds).fetchall()
    return int(written[0][0]) if written else 0
