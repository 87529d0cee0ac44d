"""Dagster resources: the only way assets, sensors and checks reach Kafka and DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
from kafka import KafkaConsumer

from btc_platform.drain import GROUP_ID, DrainResult, drain, drain_positions
from btc_platform.pair_horizon import PairHorizon
from btc_platform.store.prediction_store import write_predictions
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform.tracking.mlflow_setup import ModelStore

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

# One step at a time on the DuckDB file: every asset that writes it and every check that
# reads it (a reader in another process would hit the writer's lock) is in this pool.
DUCKDB_POOL = "duckdb"


class KafkaResource(dg.ConfigurableResource):
    bootstrap: str
    trades_topic: str = "trades"
    predictions_topic: str = "predictions"

    def positions(self) -> dict[int, tuple[int, int]]:
        """Per partition, (the drain's committed offset, the topic's end offset): cheap,
        for sensors (`drain_positions`)."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=GROUP_ID,
            enable_auto_commit=False,
            bootstrap_timeout_ms=5_000,  # a sensor evaluation must end well within 60 s
        )
        try:
            return drain_positions(consumer, self.trades_topic)
        finally:
            consumer.close()


class OfflineStoreResource(dg.ConfigurableResource):
    path: str  # the DuckDB file, unless `url` names a DuckLake (see store_location)
    url: str = ""
    data_path: str = ""
    candle_seconds: int = 60
    freshness_seconds: int = 600

    @property
    def location(self) -> StoreLocation:
        return StoreLocation.of(self.url, Path(self.path), self.data_path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_store(self.location, read_only=read_only) as connection:
            yield connection

    def drain(self, kafka: KafkaResource, batch_size: int, max_messages: int) -> DrainResult:
        return drain(
            kafka.bootstrap,
            self.location,
            kafka.trades_topic,
            self.candle_seconds,
            batch_size=batch_size,
            max_messages=max_messages,
        )

    def drain_predictions(self, kafka: KafkaResource) -> DrainResult:
        """The service's answers from Kafka `predictions` into the `predictions` table."""
        return drain(
            kafka.bootstrap,
            self.location,
            kafka.predictions_topic,
            self.candle_seconds,
            write=write_predictions,
        )


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store and registry that models are logged to and promoted in:
    one registered model per (pair, horizon), named from `model_prefix`."""

    tracking_uri: str
    local_artifacts: str
    model_prefix: str
    promotion_tolerance: float = 0.005
    champion_max_age_hours: float = 48

    def model_store(self) -> ModelStore:
        return ModelStore(self.tracking_uri, Path(self.local_artifacts), self.model_prefix)

    def model_name(self, target: PairHorizon) -> str:
        return target.model_name(self.model_prefix)

    def champion(self, target: PairHorizon) -> ModelVersion | None:
        """The current champion of the (pair, horizon), if any."""
        # heavy (MLflow), so imported when a step or sensor asks, not when Dagster loads code
        from btc_platform.tracking.registry import Registry

        self.model_store().activate()
        return Registry(self.model_name(target)).champion()
