"""The `backtest_predictions` table: every forecast a backtest made, keyed by run."""

from __future__ import annotations

import duckdb
import pandas as pd

from btc_platform.training.backtest import PREDICTION_COLUMNS


def write_backtest(
    connection: duckdb.DuckDBPyConnection,
    run_id: str,
    pair: str,
    horizon_minutes: int,
    predictions: pd.DataFrame,
) -> int:
    """Replace the run's rows with `predictions` (PREDICTION_COLUMNS); returns the count."""
    rows = predictions[PREDICTION_COLUMNS].copy()
    rows.insert(0, "run_id", run_id)
    rows.insert(1, "pair", pair)
    rows.insert(2, "horizon_minutes", horizon_minutes)
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute("DELETE FROM backtest_predictions WHERE run_id = ?", [run_id])
        connection.register("backtest_rows", rows)
        connection.execute("INSERT INTO backtest_predictions BY NAME SELECT * FROM backtest_rows")
        connection.unregister("backtest_rows")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return len(rows)
