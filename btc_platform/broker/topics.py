"""Topic names and their idempotent creation on any Kafka-protocol broker."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True, slots=True)
class Topics:
    trades: str = "trades"
    dlq: str = "trades.dlq"
    predictions: str = "predictions"

    def all(self) -> list[str]:
        return [self.trades, self.dlq, self.predictions]


def ensure_topics(bootstrap: str, names: list[str], partitions: int = 1) -> list[str]:
    """Create the topics that do not exist yet; returns the names that were created."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="btc-platform-admin", bootstrap_timeout_ms=5_000
    )
    try:
        existing = set(admin.list_topics())
        created = []
        for name in names:
            if name in existing:
                continue
            try:
                admin.create_topics([NewTopic(name, partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # created concurrently by another process: fine
        return created
    finally:
        admin.close()
