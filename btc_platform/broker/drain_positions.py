"""Which partitions a drain reads and from where: the store's offsets, never Kafka's.

On the DuckDB file one drain reads every partition. On a DuckLake, drains share the topic's
partitions through the Kafka consumer group: a partition the group assigns is paused until
the drain has read its stored offset and sought there (between two batch writes), and every
batch records from which stored offset it continues (`Consumed.since`), so the store can
refuse a batch another worker has overtaken.
"""

from __future__ import annotations

import duckdb
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition

from btc_platform.logs import get_logger
from btc_platform.store.offline_store import Consumed, seed_offsets, stored_offsets

log = get_logger(__name__)


class DrainPositions(ConsumerRebalanceListener):
    def __init__(self, consumer: KafkaConsumer, topic: str) -> None:
        self.consumer = consumer
        self.topic = topic
        self.pending: set[TopicPartition] = set()  # assigned, not yet sought to the store's offset
        self.since: dict[tuple[str, int], int] = {}  # the stored offset each one continues from

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("drain partitions assigned", partitions=sorted(p.partition for p in assigned))
        self.take(assigned)

    def take(self, partitions: list[TopicPartition]) -> None:
        """Pause `partitions` until `settle` has sought them to the store's offsets."""
        if partitions:
            self.consumer.pause(*partitions)
            self.pending |= set(partitions)

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for partition in revoked:
            self.pending.discard(partition)
            self.since.pop((partition.topic, partition.partition), None)

    def active(self) -> list[TopicPartition]:
        """Assigned partitions the drain reads now."""
        return sorted(self.consumer.assignment() - self.pending)

    def restart(self) -> None:
        """Every assigned partition is sought to the store's offset again (a stale batch)."""
        self.take(list(self.consumer.assignment()))

    def settle(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Seek the pending partitions to their stored offsets (no batch write in flight)."""
        pending = [p for p in self.pending if p in self.consumer.assignment()]
        self.pending.clear()
        if not pending:
            return
        seed_offsets(connection, [(p.topic, p.partition) for p in pending])
        stored = stored_offsets(connection, self.topic)
        for partition in pending:
            offset = stored.get(partition.partition, 0)
            self.consumer.seek(partition, offset)
            self.since[(partition.topic, partition.partition)] = offset
        self.consumer.resume(*pending)

    def consumed(self, next_offsets: dict[tuple[str, int], int]) -> Consumed:
        """The batch's offsets; the drain then continues from where the batch ends."""
        since = {key: self.since.get(key, -1) for key in next_offsets}  # -1: revoked meanwhile
        self.since.update(next_offsets)
        return Consumed(since, next_offsets)
