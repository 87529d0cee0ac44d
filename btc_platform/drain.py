"""Drain the `trades` topic into the offline store, with an exactly-once effect.

The consumer is assigned every partition and seeks to the offsets stored in DuckDB (never
to a consumer-group position): each batch's trades, candles and next offsets are written
in one DuckDB transaction. The offsets are then committed to the Kafka group too, only so
that lag shows up in Kafka tooling. A crash anywhere resumes from DuckDB's offsets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from btc_platform.broker.positions import assign_at_offsets, caught_up, rewind_restarted
from btc_platform.ingest.progress import Progress
from btc_platform.logs import get_logger
from btc_platform.runtime import pipelined_throughput
from btc_platform.store.offline_store import BatchResult, open_store, stored_offsets, write_batch

log = get_logger(__name__)

GROUP_ID = "btc-platform-drain"
FIRST_FETCH_SECONDS = 10.0  # how long a drain waits for the broker's first fetch answer


def drain_positions(consumer: KafkaConsumer, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition of `topic`, (the drain group's committed offset, the end offset).

    Metadata and offsets only, no messages. `consumer` has group_id GROUP_ID and never
    commits itself. A broker whose end offsets are approximate (the embedded one) can only
    make this under-report; drains never rely on it."""
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    ends = consumer.end_offsets(partitions)
    return {tp.partition: (consumer.committed(tp) or 0, ends[tp]) for tp in partitions}


BatchWriter = Callable[
    [duckdb.DuckDBPyConnection, list[bytes], dict[tuple[str, int], int]], BatchResult
]


@dataclass
class DrainResult:
    messages: int = 0
    trades_added: int = 0
    candles_written: int = 0
    invalid: int = 0
    batches: int = 0
    offsets: dict[int, int] = field(default_factory=dict)

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.trades_in_batch + len(batch.rejected)
        self.trades_added += batch.trades_added
        self.candles_written += batch.candles_written
        self.invalid += len(batch.rejected)


def drain(
    bootstrap: str,
    store_path: Path,
    topic: str,
    interval_seconds: int,
    *,
    batch_size: int = 50_000,
    max_messages: int | None = None,
    idle_ms: int = 500,
    write: BatchWriter | None = None,
) -> DrainResult:
    """Drain until caught up with the high watermarks, or `max_messages`.

    A poll that brings nothing for `idle_ms` also ends it. `write` stores one batch and its
    offsets in one transaction; by default the trades writer (trades + candles at
    `interval_seconds`).
    """
    write = write or partial(write_batch, interval_seconds=interval_seconds)
    result = DrainResult()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=GROUP_ID,
        enable_auto_commit=False,
        client_id="btc-platform-drain",
        max_poll_records=batch_size,
        auto_offset_reset="earliest",  # a truncated or recreated topic: see rewind_restarted
    )
    progress = Progress("draining", unit="messages")
    polled = 0

    def finish(
        written: Future[BatchResult], records: list, offsets: dict[tuple[str, int], int]
    ) -> None:
        batch = written.result()  # re-raises what the writer hit, before anything else moves
        _log_rejected(records, batch.rejected)
        result.add(batch)
        result.offsets.update({p: o for (_, p), o in offsets.items()})
        _commit_for_monitoring(consumer, offsets, wait=False)
        progress.advance(len(records), lambda: {"trades_added": result.trades_added})

    try:
        with (
            pipelined_throughput(),
            open_store(store_path) as connection,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer") as writer,
        ):
            partitions = assign_at_offsets(consumer, topic, stored_offsets(connection, topic))
            in_flight: tuple[Future[BatchResult], list, dict[tuple[str, int], int]] | None = None
            # Two stages: batch N is written (DuckDB releases the GIL) while batch N+1 is polled.
            while max_messages is None or polled < max_messages:
                records, offsets = _poll_batch(consumer, partitions, batch_size, idle_ms)
                if in_flight is not None:
                    finish(*in_flight)
                    in_flight = None
                if not records:
                    break
                polled += len(records)
                payloads = [record.value for record in records]
                written = writer.submit(write, connection, payloads, offsets)
                in_flight = (written, records, offsets)
            if in_flight is not None:
                finish(*in_flight)
            if result.offsets:  # the last position, surely in Kafka before the drain ends
                _commit_for_monitoring(
                    consumer, {(topic, p): o for p, o in result.offsets.items()}, wait=True
                )
            if not partitions:
                log.warning("topic has no partitions yet", topic=topic)
    finally:
        consumer.close()
    log.info("drain caught up", **{k: v for k, v in vars(result).items() if k != "offsets"})
    return result


def _poll_batch(
    consumer: KafkaConsumer, partitions: list[TopicPartition], batch_size: int, idle_ms: int
) -> tuple[list, dict[tuple[str, int], int]]:
    """Up to `batch_size` records and, per (topic, partition), the offset after the last one;
    fewer once caught up or when nothing comes for `idle_ms`."""
    records: list = []
    offsets: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + idle_ms / 1000
    # a fetch past a partition's end may only be answered (empty) after the fetch wait
    first_answer_by = time.monotonic() + FIRST_FETCH_SECONDS
    while (
        len(records) < batch_size
        and not caught_up(consumer, partitions)
        and time.monotonic() < deadline
    ):
        polled = consumer.poll(timeout_ms=100, max_records=batch_size - len(records))
        rewound = rewind_restarted(consumer, partitions)
        for partition, batch in polled.items():
            if not batch:
                continue
            records.extend(batch)
            offsets[(partition.topic, partition.partition)] = batch[-1].offset + 1
        unanswered = any(consumer.highwater(p) is None for p in partitions)
        if polled or rewound or (unanswered and time.monotonic() < first_answer_by):
            deadline = time.monotonic() + idle_ms / 1000
    return records, offsets


def _log_rejected(records: list, rejected: list[tuple[int, str]]) -> None:
    for index, reason in rejected:  # ingest validates, so this is a foreign producer
        record = records[index]
        log.error(
            "invalid message in trades topic skipped",
            partition=record.partition,
            offset=record.offset,
            reason=reason,
        )


def _commit_for_monitoring(
    consumer: KafkaConsumer, offsets: dict[tuple[str, int], int], wait: bool
) -> None:
    """Offsets to the Kafka group, for lag dashboards and the sensor; DuckDB holds the truth.

    Between batches the commit is asynchronous: its round trip stays off the polling path.
    """
    commits = {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
    try:
        if wait:
            consumer.commit(commits)
        else:
            consumer.commit_async(commits, callback=_log_commit_failure)
    except KafkaError as error:
        _log_commit_failure(commits, error)


def _log_commit_failure(offsets: dict, response: object) -> None:
    """The commit's outcome, from `commit` or `commit_async`'s callback: logged if it failed."""
    if isinstance(response, Exception):
        log.debug("kafka offset commit failed", error=type(response).__name__)
