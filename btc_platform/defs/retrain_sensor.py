"""The retrain sensor: a first model as soon as there is history enough, and a new one when
the champion grows too old. It only looks (Dagster's event log, the MLflow registry);
each run it requests carries the reason in its `retrain_reason` tag."""

import time

import dagster as dg

from btc_platform.defs.jobs import RETRAIN_JOB, retrain_job
from btc_platform.defs.resources import MlflowResource
from btc_platform.defs.sensors import IN_FLIGHT
from btc_platform.features.indicators import FEATURES

# A first model needs the features' warm-up plus rows to tune, purge and hold out.
FIRST_MODEL_CANDLES = FEATURES.warmup_candles + 1_600
MS_PER_HOUR = 3_600_000


def candles_drained(instance: dg.DagsterInstance) -> int:
    event = instance.get_latest_materialization_event(dg.AssetKey("candles_1m"))
    if event is None or event.asset_materialization is None:
        return 0
    total = event.asset_materialization.metadata.get("candles_total")
    return int(total.value) if total is not None else 0


def why_retrain(
    context: dg.SensorEvaluationContext, mlflow_store: MlflowResource
) -> dg.SensorResult:
    if context.instance.get_runs(
        filters=dg.RunsFilter(job_name=RETRAIN_JOB, statuses=IN_FLIGHT), limit=1
    ):
        return dg.SensorResult(skip_reason="a retrain is in flight")
    # heavy (MLflow), so imported when the sensor runs, not when Dagster loads the code
    from btc_platform.tracking.registry import Registry

    mlflow_store.model_store().activate()
    champion = Registry(mlflow_store.model_name).champion()
    if champion is None:
        candles = candles_drained(context.instance)
        if candles < FIRST_MODEL_CANDLES:
            return dg.SensorResult(
                skip_reason=f"no champion; waiting for {FIRST_MODEL_CANDLES} candles "
                f"(have {candles})"
            )
        reason = f"no champion yet and {candles} candles to train on"
        key = f"first-model-{candles // 240}"  # a failed attempt is retried on more data
    else:
        age = (time.time() * 1000 - champion.creation_timestamp) / MS_PER_HOUR
        if age <= mlflow_store.champion_max_age_hours:
            return dg.SensorResult(skip_reason=f"champion v{champion.version} is {age:.1f} h old")
        reason = (
            f"champion v{champion.version} is {age:.1f} h old "
            f"(limit {mlflow_store.champion_max_age_hours} h)"
        )
        key = f"age-{champion.version}"
    context.log.info(f"requesting a retrain: {reason}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=key, tags={"retrain_reason": reason})]
    )


retrain_sensor = dg.sensor(
    name="retrain_sensor",
    job=retrain_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a retrain when there is no champion yet (and history enough) or "
    "the champion is older than BTC_CHAMPION_MAX_AGE_HOURS.",
)(why_retrain)
