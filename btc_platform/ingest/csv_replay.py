"""Replay of a Kraken Time-and-Sales CSV (`timestamp,price,volume`, no header, no ids).

Trade ids are the 1-based line numbers, so a replay (or a later, longer download of the
same history) always gives a trade the same id. The file has no side: it is inferred with
the tick rule (an uptick is a buy, a downtick a sell, an unchanged price keeps the last side).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from btc_platform.ingest.pacing import Pacer
from btc_platform.trades import InvalidTrade, Rejected, Trade, make_trade, parse_ts

SOURCE = "kraken-csv"


async def replay_csv(path: Path, pair: str, speed: float = 0.0) -> AsyncIterator[Trade | Rejected]:
    pacer = Pacer(speed)
    now = datetime.now(UTC)
    last_price, side = None, "buy"
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                fields = raw.split(b",")
                if len(fields) != 3:
                    raise InvalidTrade(
                        f"expected 3 columns timestamp,price,volume, got {len(fields)}"
                    )
                when = parse_ts(_number(fields[0], "timestamp"), "timestamp")
                price = _number(fields[1], "price")
                if last_price is not None and price != last_price:
                    side = "buy" if price > last_price else "sell"
                trade = make_trade(
                    pair=pair,
                    trade_id=number,
                    ts=when,
                    price=price,
                    qty=_number(fields[2], "volume"),
                    side=side,
                    ord_type="unknown",
                    source=SOURCE,
                    now=now,
                )
            except InvalidTrade as error:
                yield Rejected(raw, f"{path.name} line {number}: {error}", SOURCE)
                continue
            last_price = price
            if pacer.due():
                await pacer.wait_until(trade.ts)
            yield trade


def _number(text: bytes, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        shown = text.decode(errors="replace").strip()
        raise InvalidTrade(f"{field}: {shown!r} is not a number") from None
