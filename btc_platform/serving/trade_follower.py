"""Follows the `trades` topic from given offsets and hands the trades on, decoded.

At the head of the topic every poll is handed on as it comes (one candle at a time). Behind
it (a warm start, a backlog, a restart), polls are gathered until the consumer has caught up
with the high watermark its fetches report (or the backlog is large), then handed on in one
batch: the candles and features of a whole backlog are then built in one pass by the same
code, instead of once per poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from btc_platform.broker.positions import assign_at_offsets, caught_up, rewind_restarted
from btc_platform.logs import get_logger
from btc_platform.serving.live_candles import TRADE_COLUMNS
from btc_platform.store.trade_decoding import BATCH_TABLE, decode_batch

log = get_logger(__name__)
POLL_MS = 200
RETRY_SECONDS = 2.0
MAX_POLL_RECORDS = 20_000
MAX_BACKLOG = 2_000_000  # trades gathered before handing on even when still behind


def decode(values: list[bytes], connection: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, int]:
    """The valid trades (TRADE_COLUMNS, ts naive UTC) and how many values were invalid,
    decoded in bulk as the drain decodes (on `connection`, an in-memory DuckDB)."""
    rejected = decode_batch(connection, values)
    frame = connection.execute(
        f"SELECT {', '.join(TRADE_COLUMNS)} FROM {BATCH_TABLE} ORDER BY ts, trade_id"
    ).df()
    frame["ts"] = frame["ts"].astype("datetime64[us]")
    return frame, len(rejected)


@dataclass
class FollowerLag:
    """How far behind the topic's end the follower is, as of its latest poll."""

    messages: int | None = None  # None: no fetch has reported the end yet
    newest_record_ms: int | None = None  # Kafka timestamp of the newest record read

    def seconds(self, now_ms: int) -> float:
        """0 at the end of the topic; behind it, the age of the newest record read."""
        if not self.messages or self.newest_record_ms is None:
            return 0.0
        return max(now_ms - self.newest_record_ms, 0) / 1000

    def update(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        ends = {p: consumer.highwater(p) for p in partitions}
        if partitions and None not in ends.values():
            self.messages = sum(max(end - consumer.position(p), 0) for p, end in ends.items())


class TradeFollower:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        on_trades: Callable[[pd.DataFrame], None],
        on_idle: Callable[[], None] = lambda: None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.on_trades = on_trades
        self.on_idle = on_idle  # called after every poll that handed nothing on
        self.invalid = 0
        self.stopped = threading.Event()
        self.lag = FollowerLag()

    def _hand_on(self, trades: pd.DataFrame) -> None:
        try:
            self.on_trades(trades)
        except Exception:  # one bad batch must not stop the live state for good
            log.exception("live update failed; following on", trades=len(trades))

    def _idle(self) -> None:
        try:
            self.on_idle()
        except Exception:
            log.exception("live idle work failed; following on")

    def follow(self, offsets: dict[int, int]) -> None:
        """Consume from `offsets` until stopped; reconnects when Kafka goes away."""
        while not self.stopped.is_set():
            try:
                self._follow(offsets)
            except KafkaError as error:
                log.warning("kafka unavailable; retrying", error=str(error))
                self.stopped.wait(RETRY_SECONDS)

    def _follow(self, offsets: dict[int, int]) -> None:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            max_poll_records=MAX_POLL_RECORDS,
            max_partition_fetch_bytes=8 << 20,
            auto_offset_reset="earliest",  # a truncated or recreated topic: see rewind_restarted
        )
        decoder = duckdb.connect()
        try:
            partitions = assign_at_offsets(consumer, self.topic, offsets)
            while not partitions and not self.stopped.wait(RETRY_SECONDS):
                partitions = assign_at_offsets(consumer, self.topic, offsets)
            backlog: list[pd.DataFrame] = []
            reached: dict[int, int] = {}
            while not self.stopped.is_set():
                polled = consumer.poll(timeout_ms=POLL_MS)
                records = [r for batch in polled.values() for r in batch]
                if records:
                    trades, invalid = decode([r.value for r in records], decoder)
                    self.invalid += invalid
                    backlog.append(trades)
                    for record in records:
                        reached[record.partition] = record.offset + 1
                    self.lag.newest_record_ms = max(r.timestamp for r in records)
                rewind_restarted(consumer, partitions)
                self.lag.update(consumer, partitions)
                gathered = sum(len(part) for part in backlog)
                if backlog and (caught_up(consumer, partitions) or gathered >= MAX_BACKLOG):
                    trades = pd.concat(backlog, ignore_index=True)
                    if not trades.empty:
                        self._hand_on(trades)
                    offsets.update(reached)  # resume after these on a reconnect
                    backlog, reached = [], {}
                elif not backlog:
                    self._idle()
        finally:
            consumer.close()
            decoder.close()
