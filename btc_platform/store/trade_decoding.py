"""Decoding a batch of `trades` messages in bulk, with Python as the referee.

Fast path: the batch is read as newline-delimited JSON by Arrow's multi-threaded reader
with the wire schema (one C++ pass, no Python object per message), and DuckDB checks the
contract on the typed columns. A batch that does not fit that mould (a blank or
multi-object message, a field of another JSON type, non-ASCII bytes that are not UTF-8,
`NaN`, arrays or nested objects) is decoded by DuckDB's JSON functions instead, message by
message. Either path only accepts what `trade_from_json` would accept; every message it
does not accept is decoded by `trade_from_json` itself, which either accepts it or says
exactly what is wrong.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json

from btc_platform.trades import (
    EARLIEST_TRADE,
    MAX_CLOCK_SKEW,
    InvalidTrade,
    Trade,
    trade_from_json,
)

BATCH_TABLE = "batch_trades"
TRADE_COLUMNS = list(Trade._fields)  # also the column order of the `trades` table
WIRE_SCHEMA = pa.schema(
    [
        ("pair", pa.string()),
        ("trade_id", pa.int64()),
        ("price", pa.float64()),
        ("qty", pa.float64()),
        ("side", pa.string()),
        ("source", pa.string()),
        ("ord_type", pa.string()),
        ("ts", pa.string()),
    ]
)
WIRE_PARSING = pa_json.ParseOptions(explicit_schema=WIRE_SCHEMA, unexpected_field_behavior="ignore")
# Accepted by Arrow's reader but not by orjson (the referee) anywhere in a message, each
# with a byte to look for first (a memchr scan, far cheaper than looking for the word).
NOT_STRICT_JSON = ((b"N", b"NaN"), (b"I", b"Infinity"), (b"[", b"["))
NOT_STRICT_JSON_PATTERN = "|".join(re.escape(token.decode()) for _, token in NOT_STRICT_JSON)

# Arrow path: every field present with its JSON type (the reader enforced the types).
# A missing `ord_type` is left to the referee, which defaults it.
TYPED_FROM_COLUMNS = f"""
SELECT row, ({" AND ".join(f"{field} IS NOT NULL" for field in WIRE_SCHEMA.names)}) AS typed,
    pair, trade_id, ts AS ts_text, price, qty, side, ord_type, source
FROM batch_columns
"""
NUMBER = "('DOUBLE', 'UBIGINT', 'BIGINT')"
PATHS = "[" + ", ".join(f"'$.{field}'" for field in WIRE_SCHEMA.names) + "]"
TYPED_FROM_JSON = f"""
WITH texts AS (SELECT row, try(decode(payload)) AS text FROM batch_payloads),
parsed AS (
    SELECT row, TRY_CAST(text AS JSON) AS j,
        -- what DuckDB's parser accepts but orjson does not (as on the Arrow path)
        regexp_matches(text, '{NOT_STRICT_JSON_PATTERN}')
            OR strlen(text) - strlen(replace(text, '{{', '')) > 1 AS lenient
    FROM texts
),
fields AS (SELECT row, json_type(j) AS kind, lenient, json_extract(j, {PATHS}) AS f FROM parsed)
SELECT row,
    coalesce(kind = 'OBJECT' AND NOT lenient
        AND json_type(f[1]) = 'VARCHAR'
        AND json_type(f[2]) IN ('UBIGINT', 'BIGINT')
        AND json_type(f[3]) IN {NUMBER}
        AND json_type(f[4]) IN {NUMBER}
        AND json_type(f[5]) = 'VARCHAR'
        AND json_type(f[6]) = 'VARCHAR'
        AND coalesce(json_type(f[7]), 'VARCHAR') = 'VARCHAR', false) AS typed,
    f[1]->>'$' AS pair,
    TRY_CAST(f[2]->>'$' AS BIGINT) AS trade_id,
    f[8]->>'$' AS ts_text,
    TRY_CAST(f[3]->>'$' AS DOUBLE) AS price,
    TRY_CAST(f[4]->>'$' AS DOUBLE) AS qty,
    f[5]->>'$' AS side,
    coalesce(f[7]->>'$', 'unknown') AS ord_type,
    f[6]->>'$' AS source
FROM fields
"""
VALIDATE = """
CREATE OR REPLACE TEMP TABLE batch_decoded AS
WITH typed AS ({typed}),
parsed AS (SELECT *, try_strptime(ts_text, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts FROM typed)
SELECT *, coalesce(typed AND trade_id >= 0
    AND isfinite(price) AND price > 0 AND isfinite(qty) AND qty > 0
    AND side IN ('buy', 'sell') AND ord_type IN ('market', 'limit', 'unknown')
    AND ts >= $earliest AND ts <= $latest, false) AS ok
FROM parsed
"""


def decode_batch(
    connection: duckdb.DuckDBPyConnection, payloads: list[bytes]
) -> list[tuple[int, str]]:
    """Make the temp view `batch_trades` hold the batch's valid trades.

    Returns (index, reason) for each message that is not a valid trade.
    """
    rows = pa.array(np.arange(len(payloads)))
    columns = wire_columns(payloads)
    # Arrow, not pandas: DuckDB scans it without holding the GIL, so polling goes on meanwhile.
    if columns is not None:
        view, typed, table = "batch_columns", TYPED_FROM_COLUMNS, columns.append_column("row", rows)
    else:
        payload = pa.array(payloads, type=pa.binary())
        view, typed, table = (
            "batch_payloads",
            TYPED_FROM_JSON,
            pa.table({"row": rows, "payload": payload}),
        )
    connection.register(view, table)
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.execute(
        VALIDATE.format(typed=typed),
        {"earliest": EARLIEST_TRADE.replace(tzinfo=None), "latest": now + MAX_CLOCK_SKEW},
    )
    connection.unregister(view)
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {BATCH_TABLE} AS"
        f" SELECT {', '.join(TRADE_COLUMNS)} FROM batch_decoded WHERE ok"
    )
    refereed = [
        row
        for (row,) in connection.execute("SELECT row FROM batch_decoded WHERE NOT ok").fetchall()
    ]
    return _referee(connection, payloads, refereed)


def wire_columns(payloads: list[bytes]) -> pa.Table | None:
    """The batch as typed columns, one row per message in order, or None when a message does
    not fit the newline-delimited mould (then each message is decoded on its own).

    Every non-blank message gives Arrow at least one row or an error, so with no blank
    message, as many rows as messages means one row each.
    """
    if not payloads or any(not payload.strip() for payload in payloads):
        return None
    lines = b"\n".join(payloads)
    if any(byte in lines and token in lines for byte, token in NOT_STRICT_JSON):
        return None
    if lines.count(b"{") != len(payloads):
        return None  # flat objects only: no depth limit to mirror
    try:
        if not lines.isascii():
            lines.decode()  # Arrow does not check the UTF-8 of fields it ignores
        table = pa_json.read_json(io.BytesIO(lines), parse_options=WIRE_PARSING)
    except ValueError:  # ArrowInvalid and UnicodeDecodeError both are
        return None
    return table if table.num_rows == len(payloads) else None


def _referee(
    connection: duckdb.DuckDBPyConnection, payloads: list[bytes], refereed: list[int]
) -> list[tuple[int, str]]:
    """Decode the messages the bulk path did not accept one by one; add the valid ones."""
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
        connection.execute(
            "INSERT INTO batch_decoded BY NAME SELECT *, true AS ok FROM refereed_trades"
        )
        connection.unregister("refereed_trades")
    return rejected
