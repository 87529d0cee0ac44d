"""Decoding a batch of `trades` messages inside DuckDB, with Python as the referee.

DuckDB parses the JSON and checks the contract for the whole batch at once (fast: no Python
object per message). It only accepts what `trade_from_json` would accept; every message it
does not accept — another timestamp format, a field of an unusual type, garbage — is decoded
by `trade_from_json` itself, which either accepts it or says exactly what is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from btc_platform.trades import (
    EARLIEST_TRADE,
    MAX_CLOCK_SKEW,
    InvalidTrade,
    Trade,
    trade_from_json,
)

BATCH_TABLE = "batch_trades"
NUMBER = "('DOUBLE', 'UBIGINT', 'BIGINT')"
FIELDS = ["pair", "trade_id", "price", "qty", "side", "source", "ord_type", "ts"]
PATHS = "[" + ", ".join(f"'$.{field}'" for field in FIELDS) + "]"
DECODE_SQL = f"""
CREATE OR REPLACE TEMP TABLE batch_decoded AS
WITH parsed AS (SELECT row, TRY_CAST(try(decode(payload)) AS JSON) AS j FROM batch_payloads),
fields AS (SELECT row, json_type(j) AS kind, json_extract(j, {PATHS}) AS f FROM parsed),
typed AS (
    SELECT row,
        coalesce(kind = 'OBJECT'
            AND json_type(f[1]) = 'VARCHAR'
            AND json_type(f[2]) IN ('UBIGINT', 'BIGINT')
            AND json_type(f[3]) IN {NUMBER}
            AND json_type(f[4]) IN {NUMBER}
            AND json_type(f[5]) = 'VARCHAR'
            AND json_type(f[6]) = 'VARCHAR'
            AND coalesce(json_type(f[7]), 'VARCHAR') = 'VARCHAR', false) AS typed,
        f[1]->>'$' AS pair,
        TRY_CAST(f[2]->>'$' AS BIGINT) AS trade_id,
        try_strptime(f[8]->>'$', '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
        TRY_CAST(f[3]->>'$' AS DOUBLE) AS price,
        TRY_CAST(f[4]->>'$' AS DOUBLE) AS qty,
        f[5]->>'$' AS side,
        coalesce(f[7]->>'$', 'unknown') AS ord_type,
        f[6]->>'$' AS source
    FROM fields
)
SELECT *, coalesce(typed AND trade_id >= 0
    AND isfinite(price) AND price > 0 AND isfinite(qty) AND qty > 0
    AND side IN ('buy', 'sell') AND ord_type IN ('market', 'limit', 'unknown')
    AND ts >= $earliest AND ts <= $latest, false) AS ok
FROM typed
"""
TRADE_COLUMNS = list(Trade._fields)  # also the column order of the `trades` table


def decode_batch(
    connection: duckdb.DuckDBPyConnection, payloads: list[bytes]
) -> list[tuple[int, str]]:
    """Fill the temp table `batch_trades` with the batch's valid trades.

    Returns (index, reason) for each message that is not a valid trade.
    """
    # Arrow, not pandas: DuckDB scans it without holding the GIL, so polling goes on meanwhile.
    table = pa.table(
        {"row": pa.array(np.arange(len(payloads))), "payload": pa.array(payloads, type=pa.binary())}
    )
    connection.register("batch_payloads", table)
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.execute(
        DECODE_SQL,
        {"earliest": EARLIEST_TRADE.replace(tzinfo=None), "latest": now + MAX_CLOCK_SKEW},
    )
    connection.unregister("batch_payloads")
    columns = ", ".join(TRADE_COLUMNS)
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {BATCH_TABLE} AS"
        f" SELECT {columns} FROM batch_decoded WHERE ok"
    )
    refereed = [
        row
        for (row,) in connection.execute("SELECT row FROM batch_decoded WHERE NOT ok").fetchall()
    ]
    accepted: list[Trade] = []
    rejected: list[tuple[int, str]] = []
    for row in refereed:
        try:
            accepted.append(trade_from_json(payloads[row]))
        except InvalidTrade as error:
            rejected.append((row, str(error)))
    if accepted:
        frame = pd.DataFrame(accepted, columns=TRADE_COLUMNS)
        frame["ts"] = frame["ts"].map(lambda ts: ts.replace(tzinfo=None)).astype("datetime64[us]")
        connection.register("refereed_trades", frame)
        connection.execute(f"INSERT INTO {BATCH_TABLE} SELECT * FROM refereed_trades")
        connection.unregister("refereed_trades")
    return rejected
