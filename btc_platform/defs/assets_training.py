"""`training_set` -> `price_model` -> `champion`: train, register, and gate a model, one
(pair, horizon) partition at a time (each with its own registered model and champion).

Only `training_set` touches DuckDB (in its pool); the long training step works on that
snapshot, so drains keep flowing while a model trains. MLflow, XGBoost and Optuna are
imported when a step runs, not when Dagster loads the code (every drain run loads it).
"""

import dagster as dg
from pydantic import Field

from btc_platform.defs.partitions import target_of
from btc_platform.defs.resources import DUCKDB_POOL, MlflowResource, OfflineStoreResource
from btc_platform.defs.training_metadata import candidate_metadata, decision_metadata
from btc_platform.store.training_snapshot import load_training_set
from btc_platform.tracking.candidate import Candidate
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.promotion import Decision
from btc_platform.training.search_space import SearchSpace

SPACE = SearchSpace()
GROUP = "training"


class SearchConfig(dg.Config):
    """The search budget and space (each range is [low, high]), editable in the launchpad."""

    trials: int = Field(default=20, description="Hyperparameter trials (BTC_TRAINING_TRIALS).")
    cv_folds: int = Field(default=3, description="Walk-forward folds per trial.")
    holdout_fraction: float = Field(default=0.2, description="Most recent share held out.")
    seed: int = 42
    max_depth: list[int] = list(SPACE.max_depth)
    n_estimators: list[int] = list(SPACE.n_estimators)
    learning_rate: list[float] = list(SPACE.learning_rate)
    min_child_weight: list[float] = list(SPACE.min_child_weight)
    subsample: list[float] = list(SPACE.subsample)
    colsample_bytree: list[float] = list(SPACE.colsample_bytree)
    reg_lambda: list[float] = list(SPACE.reg_lambda)

    def training_config(self) -> TrainingConfig:
        ranges = {name: tuple(getattr(self, name)) for name in SPACE.as_dict()}
        return TrainingConfig(
            trials=self.trials,
            cv_folds=self.cv_folds,
            holdout_fraction=self.holdout_fraction,
            seed=self.seed,
            space=SearchSpace(**ranges),
        )


def training_assets(
    partitions: dg.PartitionsDefinition, default_trials: int
) -> list[dg.AssetsDefinition]:
    class TrialsConfig(SearchConfig):
        trials: int = Field(default=default_trials, description="Hyperparameter trials.")

    @dg.asset(
        deps=["features"],
        description="The partition pair's features joined with the forward log return over "
        "the partition's horizon (the target), read out of DuckDB as a snapshot.",
        kinds={"duckdb", "pandas"},
        group_name=GROUP,
        pool=DUCKDB_POOL,
        partitions_def=partitions,
    )
    def training_set(
        context: dg.AssetExecutionContext, offline_store: OfflineStoreResource
    ) -> TrainingSet:
        target = target_of(context.partition_key)
        with offline_store.connect(read_only=True) as connection:
            dataset = load_training_set(
                connection, target.pair, offline_store.candle_seconds, target.horizon_minutes
            )
        context.add_output_metadata(dataset.lineage.as_tags())
        return dataset

    @dg.asset(
        description="An XGBoost p10/p50/p90 model tuned on walk-forward folds, scored on the "
        "holdout against the baselines, logged to MLflow and registered as a new version of "
        "the partition's model (`<BTC_MODEL_NAME>-<BASE>-<QUOTE>-<horizon>m`). A partition "
        "with no champion first gets the EWMA-blend rule as its champion (seconds), so that "
        "it answers while the model trains.",
        kinds={"xgboost", "mlflow", "optuna"},
        group_name=GROUP,
        partitions_def=partitions,
    )
    def price_model(
        context: dg.AssetExecutionContext,
        config: TrialsConfig,
        mlflow_store: MlflowResource,
        training_set: TrainingSet,
    ) -> Candidate:
        # heavy (MLflow), so imported when the step runs, not when Dagster loads the code
        from btc_platform.retrain import train_candidate
        from btc_platform.tracking.baseline_champion import serve_rule_first

        store = mlflow_store.model_store()
        rule = serve_rule_first(store, training_set)
        if rule:
            context.log.info(f"the EWMA-blend rule is the first champion (v{rule})")
        candidate = train_candidate(store, training_set, config.training_config())
        context.add_output_metadata(
            candidate_metadata(candidate, mlflow_store.tracking_uri)
            | ({"first_champion": f"v{rule}: the EWMA-blend rule"} if rule else {})
        )
        return candidate

    @dg.asset(
        description="The promotion gate: the new version becomes `champion` only if it beats "
        "the strongest baseline significantly and, significantly again, the partition's "
        "trained champion on the holdout rows that champion never trained on.",
        kinds={"mlflow"},
        group_name=GROUP,
        partitions_def=partitions,
    )
    def champion(
        context: dg.AssetExecutionContext,
        mlflow_store: MlflowResource,
        training_set: TrainingSet,
        price_model: Candidate,
    ) -> Decision:
        # heavy (MLflow), so imported when the step runs, not when Dagster loads the code
        from btc_platform.retrain import promote_candidate

        decision = promote_candidate(
            mlflow_store.model_store(),
            training_set,
            price_model,
            mlflow_store.promotion_tolerance,
        )
        context.add_output_metadata(decision_metadata(decision, price_model))
        return decision

    return [training_set, price_model, champion]
