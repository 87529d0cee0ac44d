"""`btc-platform broker start|stop|status`: the embedded Kafka broker."""

from __future__ import annotations

import click
from kafka.errors import KafkaError

from btc_platform.broker.embedded import (
    BrokerError,
    EmbeddedBroker,
    is_loopback,
    port_answers,
    split_bootstrap,
)
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.settings import Settings


def embedded_broker(settings: Settings, port: int | None = None) -> EmbeddedBroker:
    host, default_port = split_bootstrap(settings.kafka_bootstrap)
    return EmbeddedBroker(settings.data_dir / "broker", f"{host}:{port or default_port}")


def start_broker(settings: Settings, port: int | None = None) -> tuple[str, bool]:
    """Start the embedded broker unless a broker answers there already; create the topics.

    Returns the bootstrap address and whether this call started a broker.
    """
    bootstrap, started = settings.kafka_bootstrap, False
    if is_loopback(settings.kafka_bootstrap):
        broker = embedded_broker(settings, port)
        bootstrap = broker.bootstrap
        host, broker_port = split_bootstrap(bootstrap)
        if not port_answers(host, broker_port):  # else: ours already, or a local Kafka/Redpanda
            broker.start()
            started = True
    ensure_topics(bootstrap, Topics().all(), settings.kafka_partitions)
    return bootstrap, started


@click.group()
def broker() -> None:
    """The embedded Kafka broker (Tansu, in memory) for local use and tests.

    When BTC_KAFKA_BOOTSTRAP points at another broker (Redpanda, Kafka), nothing is
    started: `start` only creates the topics there.
    """


@broker.command()
@click.option("--port", type=int, help="Port to listen on (default: from BTC_KAFKA_BOOTSTRAP).")
@click.pass_obj
def start(settings: Settings, port: int | None) -> None:
    """Start the broker in the background and create the topics."""
    try:
        bootstrap, started = start_broker(settings, port)
    except (BrokerError, KafkaError) as error:
        raise click.ClickException(str(error)) from None
    state = "started broker" if started else "using the running broker"
    click.echo(f"{state} at {bootstrap}; topics: {', '.join(Topics().all())}")


@broker.command()
@click.option("--port", type=int, help="Port of the broker to stop.")
@click.pass_obj
def stop(settings: Settings, port: int | None) -> None:
    """Stop the embedded broker started from this data dir."""
    stopped = embedded_broker(settings, port).stop()
    click.echo("broker stopped" if stopped else "no embedded broker running")


@broker.command()
@click.option("--port", type=int, help="Port of the broker to check.")
@click.pass_obj
def status(settings: Settings, port: int | None) -> None:
    """Show whether the embedded broker runs (exit 1 when it does not)."""
    state = embedded_broker(settings, port).status()
    if state.running:
        click.echo(f"running (pid {state.pid}) at {state.bootstrap}; log: {state.log_file}")
    else:
        click.echo(f"not running ({state.bootstrap})")
        raise SystemExit(1)
