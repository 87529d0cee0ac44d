"""`btc-platform store query "SQL"`: look into the offline store from the shell or a script."""

from __future__ import annotations

import sys

import click

from btc_platform.settings import Settings
from btc_platform.store.store_query import StoreQueryError, query_to_csv


@click.group()
def store() -> None:
    """The offline store (trades, candles, predictions, offsets)."""


@store.command()
@click.argument("sql")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait while a drain holds the store file.",
)
@click.pass_obj
def query(settings: Settings, sql: str, wait: float) -> None:
    """Run a read-only SQL query and print its rows as CSV (a header row first).

    \b
    btc-platform store query "SELECT pair, count(*) AS trades FROM trades GROUP BY pair"
    btc-platform store query "FROM candles WHERE final ORDER BY window_start DESC LIMIT 5"
    """
    try:
        query_to_csv(settings.offline_store, sql, sys.stdout, wait)
    except StoreQueryError as error:
        raise click.ClickException(str(error)) from None
