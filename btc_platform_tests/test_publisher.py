"""The publisher keeps every record it accepted, even across a shutdown with no broker."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from btc_platform.broker.publisher import TradePublisher
from btc_platform.ingest.synthetic import market_trades
from btc_platform.trades import Rejected
from btc_platform_tests.conftest import free_port
from btc_platform_tests.ingest_helpers import topic_trades
from btc_platform_tests.kafka_helpers import read_topic


def test_shutdown_without_a_broker_spools_and_the_next_start_delivers(broker, topics, tmp_path):
    spool = tmp_path / "spool.jsonl"
    trades = list(
        itertools.islice(market_trades("BTC/USD", 1, datetime(2026, 1, 1, tzinfo=UTC)), 250)
    )
    nowhere = TradePublisher(f"127.0.0.1:{free_port()}", spool, topics, retry_interval=0.05)
    for trade in trades:
        nowhere.publish(trade)
    nowhere.dead_letter(Rejected(b"\x00garbage", "test: not a trade", "test"))
    assert not nowhere.available
    assert nowhere.close(timeout=1.0) == 251
    assert len(spool.read_bytes().splitlines()) == 251

    later = TradePublisher(broker.bootstrap, spool, topics)
    assert later.close() == 0
    assert not spool.exists()
    assert topic_trades(broker.bootstrap, topics.trades, expect=250) == trades
    [dead] = read_topic(broker.bootstrap, topics.dlq, expect=1)
    assert dead.value == b"\x00garbage"
    assert dict(dead.headers) == {"reason": b"test: not a trade", "source": b"test"}
