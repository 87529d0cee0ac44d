"""Assembles the Dagster definitions from their modules and the platform settings."""

from __future__ import annotations

import dagster as dg

from btc_platform.broker.topics import Topics
from btc_platform.defs.assets_accuracy import live_accuracy_asset, predictions
from btc_platform.defs.assets_backtest import backtest_asset
from btc_platform.defs.assets_coarse import coarse_candle_assets
from btc_platform.defs.assets_drain import drained_market_data
from btc_platform.defs.assets_features import features_asset
from btc_platform.defs.assets_training import training_assets
from btc_platform.defs.checks import asset_checks
from btc_platform.defs.jobs import backtest_job, drain_job, retrain_job
from btc_platform.defs.model_checks import champion_freshness_check
from btc_platform.defs.partitions import pair_horizon_partitions
from btc_platform.defs.resources import KafkaResource, MlflowResource, OfflineStoreResource
from btc_platform.defs.retrain_schedule import retrain_schedule
from btc_platform.defs.retrain_sensor import LiveTriggers, retrain_sensor
from btc_platform.defs.sensors import drain_sensor
from btc_platform.settings import Settings, load_settings


def build_definitions(settings: Settings, topics: Topics | None = None) -> dg.Definitions:
    assert settings.horizons is not None  # set by the settings' validation
    partitions = pair_horizon_partitions(settings.pairs, settings.horizons)
    return dg.Definitions(
        assets=[
            drained_market_data,
            *coarse_candle_assets,
            features_asset(partitions),
            *training_assets(partitions, settings.training_trials),
            backtest_asset(partitions, settings.training_trials),
            predictions,
            live_accuracy_asset(settings.live_window),
        ],
        asset_checks=[*asset_checks, champion_freshness_check(settings.pair_horizons)],
        jobs=[drain_job, retrain_job, backtest_job],
        sensors=[
            drain_sensor(settings.drain_sensor_seconds),
            retrain_sensor(
                settings.pair_horizons,
                LiveTriggers(
                    skill_floor=settings.live_skill_floor,
                    coverage_tolerance=settings.live_coverage_tolerance,
                    min_predictions=min(30, settings.live_window),
                ),
                settings.training_trials,
            ),
        ],
        schedules=[retrain_schedule(settings.pair_horizons, settings.retrain_cron)],
        resources={
            "kafka": KafkaResource(
                bootstrap=settings.kafka_bootstrap,
                trades_topic=(topics or Topics()).trades,
                predictions_topic=(topics or Topics()).predictions,
            ),
            "offline_store": OfflineStoreResource(
                path=str(settings.offline_store_file.resolve()),
                url=settings.store_url or "",
                data_path=settings.store_data_path or "",
                candle_seconds=settings.candle_seconds,
                freshness_seconds=settings.candle_freshness_seconds,
            ),
            "mlflow_store": MlflowResource(
                tracking_uri=str(settings.mlflow_tracking_uri),
                local_artifacts=str(settings.mlflow_artifacts),
                model_prefix=settings.model_name,
                promotion_tolerance=settings.promotion_tolerance,
                champion_max_age_hours=settings.champion_max_age_hours,
            ),
        },
    )


defs = build_definitions(load_settings())
