"""The resilient producer: keyed, acks=all, and it never drops a record it accepted.

Every record handed to kafka-python stays in an in-flight queue until its future says the
broker acknowledged it; a sweep (every few hundred sends, and at shutdown) moves failed
ones to a backlog. While the broker is down, new records go to the backlog too, and a
recovery thread re-sends it once the broker answers again. What is still undelivered at
shutdown goes to a spool file on disk, re-sent by the next publisher. Re-sending can
duplicate a record but never loses one: consumers are idempotent on (pair, trade_id).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.partitioner import murmur2
from kafka.producer.future import FutureRecordMetadata

from btc_platform.broker.spool import Record, Spool
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.logs import get_logger
from btc_platform.trades import Rejected, Trade

log = get_logger(__name__)

SWEEP_EVERY_SENDS = 512
SWEEP_EVERY_SECONDS = 0.5


@dataclass
class PublishStats:
    trades: int = 0
    dead_letters: int = 0
    resent: int = 0
    outages: int = 0
    spooled: int = 0


class TradePublisher:
    """Publishes trades to `trades` (key = pair) and rejected input to `trades.dlq`."""

    def __init__(
        self,
        bootstrap: str,
        spool_path: Path,
        topics: Topics | None = None,
        *,
        partitions: int = 1,
        delivery_timeout_ms: int = 5_000,
        retry_interval: float = 1.0,
        max_backlog: int = 2_000_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics or Topics()
        self.partitions = partitions
        self.delivery_timeout_ms = delivery_timeout_ms
        self.retry_interval = retry_interval
        self.max_backlog = max_backlog
        self.stats = PublishStats()
        self._spool = Spool(spool_path)
        self._backlog: deque[Record] = deque()
        self._in_flight: deque[tuple[FutureRecordMetadata, Record]] = deque()
        self._partitions: dict[tuple[str, bytes | None], int] = {}
        self._producer: KafkaProducer | None = None
        self._down = False
        self._closing = False
        self._recovery: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sweep_lock = threading.Lock()
        self._sends_since_sweep = 0
        self._last_sweep = time.monotonic()
        try:
            self._connect()
        except KafkaError as error:
            self._mark_down(error)
        self._backlog.extend(self._spool.take())
        if self._backlog:
            log.info("replaying spooled records", records=len(self._backlog))
            self._ensure_recovery()

    @property
    def buffered(self) -> int:
        return len(self._backlog)

    @property
    def available(self) -> bool:
        return not self._down

    def publish(self, trade: Trade) -> None:
        self.stats.trades += 1
        self._send(Record(self.topics.trades, trade.key, trade.to_json()))

    def dead_letter(self, rejected: Rejected) -> None:
        self.stats.dead_letters += 1
        headers = (("reason", rejected.reason.encode()), ("source", rejected.source.encode()))
        self._send(Record(self.topics.dlq, rejected.source.encode(), rejected.raw, headers))

    def close(self, timeout: float = 10.0) -> int:
        """Deliver what is in flight; spool to disk what the broker did not take in time.

        Returns how many records were spooled (0 when everything was delivered).
        """
        deadline = time.monotonic() + timeout
        if self._producer is not None and not self._down:
            self._producer.flush(timeout=max(0.1, deadline - time.monotonic()))
            self._sweep()
        while self._backlog and not self._down and time.monotonic() < deadline:
            time.sleep(0.05)
        self._closing = True
        if self._recovery is not None:
            self._recovery.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._producer is not None:  # closing fails what is still in flight
            self._producer.close(timeout=max(0.1, deadline - time.monotonic()))
        self._sweep()
        leftover = [*self._backlog, *(record for _, record in self._in_flight)]
        self._backlog.clear()
        self._in_flight.clear()
        if leftover:
            self.stats.spooled += self._spool.append(leftover)
            log.warning(
                "kafka did not take every record before shutdown; spooled to disk",
                records=len(leftover),
                spool=str(self._spool.path),
            )
        return len(leftover)

    def _connect(self) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="btc-platform-ingest",
            acks="all",
            # Idempotence state does not survive a broker restart, and records re-sent from
            # the backlog may duplicate anyway: consumers dedupe on (pair, trade_id).
            enable_idempotence=False,
            linger_ms=5,
            batch_size=256 * 1024,
            max_block_ms=2_000,
            request_timeout_ms=min(10_000, self.delivery_timeout_ms // 2),
            delivery_timeout_ms=self.delivery_timeout_ms,
            reconnect_backoff_max_ms=2_000,
            bootstrap_timeout_ms=2_000,
        )

    def _send(self, record: Record) -> None:
        if self._down or self._backlog:
            self._buffer(record)
            return
        try:
            self._hand_over(record)
        except KafkaError as error:
            self._buffer(record)
            self._mark_down(error)
            return
        self._sends_since_sweep += 1
        if (
            self._sends_since_sweep >= SWEEP_EVERY_SENDS
            or time.monotonic() - self._last_sweep > SWEEP_EVERY_SECONDS
        ):
            self._sweep()

    def _hand_over(self, record: Record) -> None:
        """Give one record to kafka-python; it stays in flight until acknowledged."""
        route = (record.topic, record.key)
        partition = self._partitions.get(route)
        if partition is None:
            partition = self._partitions[route] = self._partition_for(*route)
        future = self._producer.send(  # type: ignore[union-attr]
            record.topic,
            value=record.value,
            key=record.key,
            headers=list(record.headers) if record.headers else None,
            partition=partition,
        )
        self._in_flight.append((future, record))

    def _partition_for(self, topic: str, key: bytes | None) -> int:
        """The partition Kafka's default partitioner picks for `key` (murmur2), computed once
        per key: hashing every record's key costs more than the rest of our publish path."""
        partitions = sorted(self._producer.partitions_for(topic))  # type: ignore[union-attr]
        return partitions[(murmur2(key or b"") & 0x7FFFFFFF) % len(partitions)]

    def _sweep(self) -> None:
        """Retire acknowledged records; failed ones go to the backlog for a re-send."""
        with self._sweep_lock:
            self._sends_since_sweep = 0
            self._last_sweep = time.monotonic()
            failure: BaseException | None = None
            in_flight = self._in_flight
            while in_flight and in_flight[0][0].is_done:
                future, record = in_flight.popleft()
                if future.exception is not None:
                    failure = future.exception
                    self._backlog.append(record)
        if failure is not None:
            self._mark_down(failure)

    def _buffer(self, record: Record) -> None:
        self._backlog.append(record)
        if len(self._backlog) > self.max_backlog:
            overflow = [self._backlog.popleft() for _ in range(len(self._backlog) // 2)]
            self._spool.append(overflow)
            log.warning("backlog full; spooled to disk", records=len(overflow))

    def _mark_down(self, error: BaseException) -> None:
        with self._lock:
            if not self._down:
                self._down = True
                self.stats.outages += 1
                log.warning(
                    "kafka unavailable; buffering records and retrying",
                    bootstrap=self.bootstrap,
                    error=type(error).__name__,
                )
        self._ensure_recovery()

    def _ensure_recovery(self) -> None:
        with self._lock:
            if self._recovery is None or not self._recovery.is_alive():
                self._recovery = threading.Thread(
                    target=self._recover, name="kafka-recovery", daemon=True
                )
                self._recovery.start()

    def _recover(self) -> None:
        last_report = time.monotonic()
        while not self._closing and (self._down or self._backlog):
            self._partitions.clear()  # the topics may have been re-created with other counts
            try:
                if self._producer is None:
                    self._connect()
                ensure_topics(self.bootstrap, self.topics.all(), self.partitions)
                self._resend_backlog()
            except (KafkaError, OSError) as error:
                if time.monotonic() - last_report > 10:
                    last_report = time.monotonic()
                    log.warning(
                        "kafka still unavailable",
                        buffered=len(self._backlog),
                        error=type(error).__name__,
                    )
                time.sleep(self.retry_interval)

    def _resend_backlog(self) -> None:
        producer = self._producer
        assert producer is not None
        was_down = self._down
        self._down = False
        resent = 0
        while self._backlog and not self._down:
            record = self._backlog.popleft()
            try:
                self._hand_over(record)
            except KafkaError:
                self._backlog.appendleft(record)
                self._down = True
                raise
            resent += 1
        producer.flush(timeout=self.delivery_timeout_ms / 1000)
        self._sweep()  # records that failed again are back in the backlog, and _down is set
        self.stats.resent += resent
        if was_down and not self._down:
            log.info("kafka available again; re-sent buffered records", records=resent)
