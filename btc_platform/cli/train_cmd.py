"""`btc-platform train`: one training + evaluation + promotion run outside Dagster."""

from __future__ import annotations

import click
import duckdb

from btc_platform.cli.pair_horizon_options import chosen_target, pair_horizon_options
from btc_platform.settings import Settings
from btc_platform.training.config import TrainingConfig


@click.command()
@pair_horizon_options
@click.option(
    "--trials", type=click.IntRange(min=1), help="Hyperparameter trials [BTC_TRAINING_TRIALS]."
)
@click.option("--cv-folds", type=click.IntRange(min=2), default=3, show_default=True)
@click.option(
    "--holdout-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="The most recent share of rows held out for evaluation and the promotion gate.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.pass_obj
def train(
    settings: Settings,
    pair: str | None,
    horizon: int | None,
    trials: int | None,
    cv_folds: int,
    holdout_fraction: float,
    seed: int,
) -> None:
    """Refresh features, tune and train a p10/p50/p90 XGBoost model of one pair and horizon,
    log it to MLflow, register it as a version of that pair's and horizon's model, and
    promote it to `champion` only if it beats the baselines and its current champion on the
    same holdout."""
    from btc_platform.retrain import retrain  # heavy (MLflow, XGBoost): only when run

    target = chosen_target(settings, pair, horizon)
    config = TrainingConfig(
        trials=trials or settings.training_trials,
        cv_folds=cv_folds,
        holdout_fraction=holdout_fraction,
        seed=seed,
    )
    try:
        result = retrain(settings, config, target)
    except (ValueError, duckdb.Error) as error:
        raise click.ClickException(str(error)) from None
    lineage, candidate, decision = result.dataset.lineage, result.candidate, result.decision
    evaluation = candidate.evaluation
    click.echo(
        f"trained {candidate.model_name} v{candidate.version} on {lineage.rows} rows "
        f"({lineage.first_window} -> {lineage.last_window})"
    )
    for name, value in evaluation.metrics().items():
        click.echo(f"  {name:34} {value:.6g}")
    click.echo(f"verdict: {evaluation.verdict()}")
    outcome = "promoted to champion" if decision.promote else "not promoted"
    click.echo(f"{outcome}: {decision.reason}")
