"""Asset check on the served model: a champion exists and is not older than allowed."""

import time

import dagster as dg

from btc_platform.defs.resources import MlflowResource

MS_PER_HOUR = 3_600_000


@dg.asset_check(
    asset="champion",
    description="The registry has a `champion` and it was trained recently enough.",
)
def champion_freshness(mlflow_store: MlflowResource) -> dg.AssetCheckResult:
    # heavy (MLflow), so imported when the step runs, not when Dagster loads the code
    from btc_platform.tracking.registry import Registry

    mlflow_store.model_store().activate()
    champion = Registry(mlflow_store.model_name).champion()
    limit = mlflow_store.champion_max_age_hours
    if champion is None:
        return dg.AssetCheckResult(
            passed=False, metadata={"reason": f"{mlflow_store.model_name} has no champion yet"}
        )
    age = (time.time() * 1000 - champion.creation_timestamp) / MS_PER_HOUR
    return dg.AssetCheckResult(
        passed=age <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "champion_version": champion.version,
            "age_hours": round(age, 2),
            "limit_hours": limit,
        },
    )
