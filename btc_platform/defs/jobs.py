"""Jobs: `drain` moves Kafka into DuckDB; `retrain` trains, registers and gates a model."""

from __future__ import annotations

import dagster as dg

from btc_platform.defs.assets_coarse import COARSE_INTERVALS

DRAIN_JOB = "drain"

drain_job = dg.define_asset_job(
    DRAIN_JOB,
    selection=dg.AssetSelection.assets(
        "trades", "candles_1m", *COARSE_INTERVALS, "predictions", "live_accuracy"
    ),
    description="Drain Kafka `trades` and `predictions` into DuckDB until caught up; refresh "
    "the candles and the live accuracy of the served predictions.",
    # Every step uses the one DuckDB file: running them in one process, one after the other,
    # avoids cross-process file locks and a process start per step.
    executor_def=dg.in_process_executor,
)

RETRAIN_JOB = "retrain"
# dagster.yaml runs one run with this tag at a time: the partitions train one after another
ONE_AT_A_TIME = {"btc/job": "retrain"}

retrain_job = dg.define_asset_job(
    RETRAIN_JOB,
    selection=dg.AssetSelection.assets("features", "training_set", "price_model", "champion"),
    description="For one (pair, horizon) partition: refresh features, train a tuned model, "
    "register it, promote it if it wins. Set the search budget and space under "
    "ops.price_model.config in the launchpad.",
    tags=ONE_AT_A_TIME,
    executor_def=dg.in_process_executor,
)

BACKTEST_JOB = "run_backtest"

backtest_job = dg.define_asset_job(
    BACKTEST_JOB,
    selection=dg.AssetSelection.assets("backtest"),
    description="Walk-forward backtest of one (pair, horizon) partition over stored candles: "
    "set since, until, retrain_every and trials under ops.backtest.ops.backtest_history.config "
    "in the launchpad.",
    executor_def=dg.in_process_executor,
)
