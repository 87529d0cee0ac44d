"""The training pipeline end to end: features -> training set -> (the EWMA-blend rule as the
first champion) -> tuned model -> gate.

`btc-platform train` runs `retrain`; the Dagster assets run its steps one asset each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from btc_platform.logs import get_logger
from btc_platform.pair_horizon import PairHorizon
from btc_platform.settings import Settings
from btc_platform.store.feature_store import refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform.store.training_snapshot import load_training_set
from btc_platform.tracking.baseline_champion import serve_rule_first
from btc_platform.tracking.candidate import Candidate
from btc_platform.tracking.champion_gate import run_gate
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.tracking.training_run import training_run
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.promotion import Decision
from btc_platform.training.trainer import train
from btc_platform.training.tuning import Trial

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetrainResult:
    dataset: TrainingSet
    candidate: Candidate
    decision: Decision


class TrialProgress:
    """Logs each finished trial with the best score so far and an ETA."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.best = float("inf")

    def __call__(self, trial: Trial) -> None:
        done = trial.number + 1
        if not trial.pruned:
            self.best = min(self.best, trial.cv_pinball_loss)
        elapsed = time.monotonic() - self.started
        log.info(
            "trial pruned" if trial.pruned else "trial finished",
            trial=f"{done}/{self.total}",
            folds=len(trial.fold_losses),
            cv_pinball_loss=round(trial.cv_pinball_loss, 8),
            best=round(self.best, 8),
            seconds=round(trial.seconds, 1),
            eta_seconds=round(elapsed / done * (self.total - done), 0),
        )


def train_candidate(store: ModelStore, dataset: TrainingSet, config: TrainingConfig) -> Candidate:
    """Tune, train and evaluate in one MLflow run; register the model as a new version."""
    lineage = dataset.lineage
    experiment_id = store.experiment_for(lineage)
    log.info(
        "training",
        model=store.model_name_for(lineage),
        rows=lineage.rows,
        trials=config.trials,
    )
    progress = TrialProgress(config.trials)
    with training_run(experiment_id, dataset, config) as run:

        def on_trial(trial: Trial) -> None:
            run.log_trial(trial)
            progress(trial)

        trained = train(dataset, config, on_trial=on_trial)
        return run.log_result(trained, store.model_name_for(lineage))


def promote_candidate(
    store: ModelStore, dataset: TrainingSet, candidate: Candidate, tolerance: float
) -> Decision:
    store.activate()
    decision = run_gate(Registry(candidate.model_name), dataset, candidate, tolerance)
    log.info(
        "promotion decision",
        model=candidate.model_name,
        version=candidate.version,
        promoted=decision.promote,
        reason=decision.reason,
    )
    return decision


def retrain(
    settings: Settings, config: TrainingConfig, target: PairHorizon | None = None
) -> RetrainResult:
    """Train the model of `target` (default: the first pair and horizon) and gate it."""
    target = target or settings.default_pair_horizon
    with open_store(settings.offline_store) as connection:
        refresh_features(connection, target.pair, settings.candle_seconds)
        dataset = load_training_set(
            connection, target.pair, settings.candle_seconds, target.horizon_minutes
        )
    # DuckDB is released here: drains go on while the model trains.
    store = ModelStore.of(settings)
    serve_rule_first(store, dataset)  # a first champion in seconds, before any training
    candidate = train_candidate(store, dataset, config)
    decision = promote_candidate(store, dataset, candidate, settings.promotion_tolerance)
    return RetrainResult(dataset, candidate, decision)
