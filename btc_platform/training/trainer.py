"""Tune on walk-forward folds of the training window, refit, score on the holdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from btc_platform.training.baselines import baseline_bands
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
    forecaster: Forecaster
    params: dict[str, float | int]
    trials: list[Trial]
    median_guard: MedianGuard
    holdout: Split
    holdout_forecast: np.ndarray  # (rows, 3) log-return quantiles
    evaluation: Evaluation
    purge_rows: int
    vol_scaled_band: tuple[float, float]  # the volatility baseline's standardized p10, p90


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
    volatility = fit_volatility(frame, feature_set, horizon, config.seed, config.threads)
    rows_in = standardize(frame, volatility, feature_set.model_columns)
    booster = fit_quantile_model(
        rows_in.inputs, rows_in.standardized, tuning.best.params, config.seed, config.threads
    )
    guard = choose_median_shrink(tuning.out_of_fold, lag=horizon)
    forecaster = Forecaster(
        feature_set.key, feature_set.model_columns, volatility, booster, guard.shrink
    )
    return forecaster, TrainingResult(tuning.trials, tuning.best.params, guard)


def evaluate(
    dataset: TrainingSet, forecaster: Forecaster, train: slice, test: slice
) -> tuple[np.ndarray, Evaluation, tuple[float, float]]:
    """The forecaster's holdout forecast, its evaluation next to both baselines, and the
    volatility baseline's standardized band."""
    frame = dataset.frame
    train_rows, test_rows = frame.iloc[train], frame.iloc[test]
    forecast = forecaster.predict(test_rows)
    baselines, z_band = baseline_bands(
        train_rows["target"].to_numpy(),
        train_rows["realized_vol_60"].to_numpy(),
        test_rows["realized_vol_60"].to_numpy(),
        dataset.horizon_candles,
    )
    actual = test_rows["target"].to_numpy()
    evaluation = Evaluation.of(actual, forecast, baselines, test_rows["vol_ref"].to_numpy())
    return forecast, evaluation, z_band


def train(
    dataset: TrainingSet, config: TrainingConfig, on_trial: Callable[[Trial], None] = lambda _: None
) -> TrainedModel:
    purge = dataset.horizon_candles
    split = holdout_split(len(dataset.frame), config.holdout_fraction, purge)
    forecaster, result = fit_forecaster(dataset, split.train, config, on_trial)
    forecast, evaluation, z_band = evaluate(dataset, forecaster, split.train, split.test)
    return TrainedModel(
        forecaster=forecaster,
        params=result.params,
        trials=result.trials,
        median_guard=result.median_guard,
        holdout=split,
        holdout_forecast=forecast,
        evaluation=evaluation,
        purge_rows=purge,
        vol_scaled_band=z_band,
    )
