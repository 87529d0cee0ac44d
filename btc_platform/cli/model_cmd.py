"""`btc-platform model show|rollback`: a (pair, horizon)'s champion and its history."""

from __future__ import annotations

import click

from btc_platform.cli.pair_horizon_options import chosen_target, pair_horizon_options
from btc_platform.settings import Settings


@click.group()
def model() -> None:
    """The registered models (one per pair and horizon): which version serves, and rollback."""


@model.command()
@pair_horizon_options
@click.pass_obj
def show(settings: Settings, pair: str | None, horizon: int | None) -> None:
    """The champion and previous champion, with their recorded numbers and decision."""
    from btc_platform.tracking.mlflow_setup import use_tracking
    from btc_platform.tracking.registry import CHAMPION, PREVIOUS, Registry

    name = settings.model_name_of(chosen_target(settings, pair, horizon))
    use_tracking(str(settings.mlflow_tracking_uri))
    registry = Registry(name)
    for alias in (CHAMPION, PREVIOUS):
        version = registry.by_alias(alias)
        if version is None:
            click.echo(f"{alias}: none")
            continue
        click.echo(f"{alias}: {name} v{version.version} (run {version.run_id})")
        for key in sorted(version.tags):
            click.echo(f"  {key:34} {version.tags[key]}")


@model.command()
@pair_horizon_options
@click.pass_obj
def rollback(settings: Settings, pair: str | None, horizon: int | None) -> None:
    """Point `champion` back at the previous champion (the two aliases swap)."""
    from btc_platform.tracking.mlflow_setup import use_tracking
    from btc_platform.tracking.registry import Registry

    name = settings.model_name_of(chosen_target(settings, pair, horizon))
    use_tracking(str(settings.mlflow_tracking_uri))
    try:
        version = Registry(name).rollback()
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"champion is now {name} v{version}")
