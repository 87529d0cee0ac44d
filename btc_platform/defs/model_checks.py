"""Asset check on the served models: each (pair, horizon) has a champion recent enough.

In a retrain run it checks the run's partition; run on its own, every partition."""

import dagster as dg

from btc_platform.defs.partitions import target_of
from btc_platform.defs.resources import MlflowResource
from btc_platform.pair_horizon import PairHorizon


def champion_freshness_check(targets: list[PairHorizon]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset="champion",
        name="champion_freshness",
        description="The partition's registered model has a `champion` trained recently enough.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, mlflow_store: MlflowResource
    ) -> dg.AssetCheckResult:
        # heavy (MLflow), so imported when the check runs, not when Dagster loads the code
        from btc_platform.tracking.registry import age_hours

        checked = [target_of(context.partition_key)] if context.has_partition_key else targets
        limit = mlflow_store.champion_max_age_hours
        ages, missing = {}, []
        for target in checked:
            name = mlflow_store.model_name(target)
            champion = mlflow_store.champion(target)
            if champion is None:
                missing.append(name)
            else:
                ages[f"{name} v{champion.version}"] = round(age_hours(champion), 2)
        if missing:
            reason = (
                f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no champion yet"
            )
            return dg.AssetCheckResult(passed=False, metadata={"reason": reason})
        return dg.AssetCheckResult(
            passed=all(age <= limit for age in ages.values()),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"age_hours": dg.MetadataValue.json(ages), "limit_hours": limit},
        )

    return _check
