"""The live Kraken WebSocket v2 client against the fake exchange and a real broker."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.topics import Topics
from btc_platform.ingest.backoff import Backoff
from btc_platform.ingest.kraken_rest import KrakenRest
from btc_platform.ingest.kraken_ws import KrakenTradeStream, SubscriptionError
from btc_platform_tests.fake_kraken.ledger import make_ledger
from btc_platform_tests.fake_kraken.server import FakeKraken, Script
from btc_platform_tests.ingest_helpers import publish, topic_trades, until_last_ids
from btc_platform_tests.kafka_helpers import read_topic

START = datetime(2026, 11, 1, tzinfo=UTC)


def fast_stream(fake: FakeKraken, pairs: list[str]) -> KrakenTradeStream:
    rest = KrakenRest(fake.rest_url, backoff=Backoff(base=0.01, cap=0.05))
    return KrakenTradeStream(
        fake.ws_url, pairs, rest, backoff=Backoff(base=0.01, cap=0.05), ping_interval=0.2
    )


def run_until_ledger_end(
    fake: FakeKraken,
    stream: KrakenTradeStream,
    broker: EmbeddedBroker,
    topics: Topics,
    tmp_path: Path,
) -> None:
    last_ids = {pair: ledger[-1].trade_id for pair, ledger in fake.ledgers.items()}
    publish(
        until_last_ids(stream.trades(), last_ids),
        broker.bootstrap,
        topics,
        tmp_path / "spool.jsonl",
    )


def test_disconnects_and_skipped_ids_leave_no_gap(broker, topics, tmp_path) -> None:
    ledgers = {
        "BTC/USD": make_ledger(1500, START, first_id=40_000, seed=1),
        "ETH/USD": make_ledger(900, START, first_id=7_000, seed=2, price=3_000.0),
    }
    script = Script(
        batch=4,
        # 1st connection drops after 300 trades and misses 180 (more than the 50-trade
        # snapshot: REST must fill); the 2nd misses 20 (the snapshot repeats some).
        drops=[(300, 180), (400, 20)],
        skip_ids={40_500, 40_501, 40_777, 7_300},  # the stream silently skips these
        rate_limit_every=3,
    )
    with FakeKraken(ledgers, script) as fake:
        stream = fast_stream(fake, ["BTC/USD", "ETH/USD"])
        run_until_ledger_end(fake, stream, broker, topics, tmp_path)

        assert fake.connections == 3
        assert fake.rest_refused > 0, "the REST gap fill met rate limits and retried"
        assert fake.pings > 0

    trades = topic_trades(broker.bootstrap, topics.trades, expect=2400)
    for pair, ledger in ledgers.items():
        got = [t for t in trades if t.pair == pair]
        ids = Counter(t.trade_id for t in got)
        assert sorted(ids) == [t.trade_id for t in ledger], f"{pair}: ids differ from the ledger"
        assert max(ids.values()) == 1, f"{pair}: duplicated ids {ids.most_common(3)}"
        prices = {t.trade_id: t.price for t in got}
        assert prices == {t.trade_id: t.price for t in ledger}
    stats = stream.gaps.stats
    assert stats.gaps >= 3  # the first outage (both pairs) and the skipped ids
    assert stats.unfillable == 0
    assert stats.repeats > 0  # the second reconnect's snapshot overlapped what we had
    sources = Counter(t.source for t in trades)
    assert sources["kraken-rest"] == stats.filled >= 2 * (180 - 50)  # snapshot covers 50


GOOD = {
    "symbol": "BTC/USD",
    "side": "buy",
    "price": 60000.5,
    "qty": 0.5,
    "ord_type": "limit",
    "trade_id": 10**9,
    "timestamp": "2026-11-01T00:00:00.000001Z",
}


def trade_message(**changes: object) -> bytes:
    entry = {**GOOD, **changes}
    for key in [k for k, v in changes.items() if v is ...]:
        entry.pop(key)
    return orjson.dumps({"channel": "trade", "type": "update", "data": [entry]})


MALFORMED = {
    b"this is not json": "not JSON",
    b"[1, 2, 3]": "expected a JSON object",
    b'{"channel": "book", "type": "update", "data": []}': "unexpected message",
    b'{"channel": "trade", "type": "update", "data": {"a": 1}}': "without a data list",
    b'{"channel": "trade", "type": "update", "data": [5]}': "data[0]: expected a JSON object",
    trade_message(price=-5): "price: -5 must be a finite number > 0",
    trade_message(price="abc"): "price: 'abc' is not a number",
    trade_message(qty=0): "qty: 0 must be a finite number > 0",
    trade_message(side="up"): "side: 'up' is not one of buy, sell",
    trade_message(symbol="DOGE/USD"): "pair: 'DOGE/USD' is not an expected pair",
    trade_message(timestamp="yesterday"): "is not an ISO-8601 timestamp",
    trade_message(timestamp="2099-01-01T00:00:00Z"): "is in the future",
    trade_message(trade_id="x1"): "trade_id: 'x1' is not an integer",
    trade_message(price=...): "missing field(s): price",
}


def test_malformed_messages_go_to_the_dlq_and_good_trades_flow(broker, topics, tmp_path) -> None:
    ledger = make_ledger(600, START, first_id=1, seed=3)
    injections = list(MALFORMED)
    script = Script(batch=5, inject={40 * (i + 1): [raw] for i, raw in enumerate(injections)})
    with FakeKraken({"BTC/USD": ledger}, script) as fake:
        stream = fast_stream(fake, ["BTC/USD"])
        run_until_ledger_end(fake, stream, broker, topics, tmp_path)

    dead = read_topic(broker.bootstrap, topics.dlq, expect=len(MALFORMED))
    assert len(dead) == len(MALFORMED)
    for record in dead:
        headers = dict(record.headers)
        assert record.value in MALFORMED, record.value
        assert MALFORMED[record.value] in headers["reason"].decode()
        assert headers["source"] == b"kraken-ws"
    trades = topic_trades(broker.bootstrap, topics.trades, expect=600)
    assert sorted(t.trade_id for t in trades) == list(range(1, 601))
    assert stream.gaps.stats.gaps == 0  # bad input never disturbed the id sequence


def test_a_refused_pair_is_reported_and_the_others_stream(broker, topics, tmp_path) -> None:
    ledger = make_ledger(200, START, seed=4)
    with FakeKraken({"BTC/USD": ledger}) as fake:
        stream = fast_stream(fake, ["BTC/USD", "NOPE/USD"])
        run_until_ledger_end(fake, stream, broker, topics, tmp_path)
    trades = topic_trades(broker.bootstrap, topics.trades, expect=200)
    assert {t.pair for t in trades} == {"BTC/USD"}
    assert len(trades) == 200


def test_every_pair_refused_is_fatal(broker, topics, tmp_path) -> None:
    with FakeKraken({"BTC/USD": make_ledger(10, START)}) as fake:
        stream = fast_stream(fake, ["NOPE/USD"])
        with pytest.raises(SubscriptionError, match=r"refused every pair: \['NOPE/USD'\]"):
            publish(stream.trades(), broker.bootstrap, topics, tmp_path / "spool.jsonl")


def test_a_gap_rest_cannot_fill_is_logged_and_streaming_goes_on(broker, topics, tmp_path) -> None:
    ledger = make_ledger(300, START, seed=8)
    script = Script(skip_ids={100, 101, 200}, rate_limit_every=1)  # REST refuses everything
    with FakeKraken({"BTC/USD": ledger}, script) as fake:
        rest = KrakenRest(fake.rest_url, backoff=Backoff(base=0.001, cap=0.002), max_attempts=2)
        stream = KrakenTradeStream(fake.ws_url, ["BTC/USD"], rest)
        publish(
            until_last_ids(stream.trades(), {"BTC/USD": 300}),
            broker.bootstrap,
            topics,
            tmp_path / "spool.jsonl",
        )
    ids = [t.trade_id for t in topic_trades(broker.bootstrap, topics.trades, expect=297)]
    assert sorted(ids) == [i for i in range(1, 301) if i not in {100, 101, 200}]
    assert (stream.gaps.stats.gaps, stream.gaps.stats.unfillable) == (2, 3)
