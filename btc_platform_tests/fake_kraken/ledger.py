"""The exchange's own record of trades for one pair: consecutive ids, some shared timestamps."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class LedgerTrade:
    trade_id: int
    time_ns: int  # whole microseconds, as Kraken's v2 timestamps carry
    price: float
    qty: float
    side: str
    ord_type: str

    @property
    def iso(self) -> str:
        return datetime.fromtimestamp(self.time_ns // 1000 / 1e6, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )

    def ws(self, symbol: str) -> dict:
        return {
            "symbol": symbol,
            "side": self.side,
            "price": self.price,
            "qty": self.qty,
            "ord_type": self.ord_type,
            "trade_id": self.trade_id,
            "timestamp": self.iso,
        }

    def rest(self) -> list:
        return [
            f"{self.price:.5f}",
            f"{self.qty:.8f}",
            self.time_ns / 1e9,
            self.side[0],
            self.ord_type[0],
            "",
            self.trade_id,
        ]


def make_ledger(
    count: int, start: datetime, first_id: int = 1, seed: int = 1, price: float = 60_000.0
) -> list[LedgerTrade]:
    """`count` trades; about a third share their timestamp with the trade before them."""
    rng = random.Random(seed)
    micros = int(start.timestamp() * 1_000_000)
    trades = []
    for offset in range(count):
        if offset and rng.random() > 0.35:
            micros += rng.randint(1_000, 900_000)
        price = round(price * (1 + rng.gauss(0, 2e-4)), 1)
        trades.append(
            LedgerTrade(
                trade_id=first_id + offset,
                time_ns=micros * 1000,
                price=price,
                qty=round(rng.uniform(0.0001, 2.0), 8),
                side=rng.choice(["buy", "sell"]),
                ord_type=rng.choice(["market", "limit"]),
            )
        )
    return trades
