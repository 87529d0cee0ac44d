"""The drain sensor: only looks (offsets), never consumes; runs do the work."""

import dagster as dg
from kafka.errors import KafkaError

from btc_platform.defs.jobs import DRAIN_JOB, drain_job
from btc_platform.defs.resources import KafkaResource

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def drain_sensor(interval_seconds: int) -> dg.SensorDefinition:
    return dg.sensor(
        name="drain_sensor",
        job=drain_job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a drain when Kafka `trades` has moved past the drained position.",
    )(look_for_new_trades)


def look_for_new_trades(
    context: dg.SensorEvaluationContext, kafka: KafkaResource
) -> dg.SensorResult:
    in_flight = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=DRAIN_JOB, statuses=IN_FLIGHT), limit=1
    )
    if in_flight:
        return dg.SensorResult(skip_reason=f"drain run {in_flight[0].run_id} is in flight")
    try:
        positions = kafka.positions()
    except KafkaError as error:
        return dg.SensorResult(skip_reason=f"Kafka at {kafka.bootstrap} unavailable: {error}")
    if not any(end > drained for drained, end in positions.values()):
        return dg.SensorResult(skip_reason="nothing new in Kafka `trades`")
    # The same positions give the same key, so Dagster never launches a drain twice for them.
    key = ",".join(f"{p}:{drained}-{end}" for p, (drained, end) in sorted(positions.items()))
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"drain-{key}")])
