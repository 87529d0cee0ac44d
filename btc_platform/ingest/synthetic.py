"""A seeded synthetic market producing Kraken-shaped trades, for offline use and demos.

The model, per pair, in continuous time (t in seconds):
- volatility clustering: log-volatility h follows an Ornstein-Uhlenbeck process around
  log(sigma0) (half-life ~30 min), so calm and turbulent stretches alternate;
- random arrivals: trades arrive as a Poisson process whose rate rises with volatility;
- heavy-tailed sizes: qty = 0.0005 BTC * (1 + Pareto(alpha=1.3)), so a few trades are large;
- a small learnable component: a latent drift m (OU, half-life ~10 min) adds m*dt to each
  log return and tilts the buy/sell mix. It persists for minutes, so recent returns and
  order flow carry some information about the next few minutes, as a demo model should find.
Each trade's log return is m*dt + sigma*sqrt(dt)*Z; prices are rounded to 0.1.
The same seed and start give the same trades.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from btc_platform.ingest.pacing import Pacer
from btc_platform.trades import Trade, make_trade

SOURCE = "synthetic"
CHUNK = 4096


@dataclass(frozen=True, slots=True)
class MarketModel:
    start_price: float = 60_000.0
    sigma0: float = 8.5e-5  # per-second volatility of log price (about 2.5% a day)
    vol_half_life: float = 1_800.0
    vol_of_vol: float = 0.02
    trades_per_second: float = 2.0
    drift_half_life: float = 600.0
    drift_std: float = 3e-6  # stationary std of the latent drift, log return per second
    flow_tilt: float = 0.35
    size_scale: float = 0.0005
    size_alpha: float = 1.3


def market_trades(
    pair: str, seed: int, start: datetime, model: MarketModel | None = None
) -> Iterator[Trade]:
    """An endless, reproducible stream of one pair's trades, with ids 1, 2, 3, ..."""
    m = model or MarketModel()
    rng = np.random.default_rng(seed)
    kappa, theta = math.log(2) / m.vol_half_life, math.log(2) / m.drift_half_life
    eta = m.drift_std * math.sqrt(2 * theta)
    h0 = math.log(m.sigma0)
    log_price, h, drift = math.log(m.start_price), h0, 0.0
    clock = start.timestamp()
    trade_id = 0
    while True:
        arrivals = rng.exponential(1.0, CHUNK)
        shocks = rng.standard_normal((CHUNK, 3))
        coins = rng.random(CHUNK)
        sizes = rng.pareto(m.size_alpha, CHUNK)
        for i in range(CHUNK):
            sigma = math.exp(h)
            dt = arrivals[i] / (m.trades_per_second * sigma / m.sigma0)
            root = math.sqrt(dt)
            h += -kappa * (h - h0) * dt + m.vol_of_vol * root * shocks[i, 0]
            drift += -theta * drift * dt + eta * root * shocks[i, 1]
            log_price += drift * dt + sigma * root * shocks[i, 2]
            clock += dt
            trade_id += 1
            buy = coins[i] < 0.5 + m.flow_tilt * math.tanh(drift / m.drift_std)
            when = datetime.fromtimestamp(round(clock, 6), UTC)
            yield make_trade(
                pair=pair,
                trade_id=trade_id,
                ts=when,
                price=round(math.exp(log_price), 1),
                qty=round(m.size_scale * (1 + sizes[i]), 8),
                side="buy" if buy else "sell",
                ord_type="market" if coins[i] < 0.7 else "limit",
                source=SOURCE,
                now=when,
            )


async def synthetic_trades(
    pairs: list[str],
    seed: int = 7,
    start: datetime | None = None,
    speed: float = 1.0,
    limit: int | None = None,
    catch_up: bool = False,
) -> AsyncIterator[Trade]:
    """Every pair's market merged in time order, paced at `speed` times real time; with
    `catch_up`, the trades before now go out as fast as possible, the rest in real time
    (a history to train on at once, then a live market)."""
    begin = start or datetime.now(UTC).replace(microsecond=0)
    streams = [
        market_trades(pair, seed + index, begin, MarketModel(start_price=60_000.0 / 20**index))
        for index, pair in enumerate(pairs)
    ]
    pacer = Pacer(0.0 if catch_up else speed)
    for count, trade in enumerate(heapq.merge(*streams, key=lambda t: t.ts), start=1):
        ahead = (trade.ts - datetime.now(UTC)).total_seconds() if catch_up else 0.0
        if ahead > 0:
            await asyncio.sleep(ahead)
        elif pacer.due():
            await pacer.wait_until(trade.ts)
        yield trade
        if limit is not None and count >= limit:
            return
