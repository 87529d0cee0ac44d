"""Tune on walk-forward folds of the training window, refit, score on the holdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from btc_platform.training.baselines import baseline_quantiles
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import TrainingSet, horizon_candles
from btc_platform.training.evaluation import Evaluation
from btc_platform.training.quantile_model import fit_quantile_model, predict_quantiles
from btc_platform.training.splits import Split, holdout_split
from btc_platform.training.tuning import Trial, tune


@dataclass(frozen=True, slots=True)
class TrainedModel:
    model: xgb.XGBRegressor
    params: dict[str, float | int]
    trials: list[Trial]
    holdout: Split
    holdout_forecast: np.ndarray  # (rows, 3) log-return quantiles
    evaluation: Evaluation
    purge_rows: int


def train(
    dataset: TrainingSet, config: TrainingConfig, on_trial: Callable[[Trial], None] = lambda _: None
) -> TrainedModel:
    lineage = dataset.lineage
    purge = horizon_candles(lineage.horizon_minutes, lineage.interval_seconds)
    split = holdout_split(len(dataset.frame), config.holdout_fraction, purge)
    features, target = dataset.features, dataset.target
    train_x, train_y = features.iloc[split.train], target[split.train]
    trials = tune(
        train_x,
        train_y,
        space=config.space,
        trials=config.trials,
        folds=config.cv_folds,
        purge=purge,
        seed=config.seed,
        threads=config.threads,
        on_trial=on_trial,
    )
    best = min(trials, key=lambda t: t.cv_pinball_loss)
    model = fit_quantile_model(train_x, train_y, best.params, config.seed, config.threads)
    actual = target[split.test]
    forecast = predict_quantiles(model, features.iloc[split.test])
    baseline = baseline_quantiles(train_y, len(actual))
    return TrainedModel(
        model=model,
        params=best.params,
        trials=trials,
        holdout=split,
        holdout_forecast=forecast,
        evaluation=Evaluation.of(actual, forecast, baseline),
        purge_rows=purge,
    )
