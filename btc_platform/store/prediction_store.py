"""Writes drained `predictions` messages (the service's answers) into DuckDB, keyed by id,
with the consumed offsets in the same transaction (the drain's exactly-once effect)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import orjson

from btc_platform.store.offline_store import BatchResult, scalar, store_offsets

COLUMNS = [
    "id",
    "pair",
    "as_of",
    "horizon_minutes",
    "model_version",
    "current_price",
    "predicted_return",
    "band_low",
    "band_high",
]
# Written by newer services only: NULL when a record lacks them.
OPTIONAL = ["band_scale", "realized_vol", "vol_baseline_low", "vol_baseline_high"]
OPTIONAL_TEXT = ["model_name"]


def _optional_float(record: dict, key: str) -> float | None:
    value = record.get(key)
    return None if value is None else float(value)


def _row(payload: bytes) -> tuple:
    record = orjson.loads(payload)
    as_of = datetime.fromisoformat(record["as_of"]).astimezone(UTC).replace(tzinfo=None)
    return (
        str(record["id"]),
        str(record["pair"]),
        as_of,
        int(record["horizon_minutes"]),
        str(record["model_version"]),
        float(record["current_price"]),
        float(record["predicted_return"]),
        float(record["band_low"]),
        float(record["band_high"]),
        *(_optional_float(record, key) for key in OPTIONAL),
        *(None if record.get(key) is None else str(record[key]) for key in OPTIONAL_TEXT),
        str(record.get("origin", "live")),
    )


def write_predictions(
    connection: duckdb.DuckDBPyConnection,
    payloads: list[bytes],
    offsets: dict[tuple[str, int], int],
) -> BatchResult:
    rows, rejected = [], []
    for index, payload in enumerate(payloads):
        try:
            rows.append(_row(payload))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            rejected.append((index, f"not a prediction: {type(error).__name__}: {error}"))
    connection.execute("BEGIN TRANSACTION")
    try:
        before = scalar(connection, "SELECT count(*) FROM predictions")
        if rows:
            names = [*COLUMNS, *OPTIONAL, *OPTIONAL_TEXT, "origin"]
            connection.executemany(
                f"INSERT INTO predictions ({', '.join(names)})"
                f" VALUES ({', '.join('?' * len(names))}) ON CONFLICT DO NOTHING",
                rows,
            )
        added = scalar(connection, "SELECT count(*) FROM predictions") - before
        store_offsets(connection, offsets)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return BatchResult(len(rows), int(added), 0, rejected)
