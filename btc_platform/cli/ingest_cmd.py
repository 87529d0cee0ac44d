"""`btc-platform ingest`: trades from a source into the `trades` topic."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from pathlib import Path

import click

from btc_platform.broker.publisher import TradePublisher
from btc_platform.cli.params import TimestampType, ago
from btc_platform.ingest.ingest_metrics import ingest_metrics
from btc_platform.ingest.runner import IngestResult, run_ingest
from btc_platform.ingest.sources import Source, SourceOptions, open_stream
from btc_platform.settings import PAIR_PATTERN, Settings


def spool_file(settings: Settings) -> Path:
    return settings.data_dir / "ingest" / "spool.jsonl"


def ingest_until_stopped(settings: Settings, options: SourceOptions) -> IngestResult:
    """Run the source until it ends or SIGINT/SIGTERM arrives; flushes before returning."""

    async def main() -> IngestResult:
        stream, live = await open_stream(settings, options)
        publisher = TradePublisher(
            settings.kafka_bootstrap, spool_file(settings), partitions=settings.kafka_partitions
        )
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        port, host = settings.ingest_metrics_port, settings.ingest_metrics_host
        with ingest_metrics(port, host, publisher, live):
            try:
                return await run_ingest(stream, publisher)
            except asyncio.CancelledError:
                return IngestResult.of(publisher)

    return asyncio.run(main())


def parse_pairs(value: str | None, settings: Settings) -> list[str]:
    if not value:
        return settings.pairs
    pairs = [p.strip().upper() for p in value.split(",") if p.strip()]
    bad = [p for p in pairs if not PAIR_PATTERN.match(p)]
    if bad:
        raise click.BadParameter(
            f"{', '.join(bad)} is not a pair like BTC/USD", param_hint="--pairs"
        )
    return pairs


@click.command()
@click.option(
    "--source",
    type=click.Choice([s.value for s in Source]),
    default="kraken",
    show_default=True,
    help="Where trades come from.",
)
@click.option("--pairs", help="Comma-separated pairs, e.g. BTC/USD,ETH/USD [BTC_PAIRS].")
@click.option("--pair", help="The pair of a CSV file (default: the first of --pairs).")
@click.option("--since", type=TimestampType(), help="rest: first trade time (ISO-8601 or unix s).")
@click.option("--until", type=TimestampType(), help="rest: last trade time (default: now).")
@click.option("--resume", is_flag=True, help="rest: continue after the last trade fetched before.")
@click.option("--file", "file_", type=click.Path(path_type=Path), help="csv: the file to replay.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=None,
    help="csv/synthetic: times real time; 0 = as fast as possible "
    "(default: 0 for csv, 1 for synthetic).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="synthetic: random seed.")
@click.option("--start", type=TimestampType(), help="synthetic: market start time (default: now).")
@click.option("--limit", type=click.IntRange(min=1), help="synthetic: stop after N trades.")
@click.option(
    "--backfill",
    help="kraken: first fetch this much history over REST (e.g. 48h), then go live "
    "without a gap or a repeat at the handover.",
)
@click.option(
    "--history",
    help="synthetic: start this long ago (e.g. 24h) and catch up to now at full speed, "
    "then go on in real time.",
)
@click.pass_obj
def ingest(
    settings: Settings,
    source: str,
    pairs: str | None,
    pair: str | None,
    since: datetime | None,
    until: datetime | None,
    resume: bool,
    file_: Path | None,
    speed: float | None,
    seed: int,
    start: datetime | None,
    limit: int | None,
    backfill: str | None,
    history: str | None,
) -> None:
    """Ingest trades into the `trades` topic; rejected input goes to `trades.dlq`.

    \b
    --source kraken     live WebSocket v2 trades, gaps filled from REST; runs until stopped
    --source rest       REST history from --since to --until (or now), then exits
    --source csv        replay a Kraken Time-and-Sales CSV (timestamp,price,volume)
    --source synthetic  a seeded simulated market, for offline use and demos
    """
    chosen = Source(source)
    pair_list = parse_pairs(pair if chosen is Source.CSV and pair else pairs, settings)
    default_speed = 1.0 if chosen is Source.SYNTHETIC else 0.0
    if history is not None:
        start = ago(history)
    options = SourceOptions(
        source=chosen,
        pairs=pair_list,
        since=since,
        until=until,
        resume=resume,
        file=file_,
        speed=default_speed if speed is None else speed,
        seed=seed,
        start=start,
        limit=limit,
        catch_up=history is not None,
        backfill_since=ago(backfill) if backfill else None,
    )
    try:
        result = ingest_until_stopped(settings, options)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"ingested {result.trades} trades, {result.rejected} rejected to the DLQ")
