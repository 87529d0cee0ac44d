"""Asset check on the served model: a champion exists and is not older than allowed."""

import dagster as dg

from btc_platform.defs.resources import MlflowResource


@dg.asset_check(
    asset="champion",
    description="The registry has a `champion` and it was trained recently enough.",
)
def champion_freshness(mlflow_store: MlflowResource) -> dg.AssetCheckResult:
    # heavy (MLflow), so imported when the check runs, not when Dagster loads the code
    from btc_platform.tracking.registry import age_hours

    champion = mlflow_store.champion()
    limit = mlflow_store.champion_max_age_hours
    if champion is None:
        return dg.AssetCheckResult(
            passed=False, metadata={"reason": f"{mlflow_store.model_name} has no champion yet"}
        )
    age = age_hours(champion)
    return dg.AssetCheckResult(
        passed=age <= limit,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "champion_version": champion.version,
            "age_hours": round(age, 2),
            "limit_hours": limit,
        },
    )
