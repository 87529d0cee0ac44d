"""A synthetic market published to Kafka, and waiting for a live runtime to catch up."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics
from btc_platform.ingest.synthetic import market_trades
from btc_platform.trades import Trade


def market(start: datetime, end: datetime, seed: int = 3) -> list[Trade]:
    """The seeded market's BTC/USD trades with start <= ts < end."""
    return list(itertools.takewhile(lambda t: t.ts < end, market_trades("BTC/USD", seed, start)))


def publish_trades(bootstrap: str, topics: Topics, spool: Path, trades: list[Trade]) -> None:
    publisher = TradePublisher(bootstrap, spool, topics)
    for trade in trades:
        publisher.publish(trade)
    assert publisher.close() == 0


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
