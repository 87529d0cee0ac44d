"""The synthetic market: reproducible, realistic in shape, and with something to learn."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import numpy as np

from btc_platform.ingest.synthetic import market_trades, synthetic_trades

START = datetime(2026, 1, 1, tzinfo=UTC)


def two_days(seed: int = 11) -> list:
    trades = []
    for trade in market_trades("BTC/USD", seed, START):
        if (trade.ts - START).total_seconds() > 2 * 86_400:
            return trades
        trades.append(trade)
    return trades


def test_same_seed_same_market_other_seed_other_market() -> None:
    first = list(itertools.islice(market_trades("BTC/USD", 3, START), 500))
    assert first == list(itertools.islice(market_trades("BTC/USD", 3, START), 500))
    assert first != list(itertools.islice(market_trades("BTC/USD", 4, START), 500))
    assert [t.trade_id for t in first] == list(range(1, 501))
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(first))


def test_pairs_are_merged_in_time_order_with_their_own_ids() -> None:
    async def take() -> list:
        stream = synthetic_trades(["BTC/USD", "ETH/USD"], seed=1, start=START, speed=0, limit=400)
        return [t async for t in stream]

    trades = asyncio.run(take())
    assert len(trades) == 400
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(trades))
    for pair in ("BTC/USD", "ETH/USD"):
        ids = [t.trade_id for t in trades if t.pair == pair]
        assert ids == list(range(1, len(ids) + 1)) and len(ids) > 100


def test_stylized_facts_and_a_learnable_component() -> None:
    trades = two_days()
    seconds = np.array([(t.ts - START).total_seconds() for t in trades])
    prices = np.array([t.price for t in trades])
    buys = np.array([1.0 if t.side == "buy" else -1.0 for t in trades])
    sizes = np.array([t.qty for t in trades])
    minute = (seconds // 60).astype(int)
    closes = np.log(np.array([prices[minute == m][-1] for m in range(minute.max())]))
    flow = np.array([buys[minute == m].sum() for m in range(minute.max())])
    returns = np.diff(closes)

    # volatility clustering: absolute 1-minute returns are autocorrelated
    absolute = np.abs(returns)
    assert np.corrcoef(absolute[:-1], absolute[1:])[0, 1] > 0.1
    # heavy-tailed sizes: the largest trades dwarf the typical one
    assert np.percentile(sizes, 99.9) > 20 * np.median(sizes)
    # daily volatility in a BTC-like range
    assert 0.01 < returns.std() * np.sqrt(1_440) < 0.06
    # learnable: the last 5 minutes of order flow tell something about the next 5 minutes
    past = np.convolve(flow, np.ones(5), "valid")[: -5 - 1]
    future = closes[10:] - closes[5:-5]
    n = min(len(past), len(future))
    assert np.corrcoef(past[:n], future[:n])[0, 1] > 0.1
