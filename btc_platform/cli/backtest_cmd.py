"""`btc-platform backtest`: the walk-forward backtest over stored candles."""

from __future__ import annotations

from datetime import datetime, timedelta

import click
import duckdb

from btc_platform.cli.params import DurationType, TimestampType
from btc_platform.settings import Settings
from btc_platform.training.config import TrainingConfig


@click.command()
@click.option("--pair", help="The pair [first of BTC_PAIRS].")
@click.option("--since", type=TimestampType(), required=True, help="First retrain point.")
@click.option("--until", type=TimestampType(), required=True, help="End of the forecasts.")
@click.option(
    "--retrain-every",
    type=DurationType(),
    default="7d",
    show_default=True,
    help="Time between retrain points (e.g. 7d, 24h).",
)
@click.option(
    "--trials", type=click.IntRange(min=1), help="Hyperparameter trials [BTC_TRAINING_TRIALS]."
)
@click.option(
    "--horizon", type=click.IntRange(min=1), help="Horizon in minutes [first of BTC_HORIZONS]."
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.pass_obj
def backtest(
    settings: Settings,
    pair: str | None,
    since: datetime,
    until: datetime,
    retrain_every: timedelta,
    trials: int | None,
    horizon: int | None,
    seed: int,
) -> None:
    """Retrain at every point from --since to --until on the history before it (the same
    pipeline and gate as `train`), forecast every candle after it with the service's code
    and live calibration, and score it all against both baselines. Writes every forecast to
    the DuckDB table `backtest_predictions` and a summary run (metrics, plots) to MLflow."""
    from btc_platform.backtest_job import backtest as run  # heavy: only when run
    from btc_platform.tracking.backtest_run import NO_FORECASTS
    from btc_platform.training.backtest import BacktestSpec

    try:
        spec = BacktestSpec(
            pair=(pair or settings.pairs[0]).upper(),
            interval_seconds=settings.candle_seconds,
            horizon_minutes=horizon or settings.default_horizon,
            since=since.replace(tzinfo=None),
            until=until.replace(tzinfo=None),
            retrain_every=retrain_every,
            config=TrainingConfig(trials=trials or settings.training_trials, seed=seed),
            tolerance=settings.promotion_tolerance,
        )
        report = run(settings, spec)
    except (ValueError, duckdb.Error) as error:
        raise click.ClickException(str(error)) from None
    result, evaluation = report.result, report.evaluation
    promoted = sum(r.promoted for r in result.retrains)
    click.echo(
        f"backtest {spec.pair} h{spec.horizon_minutes}m {spec.since} -> {spec.until}: "
        f"{len(result.retrains)} retrains ({promoted} promoted), "
        f"{report.rows_written} forecasts in backtest_predictions (run {report.run_id})"
    )
    if evaluation is None:
        click.echo(NO_FORECASTS)
        return
    click.echo(report.per_champion.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    click.echo(f"verdict: {evaluation.verdict()}")
