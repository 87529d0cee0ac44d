"""`btc-platform up`: the whole platform on embedded defaults, stopped cleanly by Ctrl-C.

Broker and ingest run in this process; Dagster (webserver + daemon: the drain sensor, the
retrain sensor and schedule), the MLflow UI and the prediction service run as children,
logged to $BTC_DATA_DIR/logs/.
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import click
from kafka.errors import KafkaError

from btc_platform.broker.embedded import BrokerError
from btc_platform.cli.broker_cmd import embedded_broker, start_broker
from btc_platform.cli.ingest_cmd import ago, ingest_until_stopped
from btc_platform.ingest.sources import Source, SourceOptions
from btc_platform.settings import Settings
from btc_platform.stack.children import dagster_home, missing_root_files, platform_children
from btc_platform.stack.ports import taken_ports
from btc_platform.stack.status import StatusReporter
from btc_platform.stack.supervisor import RestartPolicy, Supervised, Supervisor

NO_BACKFILL = {"0", "none"}


def child_env(settings: Settings, bootstrap: str, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BTC_DATA_DIR=str(settings.data_dir.resolve()),
        BTC_KAFKA_BOOTSTRAP=bootstrap,
        BTC_DUCKDB_PATH=str(settings.offline_store_file.resolve()),
        MLFLOW_TRACKING_URI=str(settings.mlflow_tracking_uri),
        DAGSTER_HOME=str(dagster_home(settings, root)),
    )
    return env


def supervised_ingest(settings: Settings, options: SourceOptions) -> None:
    """Ingest until Ctrl-C; a crash restarts it with backoff on the same options (what it
    sends again is the same trades, which every consumer drops by (pair, trade_id)); one that
    keeps crashing is given up on while the rest of the platform runs on until Ctrl-C."""
    policy = RestartPolicy()
    while True:
        try:
            ingest_until_stopped(settings, options)
            return
        except Exception as error:  # anything: the other parts must not go down with it
            cause = f"{type(error).__name__}: {error}"
            delay = policy.delay(time.monotonic())
            if delay is None:
                click.echo(f"ingest keeps crashing (last: {cause}); given up, the rest goes on")
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    return
            click.echo(f"ingest exited unexpectedly ({cause}); restarting in {delay:.0f} s")
            time.sleep(delay)


@click.command()
@click.option(
    "--source",
    type=click.Choice([Source.KRAKEN.value, Source.SYNTHETIC.value]),
    default=Source.KRAKEN.value,
    show_default=True,
    help="kraken for live trades; synthetic for offline use.",
)
@click.option(
    "--history",
    default="48h",
    show_default=True,
    help="synthetic: a market history this long, replayed at once so that a first model "
    "trains within minutes; then the market goes on in real time.",
)
@click.option(
    "--backfill",
    default="48h",
    show_default=True,
    help="kraken: history fetched over REST before going live, so that a first model "
    "can train at once ('0' for none).",
)
@click.option("--status-every", type=float, default=30.0, show_default=True, hidden=True)
@click.pass_obj
def up(settings: Settings, source: str, history: str, backfill: str, status_every: float) -> None:
    """Start everything, print where it is, report its status; Ctrl-C stops it all."""
    root = Path.cwd()
    problems = [
        f"{name} not found: run `up` from the repository root" for name in missing_root_files(root)
    ] + taken_ports(settings)
    if problems:
        raise click.ClickException("; ".join(problems))
    try:
        bootstrap, started = start_broker(settings)
    except BrokerError as error:
        raise click.ClickException(str(error)) from None
    except KafkaError as error:
        raise click.ClickException(
            f"nothing answers Kafka at {settings.kafka_bootstrap} ({type(error).__name__}); "
            "is another program using that port? Set BTC_KAFKA_BOOTSTRAP to a free one"
        ) from None
    settings = settings.model_copy(update={"kafka_bootstrap": bootstrap})
    children = platform_children(settings)
    env, logs = child_env(settings, bootstrap, root), settings.data_dir / "logs"
    supervisor = Supervisor(
        [
            Supervised(
                child.name,
                child.exited,
                partial(child.restart, env, root, logs),
                str(logs / f"{child.name}.log"),
            )
            for child in children
        ]
    )
    reporter = StatusReporter(settings, children, click.echo, supervisor, status_every)
    try:
        for child in children:
            child.start(env, root, logs)
        click.echo(f"kafka      {bootstrap}   topics trades, trades.dlq, predictions")
        click.echo(f"ingest     --source {source} for {', '.join(settings.pairs)}   (Ctrl-C stops)")
        click.echo(f"starting   {', '.join(c.name for c in children)} (logs in {logs})")
        reporter.start()
        synthetic = source == Source.SYNTHETIC.value
        options = SourceOptions(
            source=Source(source),
            pairs=settings.pairs,
            speed=1.0,
            start=ago(history) if synthetic else None,
            catch_up=synthetic,
            backfill_since=None if synthetic or backfill.strip("0smhd") == "" else ago(backfill),
        )
        supervised_ingest(settings, options)
    finally:
        reporter.stopped.set()
        for child in reversed(children):
            child.stop()
            click.echo(f"{child.name} stopped")
        if started:
            embedded_broker(settings).stop()
            click.echo("broker stopped")
