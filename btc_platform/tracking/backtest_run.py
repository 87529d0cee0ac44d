"""A backtest's summary MLflow run: its settings, the retrains, the metrics against both
baselines overall and per champion, and the plots. Its run id keys the table's rows."""

from __future__ import annotations

import matplotlib.pyplot as plt
import mlflow

from btc_platform.tracking import backtest_plots
from btc_platform.tracking.mlflow_setup import ModelStore, ensure_experiment, experiment_name
from btc_platform.training.backtest import BacktestResult
from btc_platform.training.backtest_summary import per_chunk, scored
from btc_platform.training.evaluation import Evaluation

NO_FORECASTS = "no forecasts: no retrain point gave a model that beats the baselines"


def log_backtest(store: ModelStore, result: BacktestResult, evaluation: Evaluation | None) -> str:
    spec = result.spec
    name = experiment_name(
        store.model_prefix, spec.pair, spec.interval_seconds, spec.horizon_minutes
    )
    experiment_id = ensure_experiment(store.tracking_uri, name, store.local_artifacts)
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"backtest-{spec.since:%Y%m%d}-{spec.until:%Y%m%d}"
    ) as run:
        verdict = evaluation.verdict() if evaluation else NO_FORECASTS
        mlflow.set_tags({"run_type": "backtest", "verdict": verdict})
        mlflow.log_params(
            {
                "pair": spec.pair,
                "since": spec.since.isoformat(),
                "until": spec.until.isoformat(),
                "retrain_every": str(spec.retrain_every),
                "trials": spec.config.trials,
                "horizon_minutes": spec.horizon_minutes,
                "retrains": len(result.retrains),
                "promoted": sum(r.promoted for r in result.retrains),
            }
        )
        mlflow.log_metrics({"predictions": float(len(result.predictions))})
        mlflow.log_table(
            {
                "at": [str(r.at) for r in result.retrains],
                "rows": [r.rows for r in result.retrains],
                "champion": [r.version or "none" for r in result.retrains],
                "promoted": [r.promoted for r in result.retrains],
                "reason": [r.reason for r in result.retrains],
                "seconds": [round(r.seconds, 1) for r in result.retrains],
            },
            "retrains.json",
        )
        if evaluation is None:
            return run.info.run_id
        mlflow.log_metrics(evaluation.metrics())
        chunks = per_chunk(result.predictions)
        mlflow.log_table(chunks.astype({"from": str, "to": str}), "per_champion.json")
        rows = scored(result.predictions)
        for figure, file in (
            (backtest_plots.rolling_coverage(rows), "rolling_coverage.png"),
            (backtest_plots.skill_over_time(rows), "skill_over_time.png"),
            (
                backtest_plots.tercile_coverage(evaluation.model, evaluation.baselines),
                "coverage_by_volatility_tercile.png",
            ),
        ):
            mlflow.log_figure(figure, f"plots/{file}")
            plt.close(figure)
        return run.info.run_id
