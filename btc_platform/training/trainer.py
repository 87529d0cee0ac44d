"""Tune on walk-forward folds of the training window, refit, score on the holdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from btc_platform.training.baselines import baseline_bands, scales_of
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.evaluation import Evaluation
from btc_platform.training.forecaster import Forecaster
from btc_platform.training.median_guard import MedianGuard, choose_median_shrink
from btc_platform.training.quantile_model import fit_quantile_model
from btc_platform.training.splits import Split, holdout_split
from btc_platform.training.tuning import Trial, prepare_folds, standardize, tune
from btc_platform.training.volatility_model import fit_volatility


@dataclass(frozen=True, slots=True)
class TrainedModel:
    forecaster: Forecaster  # refit on every row (the holdout included): what is served
    params: dict[str, float | int]
    trials: list[Trial]
    median_guard: MedianGuard
    holdout: Split
    holdout_forecast: np.ndarray  # (rows, 3): the model fit without the holdout, on it
    evaluation: Evaluation
    purge_rows: int
    # each volatility-scaled baseline's standardized p10, p90, by name
    z_bands: dict[str, tuple[float, float]]
    trained_until: datetime  # when the last target the served model learned was realized


@dataclass(frozen=True, slots=True)
class TrainingResult:
    trials: list[Trial]
    params: dict[str, float | int]
    median_guard: MedianGuard


def fit_forecaster(
    dataset: TrainingSet,
    rows: slice,
    config: TrainingConfig,
    on_trial: Callable[[Trial], None] = lambda _: None,
) -> tuple[Forecaster, TrainingResult]:
    """Tune on folds of `rows`, then fit the volatility and quantile models on all of them."""
    frame, feature_set = dataset.frame.iloc[rows], dataset.feature_set
    horizon = dataset.horizon_candles
    folds = prepare_folds(
        frame, feature_set, config.cv_folds, horizon, horizon, config.seed, config.threads
    )
    tuning = tune(
        folds,
        space=config.space,
        trials=config.trials,
        seed=config.seed,
        threads=config.threads,
        on_trial=on_trial,
    )
    guard = choose_median_shrink(tuning.out_of_fold, lag=horizon)
    result = TrainingResult(tuning.trials, tuning.best.params, guard)
    return refit(dataset, rows, result, config), result


def refit(
    dataset: TrainingSet, rows: slice, result: TrainingResult, config: TrainingConfig
) -> Forecaster:
    """The forecaster on `rows` with the tuned parameters and the p50 guard's factor."""
    frame, feature_set = dataset.frame.iloc[rows], dataset.feature_set
    volatility = fit_volatility(
        frame, feature_set, dataset.horizon_candles, config.seed, config.threads
    )
    standardized = standardize(frame, volatility, feature_set.model_columns)
    booster = fit_quantile_model(
        standardized.inputs, standardized.standardized, result.params, config.seed, config.threads
    )
    return Forecaster(
        feature_set.key, feature_set.model_columns, volatility, booster, result.median_guard.shrink
    )


def evaluate(
    dataset: TrainingSet, forecaster: Forecaster, train: slice, test: slice
) -> tuple[np.ndarray, Evaluation, dict[str, tuple[float, float]]]:
    """The forecaster's holdout forecast, its evaluation next to every baseline, and the
    volatility-scaled baselines' standardized bands."""
    frame = dataset.frame
    train_rows, test_rows = frame.iloc[train], frame.iloc[test]
    forecast = forecaster.predict(test_rows)
    baselines, z_bands = baseline_bands(
        train_rows["target"].to_numpy(),
        scales_of(train_rows),
        scales_of(test_rows),
        dataset.horizon_candles,
    )
    actual = test_rows["target"].to_numpy()
    evaluation = Evaluation.of(
        actual, forecast, baselines, test_rows["vol_ref"].to_numpy(), dataset.horizon_candles
    )
    return forecast, evaluation, z_bands


def train(
    dataset: TrainingSet, config: TrainingConfig, on_trial: Callable[[Trial], None] = lambda _: None
) -> TrainedModel:
    """Tune and fit without the holdout, score there; then refit on every row for serving
    (the most recent data is the most telling: the served model must not leave it out)."""
    purge = dataset.horizon_candles
    rows = len(dataset.frame)
    split = holdout_split(rows, config.holdout_fraction, purge)
    evaluated, result = fit_forecaster(dataset, split.train, config, on_trial)
    forecast, evaluation, z_bands = evaluate(dataset, evaluated, split.train, split.test)
    return TrainedModel(
        forecaster=refit(dataset, slice(0, rows), result, config),
        params=result.params,
        trials=result.trials,
        median_guard=result.median_guard,
        holdout=split,
        holdout_forecast=forecast,
        evaluation=evaluation,
        purge_rows=purge,
        z_bands=z_bands,
        trained_until=dataset.trained_until,
    )
