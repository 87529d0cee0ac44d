"""Keeps each pair's trade ids consecutive: drops repeats, fills jumps from Kraken REST.

Kraken's v2 `trade_id`s are consecutive per pair. A jump (after a reconnect, or the stream
skipping trades mid-connection) is filled from REST before the trade that revealed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from btc_platform.ingest.kraken_rest import KrakenRest, KrakenRestError
from btc_platform.logs import get_logger
from btc_platform.trades import Rejected, Trade, epoch_micros

log = get_logger(__name__)


@dataclass
class GapStats:
    gaps: int = 0
    filled: int = 0
    unfillable: int = 0
    repeats: int = 0


@dataclass
class GapFiller:
    rest: KrakenRest
    last: dict[str, Trade] = field(default_factory=dict)
    stats: GapStats = field(default_factory=GapStats)

    async def admit(self, trade: Trade) -> list[Trade | Rejected]:
        """What to publish for this trade: nothing (a repeat), or any fill, then the trade."""
        previous = self.last.get(trade.pair)
        if previous is not None and trade.trade_id <= previous.trade_id:
            self.stats.repeats += 1
            return []
        out: list[Trade | Rejected] = []
        if previous is not None and trade.trade_id > previous.trade_id + 1:
            out = await self._fill(previous, trade)
        self.last[trade.pair] = trade
        out.append(trade)
        return out

    async def _fill(self, previous: Trade, trade: Trade) -> list[Trade | Rejected]:
        missing = trade.trade_id - previous.trade_id - 1
        self.stats.gaps += 1
        since_ns = epoch_micros(previous.ts) * 1_000 - 1
        fill: list[Trade | Rejected] = []
        try:
            async for item in self.rest.trades_since(
                trade.pair, since_ns, after_id=previous.trade_id, until_id=trade.trade_id - 1
            ):
                if isinstance(item, Trade) and item.trade_id >= trade.trade_id:
                    break
                fill.append(item)
        except KrakenRestError as error:  # keep streaming; the missing ids are logged below
            log.error("kraken rest failed during gap fill", pair=trade.pair, error=str(error))
        got = sum(isinstance(item, Trade) for item in fill)
        self.stats.filled += got
        self.stats.unfillable += missing - got
        level = log.info if got == missing else log.error
        level(
            "filled trade id gap from REST",
            pair=trade.pair,
            after_id=previous.trade_id,
            before_id=trade.trade_id,
            missing=missing,
            filled=got,
        )
        return fill
