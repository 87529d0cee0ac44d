"""Jobs: `drain` moves Kafka into DuckDB and refreshes every candle asset."""

from __future__ import annotations

import dagster as dg

from btc_platform.defs.assets_coarse import COARSE_INTERVALS

DRAIN_JOB = "drain"

drain_job = dg.define_asset_job(
    DRAIN_JOB,
    selection=dg.AssetSelection.assets("trades", "candles_1m", *COARSE_INTERVALS),
    description="Drain Kafka `trades` into DuckDB until caught up; refresh the candles.",
    # Every step uses the one DuckDB file: running them in one process, one after the other,
    # avoids cross-process file locks and a process start per step.
    executor_def=dg.in_process_executor,
)
