"""A unit of work committed as one transaction, retried when a commit conflicts.

Several processes may write one DuckLake: a commit that loses to another writer's (the same
rows, tables created at once) fails with a TransactionException and nothing of it stays;
the work then runs again from the start on the newer snapshot. So does work that found a
SQLite catalog locked by another process's commit (SQLite answers at once, it never waits).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable

import duckdb

from btc_platform.logs import get_logger

log = get_logger(__name__)
COMMIT_ATTEMPTS = 100  # each loser waits a little longer before it tries again
SQLITE_BUSY = "database is locked"  # a SQLite catalog that another process is writing


def conflicted(error: duckdb.Error) -> bool:
    """Whether `error` is transient between writers: run the work again."""
    return isinstance(error, duckdb.TransactionException) or SQLITE_BUSY in str(error)


def in_transaction[T](connection: duckdb.DuckDBPyConnection, work: Callable[[], T]) -> T:
    """`work` in one transaction, committed; run again from the start when the commit
    conflicts with another writer's (a DuckLake with several drains), up to COMMIT_ATTEMPTS."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        connection.execute("BEGIN TRANSACTION")
        try:
            result = work()
            connection.execute("COMMIT")
            return result
        except duckdb.Error as error:
            _rollback(connection)
            if attempt == COMMIT_ATTEMPTS or not conflicted(error):
                raise
            log.debug("store commit conflicted; retrying", attempt=attempt, error=str(error))
            time.sleep(random.uniform(0, 0.05 * min(attempt, 10)))
        except BaseException:
            _rollback(connection)
            raise
    raise AssertionError("unreachable")


def _rollback(connection: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # a failed COMMIT or query may have ended it
        connection.execute("ROLLBACK")
