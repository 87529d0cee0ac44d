"""Publishes every answered prediction to the `predictions` topic (for the accuracy loop).

Never in a request's way: sends are asynchronous, and when Kafka is unavailable the
prediction is still answered and the loss is counted and logged; a shutdown while the
broker is away logs how many predictions it could not send instead of failing.
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
        self.in_flight = 0
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
            sent = self._connected().send(
                self.topic,
                key=str(record["pair"]).encode(),
                value=orjson.dumps({"id": prediction_id, **record}),
            )
        except KafkaError as error:
            self._lost(error)
            return prediction_id
        with self._lock:
            self.in_flight += 1
        sent.add_callback(self._delivered).add_errback(self._lost_in_flight)
        return prediction_id

    def _delivered(self, _metadata: object) -> None:
        with self._lock:
            self.in_flight -= 1

    def _lost_in_flight(self, error: Exception) -> None:
        self._delivered(None)
        self._lost(error)

    def _lost(self, error: Exception) -> None:
        self.dropped += 1
        log.warning("prediction not logged to Kafka", topic=self.topic, error=str(error))

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is queued for up to `timeout` seconds, then let go of the rest."""
        if self._producer is None:
            return
        try:
            self._producer.close(timeout=timeout)
        except KafkaError as error:
            log.warning(
                "predictions not logged to Kafka at shutdown",
                topic=self.topic,
                unsent=self.in_flight,
                error=type(error).__name__,
            )
