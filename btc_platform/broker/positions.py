"""Where a consumer reads: partitions assigned at offsets kept outside Kafka, whether it has
caught up, and a topic that restarted below the kept offsets.

Positions come from the consumer's own fetch responses (the high watermark), never from
ListOffsets: Tansu answers "latest" with the start of the last record batch.
"""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from btc_platform.logs import get_logger

log = get_logger(__name__)


def assign_at_offsets(
    consumer: KafkaConsumer, topic: str, offsets: dict[int, int]
) -> list[TopicPartition]:
    """Assign every partition of `topic`, each at its offset (or its beginning)."""
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    for partition in partitions:
        if partition.partition in offsets:
            consumer.seek(partition, offsets[partition.partition])
        else:
            consumer.seek_to_beginning(partition)
    return partitions


def caught_up(consumer: KafkaConsumer, partitions: list[TopicPartition]) -> bool:
    """Every partition read up to the high watermark its latest fetch response reported."""
    for partition in partitions:
        high_watermark = consumer.highwater(partition)
        if high_watermark is None or consumer.position(partition) < high_watermark:
            return False
    return True


def rewind_restarted(consumer: KafkaConsumer, partitions: list[TopicPartition]) -> list[int]:
    """Partitions whose end is now below the position: the topic was recreated (an in-memory
    broker restarted, a topic deleted and made again). Each is read again from its beginning,
    where its new records are; the readers skip trades they already have (by trade id).
    Returns the partitions rewound.

    (Kafka itself answers such a fetch with OFFSET_OUT_OF_RANGE: consumers that call this also
    set auto_offset_reset="earliest", to the same effect.)"""
    rewound = []
    for partition in partitions:
        end, position = consumer.highwater(partition), consumer.position(partition)
        if end is not None and position > end:
            log.warning(
                "topic restarted below the position read; reading it again from its beginning",
                topic=partition.topic,
                partition=partition.partition,
                position=position,
                end=end,
            )
            consumer.seek_to_beginning(partition)
            rewound.append(partition.partition)
    return rewound
