"""`backtest`: the walk-forward backtest of a (pair, horizon) partition over stored candles
(launchpad config: since, until, retrain_every, trials), its forecasts in
`backtest_predictions`.

Three steps: the history is read and the forecasts written in the DuckDB pool; the long
part (retrains, forecasts, the MLflow summary run) runs outside it, so drains go on.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from btc_platform.defs.metadata import markdown_table
from btc_platform.defs.partitions import target_of
from btc_platform.defs.resources import DUCKDB_POOL, MlflowResource, OfflineStoreResource
from btc_platform.intervals import parse_interval
from btc_platform.training.config import TrainingConfig

GROUP = "training"


def _naive_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def backtest_asset(partitions: dg.PartitionsDefinition, default_trials: int) -> dg.AssetsDefinition:
    class BacktestConfig(dg.Config):
        since: str = Field(description="First retrain point, ISO-8601 UTC.")
        until: str = Field(description="End of the forecasts, ISO-8601 UTC.")
        retrain_every: str = Field(default="7d", description="Between retrain points.")
        trials: int = Field(default=default_trials, description="Hyperparameter trials.")

    @dg.op(pool=DUCKDB_POOL, ins={"features": dg.In(dg.Nothing)})
    def backtest_history(
        context: dg.OpExecutionContext,
        config: BacktestConfig,
        offline_store: OfflineStoreResource,
        mlflow_store: MlflowResource,
    ) -> tuple:
        from btc_platform.backtest_job import load_history
        from btc_platform.training.backtest import BacktestSpec

        target = target_of(context.partition_key)
        spec = BacktestSpec(
            pair=target.pair,
            interval_seconds=offline_store.candle_seconds,
            horizon_minutes=target.horizon_minutes,
            since=_naive_utc(config.since),
            until=_naive_utc(config.until),
            retrain_every=timedelta(seconds=parse_interval(config.retrain_every)),
            config=TrainingConfig(trials=config.trials),
            tolerance=mlflow_store.promotion_tolerance,
        )
        return spec, load_history(offline_store.location, spec.pair, spec.interval_seconds)

    @dg.op
    def backtest_forecasts(mlflow_store: MlflowResource, history: tuple) -> tuple:
        from btc_platform.backtest_job import run_and_log

        spec, loaded = history
        result, evaluation, run_id = run_and_log(mlflow_store.model_store(), spec, loaded)
        return result, evaluation, run_id

    @dg.op(pool=DUCKDB_POOL)
    def backtest_table(
        context: dg.OpExecutionContext, offline_store: OfflineStoreResource, outcome: tuple
    ) -> str:
        from btc_platform.store.backtest_store import write_backtest
        from btc_platform.tracking.backtest_run import NO_FORECASTS
        from btc_platform.training.backtest_summary import per_chunk

        result, evaluation, run_id = outcome
        spec = result.spec
        with offline_store.connect() as connection:
            written = write_backtest(
                connection, run_id, spec.pair, spec.horizon_minutes, result.predictions
            )
        metadata = {
            "mlflow_run_id": run_id,
            "forecasts_written": written,
            "retrains": len(result.retrains),
            "promoted": sum(r.promoted for r in result.retrains),
            "verdict": evaluation.verdict() if evaluation else NO_FORECASTS,
        }
        if evaluation is not None:
            chunks = per_chunk(result.predictions)
            numbers = chunks.select_dtypes("number").columns
            metadata["per_champion"] = markdown_table(chunks.round(dict.fromkeys(numbers, 4)))
            metadata |= {
                k: dg.MetadataValue.float(round(v, 8)) for k, v in evaluation.metrics().items()
            }
        context.add_output_metadata(metadata)
        return run_id

    @dg.graph_asset(
        name="backtest",
        description="Walk-forward backtest: retrain at every point on the history before it "
        "(the pipeline and gate of `train`), forecast every close after it with the service's "
        "code and live calibration; every forecast in DuckDB `backtest_predictions`, a summary "
        "run in MLflow.",
        group_name=GROUP,
        kinds={"duckdb", "mlflow", "xgboost"},
        ins={"features": dg.AssetIn("features", dagster_type=dg.Nothing)},
        partitions_def=partitions,
    )
    def backtest(features: None) -> str:
        return backtest_table(backtest_forecasts(backtest_history(features)))

    return backtest
