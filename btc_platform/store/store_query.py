"""A read-only SQL query on the offline store, written out as CSV with a header row.

The connection is read-only and has no external access: a query can read the store's tables
but not change them, nor read or write other files (`COPY ... TO`, `ATTACH`, `read_csv`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

import duckdb

from btc_platform.store.store_connection import read_when_free
from btc_platform.store.store_location import StoreLocation, as_location

FETCH_ROWS = 10_000


class StoreQueryError(ValueError):
    """The query could not run; the message says why."""


def query_to_csv(store: StoreLocation | Path, sql: str, out: TextIO, wait_seconds: float) -> int:
    """Run `sql` on the store and write its rows to `out`; the number of rows.

    Waits up to `wait_seconds` while a writer (a drain) holds the store file (a DuckLake is
    read at its latest snapshot, without waiting).
    """
    path = as_location(store)
    if not path.exists():
        raise StoreQueryError(f"no offline store at {path} (nothing drained yet?)")
    try:
        with read_when_free(path, lambda waited: waited >= wait_seconds) as connection:
            if path.data_path is not None:  # a lake's Parquet files stay readable
                connection.execute(
                    "SET allowed_directories = ?", [[path.data_path.rstrip("/") + "/"]]
                )
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            result = connection.execute(sql)
            if result.description is None:
                return 0  # a statement without rows
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([column[0] for column in result.description])
            written = 0
            while rows := result.fetchmany(FETCH_ROWS):
                writer.writerows(rows)
                written += len(rows)
            return written
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise StoreQueryError(
                f"the offline store {path} is held by a writer (a drain) for more than "
                f"{wait_seconds:g} s; try again, or raise --wait"
            ) from None
        raise StoreQueryError(f"query failed: {error}") from None
    except duckdb.Error as error:
        raise StoreQueryError(f"query failed: {type(error).__name__}: {error}") from None
