"""A synthetic market's trades, published to Kafka: at once, or in real time."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics
from btc_platform.candles import candles_from_trades
from btc_platform.ingest.synthetic import MarketModel, market_trades
from btc_platform.serving.runtime import HISTORY
from btc_platform.serving.trade_follower import decode
from btc_platform.trades import Trade


def market(
    start: datetime,
    end: datetime,
    seed: int = 3,
    pair: str = "BTC/USD",
    model: MarketModel | None = None,
) -> list[Trade]:
    """The seeded market's trades of `pair` with start <= ts < end."""
    trades = market_trades(pair, seed, start, model)
    return list(itertools.takewhile(lambda t: t.ts < end, trades))


def publish_trades(bootstrap: str, topics: Topics, spool: Path, trades: list[Trade]) -> None:
    publisher = TradePublisher(bootstrap, spool, topics)
    for trade in trades:
        publisher.publish(trade)
    assert publisher.close() == 0


PAIR = "BTC/USD"


class LiveMarket:
    """The seeded market in real time: its past at once, then each trade when its time
    comes, through the ingest publisher. `sent` is every trade published (re-sends too)."""

    def __init__(self, bootstrap: str, spool: Path) -> None:
        start = datetime.now(UTC) - timedelta(minutes=HISTORY + 60)
        self.trades = market_trades(PAIR, 3, start)
        self.sent: list[Trade] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        past = TradePublisher(bootstrap, spool)
        self._next = next(self.trades)
        while self._next.ts <= datetime.now(UTC):
            past.publish(self._next)
            self.sent.append(self._next)
            self._next = next(self.trades)
        assert past.close() == 0
        self.publisher = TradePublisher(bootstrap, spool)

    def publish(self, trade: Trade) -> None:
        with self.lock:
            self.publisher.publish(trade)
            self.sent.append(trade)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(max(0.0, (self._next.ts - datetime.now(UTC)).total_seconds())):
            self.publish(self._next)
            self._next = next(self.trades)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.publisher.close()

    def candles(self) -> pd.DataFrame:
        """The candles of every distinct trade sent so far, by window start."""
        with self.lock:
            frame, _ = decode([t.to_json() for t in self.sent], duckdb.connect())
        return candles_from_trades(frame.drop_duplicates("trade_id"), 60).set_index("window_start")
