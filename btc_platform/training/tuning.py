"""Hyperparameter search (Optuna TPE, seeded) scored by walk-forward CV pinball loss."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from btc_platform.training.metrics import pinball_loss
from btc_platform.training.quantile_model import fit_quantile_model, predict_quantiles
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.splits import walk_forward_folds


@dataclass(frozen=True, slots=True)
class Trial:
    number: int
    params: dict[str, float | int]
    cv_pinball_loss: float
    fold_losses: list[float]
    seconds: float


def tune(
    features: pd.DataFrame,
    target: np.ndarray,
    *,
    space: SearchSpace,
    trials: int,
    folds: int,
    purge: int,
    seed: int,
    threads: int,
    on_trial: Callable[[Trial], None] = lambda _: None,
) -> list[Trial]:
    """Run `trials` trials; returns them all (the best has the lowest cv_pinball_loss)."""
    splits = walk_forward_folds(len(features), folds, purge)
    done: list[Trial] = []

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = space.suggest(trial)
        losses = []
        for split in splits:
            model = fit_quantile_model(
                features.iloc[split.train], target[split.train], params, seed, threads
            )
            forecast = predict_quantiles(model, features.iloc[split.test])
            losses.append(pinball_loss(target[split.test], forecast))
        result = Trial(
            trial.number, params, float(np.mean(losses)), losses, time.perf_counter() - started
        )
        done.append(result)
        on_trial(result)
        return result.cv_pinball_loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return done
