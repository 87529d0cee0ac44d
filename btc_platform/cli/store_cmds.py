"""`btc-platform drain` and `btc-platform import-candles`: filling the offline store."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click
import duckdb
from kafka.errors import KafkaError

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain as drain_topic
from btc_platform.intervals import parse_interval
from btc_platform.settings import PAIR_PATTERN, Settings
from btc_platform.store.candle_import import import_candles as load_candles
from btc_platform.store.store_connection import open_store


@click.command()
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Messages per DuckDB transaction.",
)
@click.option("--max-messages", type=click.IntRange(min=1), help="Stop after about this many.")
@click.option(
    "--follow",
    is_flag=True,
    help="Keep draining what arrives, with one consumer, until SIGTERM or Ctrl-C (a drain "
    "worker; on a DuckLake several share the topic's partitions).",
)
@click.pass_obj
def drain(settings: Settings, batch_size: int, max_messages: int | None, follow: bool) -> None:
    """Drain Kafka `trades` into the offline store until caught up, then exit.

    The same code the Dagster drain job runs: trades inserted once by (pair, trade_id), their
    candles recomputed, and the consumed offsets stored in the same transaction.
    """
    stop = threading.Event() if follow else None
    if stop is not None:  # the batch being written is finished, then the drain ends
        for stopping in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stopping, lambda *_: stop.set())
    try:
        result = drain_topic(
            settings.kafka_bootstrap,
            settings.offline_store,
            Topics().trades,
            settings.candle_seconds,
            batch_size=batch_size,
            max_messages=max_messages,
            until=stop,
        )
    except (KafkaError, duckdb.Error) as error:
        raise click.ClickException(f"{type(error).__name__}: {error}") from None
    click.echo(
        f"drained {result.messages} messages: {result.trades_added} new trades, "
        f"{result.candles_written} candles written, {result.invalid} invalid"
    )


@click.command("import-candles")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pair", required=True, help="The pair the file's candles are for, e.g. BTC/USD.")
@click.option("--interval", default="1m", show_default=True, help="Candle interval: 60, 1m, 1h.")
@click.pass_obj
def import_candles(settings: Settings, file: Path, pair: str, interval: str) -> None:
    """Load a Kraken OHLCVT CSV (6 or 7 columns, no header) into the candles table.

    Idempotent: candles are keyed by (pair, interval, window_start). Lines that are not
    valid candles are reported with their line number and skipped.
    """
    pair = pair.upper()
    if not PAIR_PATTERN.match(pair):
        raise click.BadParameter(f"{pair} is not a pair like BTC/USD", param_hint="--pair")
    try:
        seconds = parse_interval(interval)
        with open_store(settings.offline_store) as connection:
            result = load_candles(connection, file, pair, seconds)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    for reason in result.rejected[:20]:
        click.echo(f"rejected: {reason}", err=True)
    click.echo(f"loaded {result.loaded} of {result.rows} candles into {settings.offline_store}")
