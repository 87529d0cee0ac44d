"""Publishes every answered prediction to the `predictions` topic (for the accuracy loop).

Never in a request's way: sends are asynchronous, and when Kafka is unavailable the
prediction is still answered and the loss is counted and logged.
"""

from __future__ import annotations

import threading
import uuid

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from btc_platform.logs import get_logger

log = get_logger(__name__)


class PredictionLog:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.dropped = 0
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _connected(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap, acks=1, linger_ms=50, max_block_ms=1_000
                )
            return self._producer

    def publish(self, record: dict[str, object]) -> str:
        """Send an answered prediction (its JSON fields, with `pair`); returns its id."""
        prediction_id = uuid.uuid4().hex
        try:
            self._connected().send(
                self.topic,
                key=str(record["pair"]).encode(),
                value=orjson.dumps({"id": prediction_id, **record}),
            ).add_errback(self._lost)
        except KafkaError as error:
            self._lost(error)
        return prediction_id

    def _lost(self, error: Exception) -> None:
        self.dropped += 1
        log.warning("prediction not logged to Kafka", topic=self.topic, error=str(error))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
