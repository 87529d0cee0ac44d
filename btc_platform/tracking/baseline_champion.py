"""A (pair, horizon) with no champion gets the EWMA-blend rule as its first: registered like
any version (an MLflow run, a model, tags), tagged as the baseline, and made champion in
seconds, so that the service answers before any training. A trained model replaces it only
through the gate."""

from __future__ import annotations

import mlflow

from btc_platform.logs import get_logger
from btc_platform.tracking.forecaster_model import log_forecaster
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.tracking.training_run import (
    EXAMPLE_ROWS,
    MODEL_OUTPUT,
    code_version,
    register,
    serving_requirements,
)
from btc_platform.training.baseline_rule import BASELINE_TAG, KIND, RULE_WORDS, BaselineRule
from btc_platform.training.baselines import scales_of, standardized_bands
from btc_platform.training.dataset import TARGET, TrainingSet

log = get_logger(__name__)

RULE_VERDICT = (
    f"{RULE_WORDS} answers: no trained model has beaten it significantly yet "
    "(a retrain replaces it only through the gate)"
)
RULE_REASON = "no champion yet: the EWMA-blend rule answers until a trained model beats it"


def serve_rule_first(store: ModelStore, dataset: TrainingSet) -> str | None:
    """Register the rule and make it champion when the partition has none; its version."""
    store.activate()
    model_name = store.model_name_for(dataset.lineage)
    registry = Registry(model_name)
    if registry.champion() is not None:
        return None
    rule = BaselineRule.fit(dataset)
    frame = dataset.frame
    z_bands = standardized_bands(
        frame[TARGET].to_numpy(), scales_of(frame), dataset.horizon_candles
    )
    z_tags = {
        f"baseline.{name}_z{level}": f"{z:.6g}"
        for name, band in z_bands.items()
        for level, z in zip((10, 90), band, strict=True)
    }
    last = dataset.lineage.last_window
    with mlflow.start_run(
        experiment_id=store.experiment_for(dataset.lineage), run_name=f"ewma-blend-rule-{last}"
    ) as run:
        mlflow.log_params({"z10": rule.z_band[0], "z90": rule.z_band[1], "rule": KIND})
        example = frame[list(rule.columns)].dropna().head(EXAMPLE_ROWS)
        info = log_forecaster(
            rule, example, serving_requirements(), metadata={"output": MODEL_OUTPUT}
        )
        tags = (
            dataset.lineage.as_tags()
            | z_tags
            | {
                BASELINE_TAG: KIND,
                "feature_set": dataset.feature_set.key,
                "verdict": RULE_VERDICT,
                "code_version": code_version(),
                "trained_until": dataset.trained_until.isoformat(),
                "promotion.decision": "promoted",
                "promotion.reason": RULE_REASON,
            }
        )
        mlflow.set_tags({BASELINE_TAG: KIND, "verdict": RULE_VERDICT})
        version = register(model_name, info, run.info.run_id, tags)
    registry.promote(version)
    log.info("the EWMA-blend rule is the first champion", model=model_name, version=version)
    return version
