"""The `btc-platform` command line (also `python -m btc_platform`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from btc_platform.cli.backtest_cmd import backtest
from btc_platform.cli.broker_cmd import broker
from btc_platform.cli.ingest_cmd import ingest
from btc_platform.cli.mlflow_cmd import mlflow_ui
from btc_platform.cli.model_cmd import model
from btc_platform.cli.store_cmds import drain, import_candles
from btc_platform.cli.store_query_cmd import store
from btc_platform.cli.train_cmd import train
from btc_platform.cli.up_cmd import up
from btc_platform.logs import configure_logging
from btc_platform.runtime import tune_garbage_collector
from btc_platform.settings import SettingsError, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="All local state [BTC_DATA_DIR].")
@click.option("--kafka-bootstrap", help="Kafka bootstrap host:port [BTC_KAFKA_BOOTSTRAP].")
@click.option("--log-level", help="DEBUG, INFO, WARNING or ERROR [BTC_LOG_LEVEL].")
@click.pass_context
def cli(
    ctx: click.Context, data_dir: Path | None, kafka_bootstrap: str | None, log_level: str | None
) -> None:
    """btc-platform: live Kraken BTC trades -> Kafka -> DuckDB -> XGBoost -> BentoML.

    Settings come from BTC_* environment variables and a .env file; flags override them.
    """
    try:
        settings = load_settings(
            data_dir=data_dir, kafka_bootstrap=kafka_bootstrap, log_level=log_level
        )
    except SettingsError as error:
        raise click.UsageError(str(error)) from None
    configure_logging(settings.log_level, settings.log_format)
    tune_garbage_collector()
    ctx.obj = settings


cli.add_command(broker)
cli.add_command(ingest)
cli.add_command(up)
cli.add_command(drain)
cli.add_command(import_candles)
cli.add_command(store)
cli.add_command(train)
cli.add_command(backtest)
cli.add_command(model)
cli.add_command(mlflow_ui)


def main() -> None:
    sys.exit(cli.main(prog_name="btc-platform", standalone_mode=True))
