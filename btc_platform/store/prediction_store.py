"""Writes drained `predictions` messages (the service's answers) into the store, keyed by id,
with the consumed offsets in the same transaction (the drain's exactly-once effect)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import orjson

from btc_platform.store.offline_store import BatchResult, Consumed, store_offsets
from btc_platform.store.transactions import in_transaction
from btc_platform.store.upsert import insert_missing

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
    connection: duckdb.DuckDBPyConnection, payloads: list[bytes], consumed: Consumed
) -> BatchResult:
    rows, rejected = [], []
    for index, payload in enumerate(payloads):
        try:
            rows.append(_row(payload))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            rejected.append((index, f"not a prediction: {type(error).__name__}: {error}"))

    def work() -> BatchResult:
        store_offsets(connection, consumed)
        added = 0
        if rows:
            names = [*COLUMNS, *OPTIONAL, *OPTIONAL_TEXT, "origin"]
            connection.execute(
                "CREATE OR REPLACE TEMP TABLE new_predictions AS FROM predictions LIMIT 0"
            )
            connection.executemany(
                f"INSERT INTO new_predictions ({', '.join(names)})"
                f" VALUES ({', '.join('?' * len(names))})",
                rows,
            )
            added = insert_missing(
                connection, "predictions", "SELECT DISTINCT ON (id) * FROM new_predictions"
            )
        return BatchResult(len(rows), added, 0, rejected)

    return in_transaction(connection, work)
