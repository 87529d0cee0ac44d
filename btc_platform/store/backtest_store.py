"""The `backtest_predictions` table: every forecast a backtest made, keyed by run."""

from __future__ import annotations

import duckdb
import pandas as pd

from btc_platform.store.transactions import in_transaction
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

    def replace() -> None:
        connection.execute("DELETE FROM backtest_predictions WHERE run_id = ?", [run_id])
        connection.execute("INSERT INTO backtest_predictions BY NAME SELECT * FROM backtest_rows")

    connection.register("backtest_rows", rows)
    try:
        in_transaction(connection, replace)
    finally:
        connection.unregister("backtest_rows")
    return len(rows)
