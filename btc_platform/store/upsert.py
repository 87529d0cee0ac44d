"""Writes by key that read the same on both backends: MERGE, never ON CONFLICT.

DuckLake tables have no keys, so `INSERT OR REPLACE` and `ON CONFLICT` cannot be used; a
MERGE on the table's key columns (`schema.KEYS`) replaces or adds rows on the DuckDB file and
the lake alike. Source columns are matched to the table's by position, as `INSERT ... SELECT *`.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from btc_platform.store.schema import KEYS


def upsert(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    params: dict | list | None = None,
    keys: Sequence[str] | None = None,
) -> int:
    """Rows of the query `source` into `table`: each replaces the row with
    its key or is added. Returns the number of rows written."""
    return _merge(connection, table, source, params, keys, "WHEN MATCHED THEN UPDATE SET * ")


def insert_missing(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    params: dict | list | None = None,
    keys: Sequence[str] | None = None,
) -> int:
    """Rows of `source` whose key `table` does not hold yet; returns how many were added."""
    return _merge(connection, table, source, params, keys, "")


def _merge(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    params: dict | list | None,
    keys: Sequence[str] | None,
    when_matched: str,
) -> int:
    on = ", ".join(keys or KEYS[table])
    rows = connection.execute(
        f"MERGE INTO {table} USING ({source}) AS source USING ({on})"
        f" {when_matched}WHEN NOT MATCHED THEN INSERT *",
        params or [],
    ).fetchall()
    return int(rows[0][0]) if rows else 0
