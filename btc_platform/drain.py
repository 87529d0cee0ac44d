"""Drain the `trades` topic into the offline store, with an exactly-once effect.

The consumer seeks to the offsets stored in the store (never to a consumer-group position):
each batch's trades, candles and next offsets are written in one store transaction. The
offsets are then committed to the Kafka group too, only so that lag shows up in Kafka
tooling. A crash anywhere resumes from the store's offsets. On the DuckDB file one drain
reads every partition; on a DuckLake several drains share them through the consumer group
(see `drain_positions`), and a drain that is not following ends with a sweep of every
partition, so that a share the group gave nobody (a member it still counts, a join it never
answered) is drained too.

Caught up means: every partition read up to the high watermark that a fetch at its position
reported. Never a ListOffsets end (the embedded broker answers "latest" with the start of the
last record batch), and never a quiet spell: a broker that answers no fetch while records are
known to be ahead (or none at all) is an error (DrainStalled), not "caught up".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata

from btc_platform.broker.drain_positions import DrainPositions
from btc_platform.broker.positions import caught_up, rewind_restarted
from btc_platform.ingest.progress import Progress
from btc_platform.logs import get_logger
from btc_platform.runtime import pipelined_throughput
from btc_platform.store.offline_store import (
    BatchResult,
    Consumed,
    StaleBatch,
    stored_offsets,
    write_batch,
)
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation, as_location

log = get_logger(__name__)

GROUP_ID = "btc-platform-drain"
STALL_SECONDS = 60.0  # no record and no answer for this long, while behind: DrainStalled
JOIN_SECONDS = 60.0  # how long a lake drain waits for the group to give it partitions
GROUP_POLL_INTERVAL_MS = 20_000  # also how long a rebalance waits for members to rejoin
GROUP_SESSION_MS = 6_000  # Kafka's smallest allowed: a killed drain's partitions move soon
FOLLOW_WAIT_MS = 1_000  # how long a following drain, caught up, waits in a poll for more


def drain_positions(
    consumer: KafkaConsumer, topic: str, within: float = 10.0
) -> dict[int, tuple[int, int]]:
    """Per partition of `topic`, (the drain group's committed offset, the end offset).

    `consumer` has group_id GROUP_ID and never commits itself. The end is the high watermark
    of a fetch at the committed offset (one fetch round, its records dropped), not ListOffsets:
    the embedded broker's ListOffsets under-reports it. KafkaTimeoutError when no fetch is
    answered `within` seconds."""
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    committed = {tp: consumer.committed(tp) or 0 for tp in partitions}
    consumer.assign(partitions)
    for partition, offset in committed.items():
        consumer.seek(partition, offset)
    deadline = time.monotonic() + within
    while any(consumer.highwater(p) is None for p in partitions):
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"no fetch of {topic} answered within {within:.0f} s")
        consumer.poll(timeout_ms=100, max_records=1, update_offsets=False)
    return {tp.partition: (committed[tp], consumer.highwater(tp)) for tp in partitions}


BatchWriter = Callable[[duckdb.DuckDBPyConnection, list[bytes], Consumed], BatchResult]


@dataclass
class DrainResult:
    messages: int = 0
    trades_added: int = 0
    candles_written: int = 0
    invalid: int = 0
    batches: int = 0
    offsets: dict[int, int] = field(default_factory=dict)
    stale: int = 0  # batches refused because another drain had written those partitions

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.messages += batch.trades_in_batch + len(batch.rejected)
        self.trades_added += batch.trades_added
        self.candles_written += batch.candles_written
        self.invalid += len(batch.rejected)


def drain(
    bootstrap: str,
    store: StoreLocation | Path,
    topic: str,
    interval_seconds: int,
    *,
    batch_size: int = 50_000,
    max_messages: int | None = None,
    write: BatchWriter | None = None,
    share: bool | None = None,
    group_id: str = GROUP_ID,
    until: threading.Event | None = None,
) -> DrainResult:
    """Drain until caught up (see the module's docstring), or `max_messages`; with `until`,
    go on draining what arrives (one consumer, one group membership) until it is set.

    `write` stores one batch and its
    offsets in one transaction; by default the trades writer (trades + candles at
    `interval_seconds`). `share`: take a share of the partitions through the consumer group
    (the default on a DuckLake), then, unless following, sweep all of them; or all of them
    at once (the file's one drain; on a lake as safe beside the workers, only not sharing
    their work). `group_id`: the
    consumer group (its committed offsets are what the drain sensor watches).
    """
    write = write or partial(write_batch, interval_seconds=interval_seconds)
    location = as_location(store)
    result = DrainResult()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        client_id="btc-platform-drain",
        max_poll_records=batch_size,
        auto_offset_reset="earliest",  # a truncated or recreated topic: see rewind_restarted
        max_poll_interval_ms=GROUP_POLL_INTERVAL_MS,
        session_timeout_ms=GROUP_SESSION_MS,
        heartbeat_interval_ms=GROUP_SESSION_MS // 6,
        request_timeout_ms=GROUP_POLL_INTERVAL_MS + 10_000,  # a join the broker never answers
    )
    positions = DrainPositions(consumer, topic)
    progress = Progress("draining", unit="messages")
    polled = 0

    def finish(written: Future[BatchResult], records: list, consumed: Consumed) -> bool:
        """The batch's outcome; False when it was stale (every partition is sought again)."""
        try:
            batch = written.result()  # re-raises what the writer hit, before anything moves
        except StaleBatch as stale:
            log.info("batch overtaken by another drain; re-reading its partitions", error=stale)
            result.stale += 1
            positions.restart()
            return False
        _log_rejected(records, batch.rejected)
        result.add(batch)
        result.offsets.update({p: o for (_, p), o in consumed.next.items()})
        _commit_for_monitoring(consumer, consumed.next, wait=False)
        progress.advance(len(records), lambda: {"trades_added": result.trades_added})
        return True

    try:
        with (
            pipelined_throughput(),
            open_store(location) as connection,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-writer") as writer,
        ):
            group = location.is_lake if share is None else share
            _take_partitions(consumer, topic, positions, group)
            in_flight: tuple[Future[BatchResult], list, Consumed] | None = None
            # Two stages: batch N is written (DuckDB releases the GIL) while batch N+1 is polled.
            while (max_messages is None or polled < max_messages) and not (
                until is not None and until.is_set()
            ):
                if in_flight is None:
                    positions.settle(connection)  # seeks only while no write is in flight
                wait_ms = FOLLOW_WAIT_MS if until is not None else 0
                records, offsets = _poll_batch(consumer, positions, batch_size, wait_ms)
                if in_flight is not None:
                    if not finish(*in_flight):
                        records = []  # polled from where the stale batch ended
                    in_flight = None
                if positions.pending:  # a rebalance or a stale batch: the polled records are
                    positions.restart()  # dropped, so every partition is sought again
                    continue
                if not records and until is not None:
                    continue  # following: caught up, or waiting (polling) for a share
                if not records and group and until is None:
                    group = False  # its share is drained: now a sweep of every partition
                    consumer.unsubscribe()
                    _take_partitions(consumer, topic, positions, group)
                    continue
                if not records:
                    break
                polled += len(records)
                payloads = [record.value for record in records]
                consumed = positions.consumed(offsets)
                in_flight = (
                    writer.submit(write, connection, payloads, consumed),
                    records,
                    consumed,
                )
            if in_flight is not None:
                finish(*in_flight)
            # the store's offsets (every drain's, not only this one's batches), surely in Kafka
            # before the drain ends: the lag the sensor and `up` show converges to the truth
            if stored := stored_offsets(connection, topic):
                _commit_for_monitoring(
                    consumer, {(topic, p): o for p, o in stored.items()}, wait=True
                )
            if not consumer.assignment():
                log.warning("topic has no partitions yet", topic=topic)
    finally:
        consumer.close()
    log.info("drain caught up", **{k: v for k, v in vars(result).items() if k != "offsets"})
    return result


def _take_partitions(
    consumer: KafkaConsumer, topic: str, positions: DrainPositions, group: bool
) -> None:
    """Every partition of `topic` (the file's one drain), or the group's share (a lake's)."""
    if not group:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        positions.take(partitions)
        return
    consumer.subscribe([topic], listener=positions)
    if not _await_assignment(consumer):
        log.info("no partition assigned by the group yet", topic=topic)


def _await_assignment(consumer: KafkaConsumer) -> bool:
    """Poll until the group assigns this drain partitions (they stay paused until sought),
    for up to JOIN_SECONDS; whether it has some."""
    deadline = time.monotonic() + JOIN_SECONDS
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=200)
    return bool(consumer.assignment())


class DrainStalled(KafkaError):
    """Records are known to be ahead, but no fetch brought any for STALL_SECONDS."""


def _poll_batch(
    consumer: KafkaConsumer,
    positions: DrainPositions,
    batch_size: int,
    wait_ms: int = 0,
) -> tuple[list, dict[tuple[str, int], int]]:
    """Up to `batch_size` records and, per (topic, partition), the offset after the last one;
    fewer only once caught up: every active partition at the high watermark that a fetch at
    its position reported. Following (`wait_ms`), it waits that long for a first record. A
    rebalance during a poll ends it at once (the caller drops the records and seeks again).
    """
    partitions = positions.active()
    records: list = []
    offsets: dict[tuple[str, int], int] = {}
    waiting_until = time.monotonic() + wait_ms / 1000
    heard = time.monotonic()  # the newest record or rewind
    while len(records) < batch_size:
        if caught_up(consumer, partitions) and (records or time.monotonic() >= waiting_until):
            break
        polled = consumer.poll(timeout_ms=100, max_records=batch_size - len(records))
        if positions.pending:
            break  # a rebalance within the poll paused the partitions: the caller seeks again
        rewound = rewind_restarted(consumer, partitions)
        for partition, batch in polled.items():
            if not batch:
                continue
            records.extend(batch)
            offsets[(partition.topic, partition.partition)] = batch[-1].offset + 1
        if polled or rewound:
            heard = time.monotonic()
        elif time.monotonic() - heard > STALL_SECONDS and not caught_up(consumer, partitions):
            behind = {
                p.partition: (consumer.position(p), consumer.highwater(p)) for p in partitions
            }
            raise DrainStalled(
                f"no record fetched for {STALL_SECONDS:.0f} s while behind: (position, high "
                f"watermark) by partition {behind}"
            )
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
