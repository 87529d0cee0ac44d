"""Assembles the Dagster definitions from their modules and the platform settings."""

from __future__ import annotations

import dagster as dg

from btc_platform.broker.topics import Topics
from btc_platform.defs.assets_coarse import coarse_candle_assets
from btc_platform.defs.assets_drain import drained_market_data
from btc_platform.defs.checks import asset_checks
from btc_platform.defs.jobs import drain_job
from btc_platform.defs.resources import KafkaResource, OfflineStoreResource
from btc_platform.defs.sensors import drain_sensor
from btc_platform.settings import Settings, load_settings


def build_definitions(settings: Settings, topics: Topics | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[drained_market_data, *coarse_candle_assets],
        asset_checks=asset_checks,
        jobs=[drain_job],
        sensors=[drain_sensor(settings.drain_sensor_seconds)],
        resources={
            "kafka": KafkaResource(
                bootstrap=settings.kafka_bootstrap, trades_topic=(topics or Topics()).trades
            ),
            "offline_store": OfflineStoreResource(
                path=str(settings.offline_store.resolve()),
                candle_seconds=settings.candle_seconds,
                freshness_seconds=settings.candle_freshness_seconds,
            ),
        },
    )


defs = build_definitions(load_settings())
