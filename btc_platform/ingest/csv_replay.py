"""Replay of a Kraken Time-and-Sales CSV (`timestamp,price,volume`, no header, no ids).

Trade ids are the 1-based line numbers, so a replay (or a later, longer download of the
same history) always gives a trade the same id. The file has no side: it is inferred with
the tick rule (an uptick is a buy, a downtick a sell, an unchanged price keeps the last side).

Lines are decoded a chunk at a time with numpy. A chunk in which any line is not three
valid numbers falls back to the line-by-line path of `make_trade`, which names what is
wrong in each bad line; both paths give identical trades.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from btc_platform.ingest.pacing import Pacer
from btc_platform.trades import (
    EARLIEST_TRADE,
    EPOCH,
    MAX_CLOCK_SKEW,
    InvalidTrade,
    Rejected,
    Trade,
    epoch_micros,
    make_trade,
    parse_ts,
)

SOURCE = "kraken-csv"
CHUNK_BYTES = 1 << 20


@dataclass
class TickRule:
    """The side of the last trade and its price, carried across chunks."""

    last_price: float | None = None
    side: str = "buy"

    def side_of(self, price: float) -> str:
        if self.last_price is not None and price != self.last_price:
            self.side = "buy" if price > self.last_price else "sell"
        self.last_price = price
        return self.side

    def sides_of(self, prices: np.ndarray) -> list[str]:
        previous = self.last_price if self.last_price is not None else prices[0]
        moves = np.sign(np.diff(prices, prepend=previous))
        last_move = np.maximum.accumulate(np.where(moves != 0, np.arange(len(moves)), -1))
        carried = np.where(last_move >= 0, moves[np.maximum(last_move, 0)], 0)
        start = 1.0 if self.side == "buy" else -1.0
        signs = np.where(carried == 0, start, carried)
        self.last_price = float(prices[-1])
        self.side = "buy" if signs[-1] > 0 else "sell"
        return np.where(signs > 0, "buy", "sell").tolist()


def csv_items(path: Path, pair: str) -> Iterator[Trade | Rejected]:
    """Every line of the file as a validated Trade, or Rejected with its line number."""
    now = datetime.now(UTC)
    tick = TickRule()
    first = 1
    with path.open("rb") as lines:
        while chunk := lines.readlines(CHUNK_BYTES):
            fast = _decode_chunk(chunk, first, pair, now, tick)
            if fast is None:
                yield from _decode_lines(chunk, first, pair, now, tick, path.name)
            else:
                yield from fast
            first += len(chunk)


def _decode_chunk(
    chunk: list[bytes], first: int, pair: str, now: datetime, tick: TickRule
) -> list[Trade] | None:
    """All the chunk's trades at once, or None when any line needs a closer look."""
    try:
        with warnings.catch_warnings():  # numpy < 2.3 warns where later ones raise
            warnings.simplefilter("error", DeprecationWarning)
            values = np.fromstring(b"".join(chunk).replace(b"\n", b","), sep=",")
    except (ValueError, DeprecationWarning):
        return None
    if values.size != 3 * len(chunk):
        return None
    stamps, prices, quantities = values.reshape(-1, 3).T
    micros = np.rint(stamps * 1_000_000)  # the rounding of parse_ts, vectorized
    earliest, latest = epoch_micros(EARLIEST_TRADE), epoch_micros(now + MAX_CLOCK_SKEW)
    if not (
        np.isfinite(values).all()
        and (prices > 0).all()
        and (quantities > 0).all()
        and micros.min() >= earliest
        and micros.max() <= latest
    ):
        return None
    # aware datetimes as EPOCH + timedelta: an eighth of the cost of replace(tzinfo=UTC)
    times = [EPOCH + since for since in micros.astype(np.int64).astype("timedelta64[us]").tolist()]
    constant = itertools.repeat
    return list(
        map(
            Trade._make,
            zip(
                constant(pair),
                range(first, first + len(chunk)),
                times,
                prices.tolist(),
                quantities.tolist(),
                tick.sides_of(prices),
                constant("unknown"),
                constant(SOURCE),
                strict=False,  # the repeated constants are endless
            ),
        )
    )


def _decode_lines(
    chunk: list[bytes], first: int, pair: str, now: datetime, tick: TickRule, name: str
) -> Iterator[Trade | Rejected]:
    for number, raw in enumerate(chunk, start=first):
        if not raw.strip():
            continue
        try:
            fields = raw.split(b",")
            if len(fields) != 3:
                raise InvalidTrade(f"expected 3 columns timestamp,price,volume, got {len(fields)}")
            when = parse_ts(_number(fields[0], "timestamp"), "timestamp")
            price = _number(fields[1], "price")
            trade = make_trade(
                pair=pair,
                trade_id=number,
                ts=when,
                price=price,
                qty=_number(fields[2], "volume"),
                side=tick.side,
                ord_type="unknown",
                source=SOURCE,
                now=now,
            )
        except InvalidTrade as error:
            yield Rejected(raw, f"{name} line {number}: {error}", SOURCE)
            continue
        yield trade._replace(side=tick.side_of(price))


async def replay_csv(path: Path, pair: str, speed: float = 0.0) -> AsyncIterator[Trade | Rejected]:
    """The file's trades at `speed` times real time, or as fast as possible with speed 0."""
    pacer = Pacer(speed)
    for item in csv_items(path, pair):
        if pacer.due() and isinstance(item, Trade):
            await pacer.wait_until(item.ts)
        yield item


def _number(text: bytes, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        shown = text.decode(errors="replace").strip()
        raise InvalidTrade(f"{field}: {shown!r} is not a number") from None
