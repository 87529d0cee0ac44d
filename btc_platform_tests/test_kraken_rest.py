"""REST backfill: paging with the `last` cursor, rate limits, resume, errors."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from btc_platform.ingest.backoff import Backoff
from btc_platform.ingest.kraken_rest import KrakenRest, KrakenRestError
from btc_platform.ingest.rest_backfill import ResumePoints, rest_backfill
from btc_platform.trades import Trade
from btc_platform_tests.fake_kraken.ledger import make_ledger
from btc_platform_tests.fake_kraken.server import FakeKraken, Script
from btc_platform_tests.ingest_helpers import publish, topic_trades

START = datetime(2026, 10, 1, tzinfo=UTC)


def rest_client(fake: FakeKraken) -> KrakenRest:
    return KrakenRest(fake.rest_url, backoff=Backoff(base=0.01, cap=0.05))


async def collect(stream) -> list:
    return [item async for item in stream]


def test_paging_across_many_pages_loses_and_repeats_nothing(broker, topics, tmp_path) -> None:
    ledger = make_ledger(2_350, START, first_id=90_000, seed=5)
    shared_at_boundary = sum(
        1 for a, b in zip(ledger[99::100], ledger[100::100], strict=False) if a.time_ns == b.time_ns
    )
    assert shared_at_boundary > 3, "the ledger must cut pages inside a shared timestamp"
    with FakeKraken({"BTC/USD": ledger}, Script(page_size=100, rate_limit_every=4)) as fake:
        fake.everything_happened()
        rest = rest_client(fake)
        stream = rest_backfill(rest, ["BTC/USD"], since=START - timedelta(seconds=1))
        result = publish(stream, broker.bootstrap, topics, tmp_path / "spool.jsonl")
        assert fake.rest_refused > 0 and rest.rate_limited == fake.rest_refused

    assert result.trades == 2_350 and result.rejected == 0
    trades = topic_trades(broker.bootstrap, topics.trades, expect=2_350)
    ids = Counter(t.trade_id for t in trades)
    assert sorted(ids) == [t.trade_id for t in ledger]
    assert max(ids.values()) == 1
    assert {t.source for t in trades} == {"kraken-rest"}
    first = next(t for t in trades if t.trade_id == 90_000)
    assert (first.price, first.qty, first.side) == (ledger[0].price, ledger[0].qty, ledger[0].side)


def test_until_bounds_the_range_and_resume_continues(tmp_path) -> None:
    ledger = make_ledger(700, START, seed=6)
    cut = ledger[399]
    until = datetime.fromtimestamp(cut.time_ns / 1e9, UTC)
    points = ResumePoints(tmp_path / "resume.json")
    with FakeKraken({"BTC/USD": ledger}, Script(page_size=64)) as fake:
        fake.everything_happened()
        first = asyncio.run(
            collect(
                rest_backfill(rest_client(fake), ["BTC/USD"], START, until=until, resume=points)
            )
        )
        second = asyncio.run(
            collect(rest_backfill(rest_client(fake), ["BTC/USD"], START, resume=points))
        )
    first_ids = [t.trade_id for t in first]
    assert first_ids == [t.trade_id for t in ledger if t.time_ns <= cut.time_ns]
    assert points.load()["BTC/USD"][0] == ledger[-1].trade_id
    assert [t.trade_id for t in second] == [t.trade_id for t in ledger][len(first_ids) :]


def test_pair_key_of_the_answer_is_mapped(tmp_path) -> None:
    ledger = make_ledger(5, START, seed=7)
    with FakeKraken({"BTC/USD": ledger}) as fake:
        fake.everything_happened()
        page = asyncio.run(rest_client(fake).trades_page("BTC/USD", since=0))
    assert all(isinstance(t, Trade) and t.pair == "BTC/USD" for t in page.trades)
    assert page.last == ledger[-1].time_ns


def test_an_error_retrying_cannot_fix_is_raised_with_krakens_words(tmp_path) -> None:
    with (
        FakeKraken({"BTC/USD": make_ledger(5, START)}) as fake,
        pytest.raises(KrakenRestError, match="EQuery:Unknown asset pair"),
    ):
        asyncio.run(rest_client(fake).trades_page("NOPE/USD"))


def test_a_rate_limit_that_never_lifts_gives_up_clearly(tmp_path) -> None:
    with FakeKraken({"BTC/USD": make_ledger(5, START)}, Script(rate_limit_every=1)) as fake:
        rest = KrakenRest(fake.rest_url, backoff=Backoff(base=0.001, cap=0.002), max_attempts=3)
        with pytest.raises(KrakenRestError, match="gave up after 3 attempts"):
            asyncio.run(rest.trades_page("BTC/USD"))
        assert fake.rest_requests == 3
