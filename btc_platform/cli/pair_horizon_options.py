"""The `--pair` and `--horizon` options of the commands that work on one (pair, horizon)."""

from __future__ import annotations

from collections.abc import Callable

import click

from btc_platform.pair_horizon import PairHorizon
from btc_platform.settings import Settings


def pair_horizon_options[F: Callable[..., object]](function: F) -> F:
    function = click.option(
        "--horizon",
        type=click.IntRange(min=1, max=1_440),
        help="Horizon in minutes, one of BTC_HORIZONS [the first].",
    )(function)
    return click.option("--pair", help="The pair, one of BTC_PAIRS [the first].")(function)


def chosen_target(settings: Settings, pair: str | None, horizon: int | None) -> PairHorizon:
    """The (pair, horizon) the options name; a usage error for one not configured."""
    chosen = PairHorizon((pair or settings.pairs[0]).upper(), horizon or settings.default_horizon)
    if chosen not in settings.pair_horizons:
        served = ", ".join(str(t) for t in settings.pair_horizons)
        raise click.UsageError(f"{chosen} is not configured (BTC_PAIRS x BTC_HORIZONS: {served})")
    return chosen
