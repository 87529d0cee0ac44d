"""Hyperparameter search (Optuna TPE, seeded) scored by walk-forward CV pinball loss.

Each fold gets its own volatility model, fit on the fold's training rows only (once, not per
trial); a trial fits the quantile model on every fold with its parameters and scores the
fold's test rows in log-return space. The best trial's out-of-fold forecasts are kept: the
p50 guard is decided on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from btc_platform.features.feature_set import FeatureSet
from btc_platform.training.metrics import pinball_loss
from btc_platform.training.quantile_model import fit_quantile_model, standardized_quantiles
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.splits import walk_forward_folds
from btc_platform.training.volatility_model import VolatilityModel, fit_volatility


@dataclass(frozen=True, slots=True)
class Trial:
    number: int
    params: dict[str, float | int]
    cv_pinball_loss: float
    fold_losses: list[float]
    seconds: float


@dataclass(frozen=True, slots=True)
class StandardizedRows:
    """Rows ready for the quantile model: inputs (features + vol adjustment) and scale."""

    inputs: np.ndarray
    scale: np.ndarray
    target: np.ndarray

    @property
    def standardized(self) -> np.ndarray:
        return self.target / self.scale


def standardize(
    frame: pd.DataFrame, volatility: VolatilityModel, inputs: tuple[str, ...]
) -> StandardizedRows:
    design = volatility.design(frame[list(volatility.columns)].to_numpy(dtype="float64"))
    adjustment = volatility.log_adjustment(design)
    return StandardizedRows(
        inputs=np.column_stack([frame[list(inputs)].to_numpy(dtype="float64"), adjustment]),
        scale=volatility.scale(frame["vol_ref"].to_numpy(), adjustment),
        target=frame["target"].to_numpy(),
    )


@dataclass(frozen=True, slots=True)
class Fold:
    train: StandardizedRows
    test: StandardizedRows


def prepare_folds(
    frame: pd.DataFrame,
    feature_set: FeatureSet,
    folds: int,
    purge: int,
    horizon_candles: int,
    seed: int,
    threads: int,
) -> list[Fold]:
    prepared = []
    inputs = feature_set.model_columns
    for split in walk_forward_folds(len(frame), folds, purge):
        train = frame.iloc[split.train]
        volatility = fit_volatility(train, feature_set, horizon_candles, seed, threads)
        prepared.append(
            Fold(
                standardize(train, volatility, inputs),
                standardize(frame.iloc[split.test], volatility, inputs),
            )
        )
    return prepared


@dataclass(frozen=True, slots=True)
class TuningResult:
    trials: list[Trial]
    out_of_fold: list[tuple[np.ndarray, np.ndarray]]  # best trial: (actual, forecast) per fold

    @property
    def best(self) -> Trial:
        return min(self.trials, key=lambda t: t.cv_pinball_loss)


def fold_forecast(
    fold: Fold, params: dict[str, float | int], seed: int, threads: int
) -> np.ndarray:
    booster = fit_quantile_model(fold.train.inputs, fold.train.standardized, params, seed, threads)
    return standardized_quantiles(booster, fold.test.inputs) * fold.test.scale[:, None]


def tune(
    folds: list[Fold],
    *,
    space: SearchSpace,
    trials: int,
    seed: int,
    threads: int,
    on_trial: Callable[[Trial], None] = lambda _: None,
) -> TuningResult:
    """Run `trials` trials over the prepared folds."""
    done: list[Trial] = []
    best: dict[str, object] = {"loss": float("inf"), "forecasts": []}

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = space.suggest(trial)
        forecasts = [fold_forecast(fold, params, seed, threads) for fold in folds]
        losses = [
            pinball_loss(fold.test.target, forecast)
            for fold, forecast in zip(folds, forecasts, strict=True)
        ]
        result = Trial(
            trial.number, params, float(np.mean(losses)), losses, time.perf_counter() - started
        )
        if result.cv_pinball_loss < best["loss"]:
            best.update(loss=result.cv_pinball_loss, forecasts=forecasts)
        done.append(result)
        on_trial(result)
        return result.cv_pinball_loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(space.starting_point())
    study.optimize(objective, n_trials=trials)
    forecasts: list[np.ndarray] = best["forecasts"]  # type: ignore[assignment]
    out_of_fold = [(fold.test.target, f) for fold, f in zip(folds, forecasts, strict=True)]
    return TuningResult(done, out_of_fold)
