"""The retrain sensor, per (pair, horizon) partition: a first model as soon as the pair has
history enough; a new one when the champion's live skill falls below its floor, its live
band coverage drifts out of tolerance, or it grows too old; while the champion is the
EWMA-blend rule, a model is tried again every eighth of that age limit, on the data since.
It only looks (Dagster's event log, the MLflow registry) and requests one partition at a
time; each run carries the partition and the reason in its `retrain_reason` tag."""

from dataclasses import dataclass

import dagster as dg

from btc_platform.defs.jobs import RETRAIN_JOB, retrain_job
from btc_platform.defs.partitions import partition_key
from btc_platform.defs.resources import MlflowResource
from btc_platform.defs.sensors import IN_FLIGHT
from btc_platform.pair_horizon import PairHorizon
from btc_platform.training.baseline_rule import is_rule
from btc_platform.training.first_model import FIRST_MODEL_CANDLES, first_model_budget
from btc_platform.training.live_accuracy import NOMINAL_COVERAGE

RULE_RETRIES_PER_AGE = 8  # a rule champion is challenged this often per champion age limit


@dataclass(frozen=True, slots=True)
class LiveTriggers:
    skill_floor: float = -0.05
    coverage_tolerance: float = 0.15
    min_predictions: int = 30


def latest_metadata(instance: dg.DagsterInstance, asset: str, key: str) -> object:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(key)
    return value.value if value is not None else None


def live_problem(live: dict, coverage_tolerance: float, skill_floor: float) -> str | None:
    """Why the champion's live record calls for a retrain, or None."""
    problems = []
    if live["mae_skill"] < skill_floor:
        problems.append(
            f"live MAE skill {live['mae_skill']:+.3f} is below the floor {skill_floor:+.3f}"
        )
    if abs(live["band_coverage"] - NOMINAL_COVERAGE) > coverage_tolerance:
        problems.append(
            f"live band coverage {live['band_coverage']:.2f} is outside "
            f"{NOMINAL_COVERAGE:.2f} +- {coverage_tolerance:.2f}"
        )
    return "; ".join(problems) or None


def partition_request(
    context: dg.SensorEvaluationContext,
    mlflow_store: MlflowResource,
    target: PairHorizon,
    triggers: LiveTriggers,
    default_trials: int,
) -> dg.RunRequest | str:
    """The retrain this (pair, horizon) needs, with its reason; or why it needs none."""
    # heavy (MLflow), so imported when the sensor runs, not when Dagster loads the code
    from btc_platform.tracking.registry import age_hours

    champion = mlflow_store.champion(target)
    if champion is None:
        by_pair = latest_metadata(context.instance, "candles_1m", "candles_by_pair")
        candles = int(by_pair.get(target.pair, 0)) if isinstance(by_pair, dict) else 0
        if candles < FIRST_MODEL_CANDLES:
            return f"no champion; waiting for {FIRST_MODEL_CANDLES} candles (have {candles})"
        budget = first_model_budget(default_trials)
        config = {"ops": {"price_model": {"config": budget}}}
        reason = f"no champion yet and {candles} candles to train on (first-model budget: "
        reason += f"{budget['trials']} trials, {budget['cv_folds']} folds)"
        key = f"first-model-{candles // 240}"  # a failed attempt is retried on more data
    else:
        config = {}
        version = str(champion.version)
        by_model = latest_metadata(context.instance, "live_accuracy", "by_model") or {}
        versions = (
            by_model.get(mlflow_store.model_name(target)) if isinstance(by_model, dict) else None
        )
        live = versions.get(version) if isinstance(versions, dict) else None
        problem = (
            live_problem(live, triggers.coverage_tolerance, triggers.skill_floor)
            if live and live["predictions"] >= triggers.min_predictions
            else None
        )
        age = age_hours(champion)
        rule_retry = mlflow_store.champion_max_age_hours / RULE_RETRIES_PER_AGE
        if problem:
            reason = f"champion v{version} over its last {live['predictions']} outcomes: {problem}"
            key = f"live-{version}-{live['predictions']}"
        elif is_rule(dict(champion.tags)) and age > rule_retry:
            reason = (
                f"champion v{version} is the EWMA-blend rule, {age:.1f} h old: a model is tried "
                f"again on the data since (every {rule_retry:.3g} h until one wins)"
            )
            key = f"rule-{version}-{int(age // rule_retry)}"
        elif age > mlflow_store.champion_max_age_hours:
            reason = (
                f"champion v{version} is {age:.1f} h old "
                f"(limit {mlflow_store.champion_max_age_hours} h)"
            )
            key = f"age-{version}"
        else:
            return f"champion v{version} is {age:.1f} h old and holds up live"
    return dg.RunRequest(
        run_key=f"{partition_key(target)}:{key}",
        run_config=config,
        tags={"retrain_reason": f"{target}: {reason}"},
        partition_key=partition_key(target),
    )


def why_retrain(
    context: dg.SensorEvaluationContext,
    mlflow_store: MlflowResource,
    targets: list[PairHorizon],
    triggers: LiveTriggers,
    default_trials: int,
) -> dg.SensorResult:
    """One partition's retrain at a time: the first that needs one (those without a champion
    first, so that every pair and horizon is served soon), or every partition's reason."""
    if context.instance.get_runs(
        filters=dg.RunsFilter(job_name=RETRAIN_JOB, statuses=IN_FLIGHT), limit=1
    ):
        return dg.SensorResult(skip_reason="a retrain is in flight")
    answers = {
        t: partition_request(context, mlflow_store, t, triggers, default_trials) for t in targets
    }
    requests = [a for a in answers.values() if isinstance(a, dg.RunRequest)]
    if not requests:
        return dg.SensorResult(skip_reason="; ".join(f"{t}: {a}" for t, a in answers.items()))
    chosen = min(requests, key=lambda r: not r.run_config)  # a first model (its budget) first
    context.log.info(f"requesting a retrain: {chosen.tags['retrain_reason']}")
    return dg.SensorResult(run_requests=[chosen])


def retrain_sensor(
    targets: list[PairHorizon], triggers: LiveTriggers, default_trials: int
) -> dg.SensorDefinition:
    @dg.sensor(
        name="retrain_sensor",
        job=retrain_job,
        minimum_interval_seconds=20,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a retrain of one (pair, horizon) partition at a time: when it "
        "has no champion yet (and its pair has history enough; a first-model budget of few "
        "trials), "
        "when the champion's live skill or band coverage fails (BTC_LIVE_*), or when it is "
        "older than BTC_CHAMPION_MAX_AGE_HOURS.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext, mlflow_store: MlflowResource
    ) -> dg.SensorResult:
        return why_retrain(context, mlflow_store, targets, triggers, default_trials)

    return _sensor
