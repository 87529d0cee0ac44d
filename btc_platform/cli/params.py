"""Command-line parameter types shared by the commands: times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from btc_platform.intervals import parse_interval
from btc_platform.trades import InvalidTrade, parse_ts


class TimestampType(click.ParamType):
    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value)
        try:
            return parse_ts(float(text) if text.replace(".", "", 1).isdigit() else text)
        except InvalidTrade:
            self.fail(
                f"{text!r} is not ISO-8601 with a timezone (2024-08-01T00:00:00Z) or unix seconds",
                param,
                ctx,
            )


class DurationType(click.ParamType):
    """A duration like 90m, 24h or 7d."""

    name = "DURATION"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return timedelta(seconds=parse_interval(str(value)))
        except ValueError:
            self.fail(f"{value!r} is not a duration like 90m, 24h or 7d", param, ctx)


def ago(duration: str) -> datetime:
    """That long before now, e.g. `24h` -> 24 hours ago."""
    return datetime.now(UTC).replace(microsecond=0) - DurationType().convert(duration, None, None)
