"""Reading topics back in tests: assign every partition, read from offset 0."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_topic(
    bootstrap: str, topic: str, expect: int | None = None, timeout: float = 30.0, idle: float = 1.5
) -> list[ConsumerRecord]:
    """All records of `topic`: until `expect` are read, or nothing new came for `idle` s."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=int(idle * 1000),
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or {0}
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        for tp in assigned:
            consumer.seek(tp, 0)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            got = [r for rs in batch.values() for r in rs]
            records.extend(got)
            if expect is not None and len(records) >= expect:
                break
            if got:
                quiet_since = time.monotonic()
            elif expect is None and time.monotonic() - quiet_since > idle:
                break
        return records
    finally:
        consumer.close()
