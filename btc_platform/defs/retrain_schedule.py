"""The scheduled retrain: every (pair, horizon) partition at BTC_RETRAIN_CRON (UTC).

The runs queue together and run one after the other (dagster.yaml limits runs tagged
`btc/job: retrain` to one at a time), so a 2-core machine never trains two at once.
"""

import dagster as dg

from btc_platform.defs.jobs import retrain_job
from btc_platform.defs.partitions import partition_key
from btc_platform.pair_horizon import PairHorizon


def retrain_schedule(targets: list[PairHorizon], cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="retrain_schedule",
        job=retrain_job,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Retrain every (pair, horizon) on fresh data (BTC_RETRAIN_CRON, UTC).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        moment = context.scheduled_execution_time
        stamp = moment.isoformat() if moment else "manual"
        return [
            dg.RunRequest(
                run_key=f"{partition_key(target)}:{stamp}",
                partition_key=partition_key(target),
                tags={"retrain_reason": f"{target}: scheduled retrain ({cron})"},
            )
            for target in targets
        ]

    return _schedule
