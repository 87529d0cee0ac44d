"""Follows the `trades` topic from given offsets and hands each polled batch on, decoded."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from btc_platform.drain import assign_at_offsets
from btc_platform.logs import get_logger
from btc_platform.serving.live_candles import TRADE_COLUMNS
from btc_platform.trades import InvalidTrade, trade_from_json

log = get_logger(__name__)
POLL_MS = 200
RETRY_SECONDS = 2.0


def decode(values: list[bytes]) -> tuple[pd.DataFrame, int]:
    """The valid trades (TRADE_COLUMNS, ts naive UTC) and how many values were invalid."""
    rows, invalid = [], 0
    for value in values:
        try:
            trade = trade_from_json(value)
        except InvalidTrade:
            invalid += 1
            continue
        rows.append(
            (trade.pair, trade.trade_id, trade.ts.replace(tzinfo=None), trade.price, trade.qty)
        )
    frame = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    frame["ts"] = frame["ts"].astype("datetime64[us]")
    return frame, invalid


class TradeFollower:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        on_trades: Callable[[pd.DataFrame], None],
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.on_trades = on_trades
        self.invalid = 0
        self.stopped = threading.Event()

    def _hand_on(self, trades: pd.DataFrame) -> None:
        try:
            self.on_trades(trades)
        except Exception:  # one bad batch must not stop the live state for good
            log.exception("live update failed; following on", trades=len(trades))

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
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None
        )
        try:
            partitions = assign_at_offsets(consumer, self.topic, offsets)
            while not partitions and not self.stopped.wait(RETRY_SECONDS):
                partitions = assign_at_offsets(consumer, self.topic, offsets)
            while not self.stopped.is_set():
                polled = consumer.poll(timeout_ms=POLL_MS)
                records = [r for batch in polled.values() for r in batch]
                if not records:
                    continue
                trades, invalid = decode([r.value for r in records])
                self.invalid += invalid
                if not trades.empty:
                    self._hand_on(trades)
                for record in records:  # resume here after a reconnect
                    offsets[record.partition] = record.offset + 1
        finally:
            consumer.close()
