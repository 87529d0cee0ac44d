"""The `btc-platform` command line (also `python -m btc_platform`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from btc_platform.cli.lazy_group import LazyGroup
from btc_platform.logs import configure_logging
from btc_platform.runtime import tune_garbage_collector
from btc_platform.settings import SettingsError, load_settings

COMMANDS = {
    "broker": "btc_platform.cli.broker_cmd:broker",
    "ingest": "btc_platform.cli.ingest_cmd:ingest",
    "up": "btc_platform.cli.up_cmd:up",
    "drain": "btc_platform.cli.store_cmds:drain",
    "import-candles": "btc_platform.cli.store_cmds:import_candles",
    "store": "btc_platform.cli.store_query_cmd:store",
    "train": "btc_platform.cli.train_cmd:train",
    "backtest": "btc_platform.cli.backtest_cmd:backtest",
    "model": "btc_platform.cli.model_cmd:model",
    "mlflow-ui": "btc_platform.cli.mlflow_cmd:mlflow_ui",
}


@click.group(
    cls=LazyGroup, commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
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


def main() -> None:
    sys.exit(cli.main(prog_name="btc-platform", standalone_mode=True))
