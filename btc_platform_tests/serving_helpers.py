"""A synthetic market's trades, published to Kafka."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics
from btc_platform.ingest.synthetic import MarketModel, market_trades
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
