"""Hyperparameter search (Optuna TPE, seeded) scored by walk-forward CV pinball loss.

Each fold gets its own volatility model, fit on the fold's training rows only (once, not per
trial); a trial fits the quantile model on every fold with its parameters and scores the
fold's test rows in log-return space. A trial whose mean loss over its first folds is worse
than the median of earlier trials at the same fold is pruned there (after PRUNE_AFTER
complete trials): its remaining folds, the larger ones, are not fit. The best complete
trial's out-of-fold forecasts are kept: the p50 guard is decided on them.
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

PRUNE_AFTER = 5  # complete trials before any is pruned


@dataclass(frozen=True, slots=True)
class Trial:
    number: int
    params: dict[str, float | int]
    cv_pinball_loss: float  # mean over the folds run (all of them unless pruned)
    fold_losses: list[float]
    seconds: float
    pruned: bool = False


def best_trial(trials: list[Trial]) -> Trial:
    """The complete trial with the lowest CV loss."""
    return min((t for t in trials if not t.pruned), key=lambda t: t.cv_pinball_loss)


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
        return best_trial(self.trials)


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
        forecasts, losses = [], []
        for step, fold in enumerate(folds):
            forecasts.append(fold_forecast(fold, params, seed, threads))
            losses.append(pinball_loss(fold.test.target, forecasts[-1]))
            if step < len(folds) - 1:
                trial.report(float(np.mean(losses)), step)
                if trial.should_prune():
                    finish(
                        Trial(
                            trial.number,
                            params,
                            float(np.mean(losses)),
                            losses,
                            time.perf_counter() - started,
                            pruned=True,
                        )
                    )
                    raise optuna.TrialPruned()
        result = Trial(
            trial.number, params, float(np.mean(losses)), losses, time.perf_counter() - started
        )
        if result.cv_pinball_loss < best["loss"]:
            best.update(loss=result.cv_pinball_loss, forecasts=forecasts)
        finish(result)
        return result.cv_pinball_loss

    def finish(result: Trial) -> None:
        done.append(result)
        on_trial(result)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER),
    )
    study.enqueue_trial(space.starting_point())
    study.optimize(objective, n_trials=trials)
    forecasts: list[np.ndarray] = best["forecasts"]  # type: ignore[assignment]
    out_of_fold = [(fold.test.target, f) for fold, f in zip(folds, forecasts, strict=True)]
    return TuningResult(done, out_of_fold)
