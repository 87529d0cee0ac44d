"""`btc-platform up`: the platform on embedded defaults (for now: broker + ingest)."""

from __future__ import annotations

import click
from kafka.errors import KafkaError

from btc_platform.broker.embedded import BrokerError
from btc_platform.cli.broker_cmd import embedded_broker, start_broker
from btc_platform.cli.ingest_cmd import ingest_until_stopped
from btc_platform.ingest.sources import Source, SourceOptions
from btc_platform.settings import Settings


@click.command()
@click.option(
    "--source",
    type=click.Choice([Source.KRAKEN.value, Source.SYNTHETIC.value]),
    default=Source.KRAKEN.value,
    show_default=True,
    help="kraken for live trades; synthetic for offline use.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="synthetic: times real time.",
)
@click.pass_obj
def up(settings: Settings, source: str, speed: float) -> None:
    """Start the broker and ingest trades until Ctrl-C; then stop what was started."""
    try:
        bootstrap, started = start_broker(settings)
    except BrokerError as error:
        raise click.ClickException(str(error)) from None
    except KafkaError as error:
        raise click.ClickException(
            f"nothing answers Kafka at {settings.kafka_bootstrap} ({type(error).__name__}); "
            "is another program using that port? Set BTC_KAFKA_BOOTSTRAP to a free one"
        ) from None
    click.echo(f"kafka   {bootstrap}   topics trades, trades.dlq, predictions")
    click.echo(f"ingest  --source {source} for {', '.join(settings.pairs)}   (Ctrl-C stops)")
    settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
    try:
        ingest_until_stopped(
            settings, SourceOptions(source=Source(source), pairs=settings.pairs, speed=speed)
        )
    finally:
        if started:
            embedded_broker(settings).stop()
            click.echo("broker stopped")
