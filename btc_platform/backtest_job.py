"""The backtest end to end: the store's history -> the walk-forward backtest -> a summary
MLflow run -> the `backtest_predictions` table.

`btc-platform backtest` runs `backtest`; the Dagster `backtest` asset runs its steps (the
reads and the write in the DuckDB pool, the long part outside it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from btc_platform.logs import get_logger
from btc_platform.settings import Settings
from btc_platform.store.backtest_store import write_backtest
from btc_platform.store.feature_store import (
    EPOCH,
    read_features,
    read_final_candles,
    refresh_features,
)
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform.tracking.backtest_run import log_backtest
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.training.backtest import BacktestResult, BacktestSpec, Retrain, run_backtest
from btc_platform.training.backtest_summary import evaluate_predictions, per_chunk
from btc_platform.training.evaluation import Evaluation

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class History:
    features: pd.DataFrame
    candles: pd.DataFrame


@dataclass(frozen=True, slots=True)
class BacktestReport:
    run_id: str
    result: BacktestResult
    evaluation: Evaluation | None  # None: no retrain point gave a champion, no forecasts
    per_champion: pd.DataFrame
    rows_written: int


class RetrainProgress:
    """Logs each retrain point with what it decided, the elapsed time and an ETA."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, retrain: Retrain, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        log.info(
            "backtest retrain",
            point=f"{done}/{total}",
            at=str(retrain.at),
            rows=retrain.rows,
            promoted=retrain.promoted,
            reason=retrain.reason,
            champion=retrain.version,
            seconds=round(retrain.seconds, 1),
            eta_seconds=round(elapsed / done * (total - done)),
        )


def load_history(store: StoreLocation | Path, pair: str, interval_seconds: int) -> History:
    """The pair's features (refreshed first) and final candles, read in one go."""
    with open_store(store) as connection:
        refresh_features(connection, pair, interval_seconds)
        features = read_features(connection, pair, interval_seconds)
        candles = read_final_candles(connection, pair, interval_seconds, EPOCH)
    if features.empty:
        raise ValueError(f"backtest: the offline store has no features of {pair} yet")
    return History(features, candles)


def run_and_log(
    store: ModelStore,
    spec: BacktestSpec,
    history: History,
    on_retrain: RetrainProgress | None = None,
) -> tuple[BacktestResult, Evaluation | None, str]:
    """The backtest itself and its summary MLflow run (no DuckDB)."""
    result = run_backtest(spec, history.features, history.candles, on_retrain or RetrainProgress())
    scored = result.predictions["realized_return"].notna().any()
    evaluation = evaluate_predictions(result.predictions) if scored else None
    store.activate()
    return result, evaluation, log_backtest(store, result, evaluation)


def backtest(settings: Settings, spec: BacktestSpec) -> BacktestReport:
    history = load_history(settings.offline_store, spec.pair, spec.interval_seconds)
    result, evaluation, run_id = run_and_log(ModelStore.of(settings), spec, history)
    with open_store(settings.offline_store) as connection:
        written = write_backtest(
            connection, run_id, spec.pair, spec.horizon_minutes, result.predictions
        )
    return BacktestReport(run_id, result, evaluation, per_chunk(result.predictions), written)
