"""Decoding a batch of `trades` messages inside DuckDB, with Python as the referee.

DuckDB parses the JSON and checks the contract for the whole batch at once (fast: no Python
object per message). It only accepts what `trade_from_json` would accept; every message it
does not accept — another timestamp format, a field of an unusual type, garbage — is decoded
by `trade_from_json` itself, which either accepts it or says exactly what is wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from btc_platform.trades import (
    EARLIEST_TRADE,
    MAX_CLOCK_SKEW,
    InvalidTrade,
    Trade,
    trade_from_json,
)

BATCH_TABLE = "batch_trades"
NUMBER = "('DOUBLE', 'UBIGINT', 'BIGINT')"
DECODE_SQL = f"""
CREATE OR REPLACE TEMP TABLE batch_decoded AS
WITH parsed AS (SELECT row, TRY_CAST(payload AS JSON) AS j FROM batch_payloads),
typed AS (
    SELECT row,
        coalesce(json_type(j) = 'OBJECT'
            AND json_type(j->'pair') = 'VARCHAR'
            AND json_type(j->'trade_id') IN ('UBIGINT', 'BIGINT')
            AND json_type(j->'price') IN {NUMBER}
            AND json_type(j->'qty') IN {NUMBER}
            AND json_type(j->'side') = 'VARCHAR'
            AND json_type(j->'source') = 'VARCHAR'
            AND coalesce(json_type(j->'ord_type'), 'VARCHAR') = 'VARCHAR', false) AS typed,
        j->>'pair' AS pair,
        TRY_CAST(j->>'trade_id' AS BIGINT) AS trade_id,
        try_strptime(j->>'ts', '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
        TRY_CAST(j->>'price' AS DOUBLE) AS price,
        TRY_CAST(j->>'qty' AS DOUBLE) AS qty,
        j->>'side' AS side,
        coalesce(j->>'ord_type', 'unknown') AS ord_type,
        j->>'source' AS source
    FROM parsed
)
SELECT *, coalesce(typed AND trade_id >= 0
    AND isfinite(price) AND price > 0 AND isfinite(qty) AND qty > 0
    AND side IN ('buy', 'sell') AND ord_type IN ('market', 'limit', 'unknown')
    AND ts >= $earliest AND ts <= $latest, false) AS ok
FROM typed
"""
TRADE_COLUMNS = ["pair", "trade_id", "ts", "price", "qty", "side", "ord_type", "source"]


def decode_batch(
    connection: duckdb.DuckDBPyConnection, payloads: list[bytes]
) -> list[tuple[int, str]]:
    """Fill the temp table `batch_trades` with the batch's valid trades.

    Returns (index, reason) for each message that is not a valid trade.
    """
    connection.register(
        "batch_payloads",
        pd.DataFrame(
            {"row": range(len(payloads)), "payload": [p.decode(errors="replace") for p in payloads]}
        ),
    )
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
