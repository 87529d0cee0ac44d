"""`btc-platform model show|rollback`: the registry's champion and its history."""

from __future__ import annotations

import click

from btc_platform.settings import Settings


@click.group()
def model() -> None:
    """The registered model: which version serves, and rollback."""


@model.command()
@click.pass_obj
def show(settings: Settings) -> None:
    """The champion and previous champion, with their recorded numbers and decision."""
    from btc_platform.tracking.mlflow_setup import use_tracking
    from btc_platform.tracking.registry import CHAMPION, PREVIOUS, Registry

    use_tracking(str(settings.mlflow_tracking_uri))
    registry = Registry(settings.model_name)
    for alias in (CHAMPION, PREVIOUS):
        version = registry.by_alias(alias)
        if version is None:
            click.echo(f"{alias}: none")
            continue
        click.echo(f"{alias}: {settings.model_name} v{version.version} (run {version.run_id})")
        for key in sorted(version.tags):
            click.echo(f"  {key:34} {version.tags[key]}")


@model.command()
@click.pass_obj
def rollback(settings: Settings) -> None:
    """Point `champion` back at the previous champion (the two aliases swap)."""
    from btc_platform.tracking.mlflow_setup import use_tracking
    from btc_platform.tracking.registry import Registry

    use_tracking(str(settings.mlflow_tracking_uri))
    try:
        version = Registry(settings.model_name).rollback()
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"champion is now {settings.model_name} v{version}")
