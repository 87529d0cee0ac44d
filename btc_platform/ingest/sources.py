"""Builds the trade stream for `ingest --source ...` from settings and flags."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from btc_platform.ingest import TradeStream
from btc_platform.ingest.csv_replay import replay_csv
from btc_platform.ingest.kraken_rest import KrakenRest
from btc_platform.ingest.kraken_ws import KrakenTradeStream
from btc_platform.ingest.rest_backfill import ResumePoints, rest_backfill
from btc_platform.ingest.synthetic import synthetic_trades
from btc_platform.settings import Settings
from btc_platform.trades import Rejected, Trade


class Source(StrEnum):
    KRAKEN = "kraken"
    REST = "rest"
    CSV = "csv"
    SYNTHETIC = "synthetic"


@dataclass(frozen=True, slots=True)
class SourceOptions:
    source: Source
    pairs: list[str]
    since: datetime | None = None
    until: datetime | None = None
    resume: bool = False
    file: Path | None = None
    speed: float = 0.0
    seed: int = 7
    start: datetime | None = None
    limit: int | None = None
    catch_up: bool = False
    backfill_since: datetime | None = None  # kraken: REST history from here, then live


class OpenedStream(NamedTuple):
    items: TradeStream
    live: KrakenTradeStream | None  # the WebSocket client (reconnects, gaps) of --source kraken


def resume_file(settings: Settings) -> Path:
    return settings.data_dir / "ingest" / "rest-resume.json"


async def open_stream(settings: Settings, options: SourceOptions) -> OpenedStream:
    """The configured source's trades; REST connections close when the stream ends."""
    if options.source is Source.CSV:
        if options.file is None:
            raise ValueError("--file is required with --source csv")
        if not options.file.is_file():
            raise ValueError(f"--file {options.file}: no such file")
        return OpenedStream(replay_csv(options.file, options.pairs[0], options.speed), None)
    if options.source is Source.SYNTHETIC:
        synthetic = synthetic_trades(
            options.pairs,
            options.seed,
            options.start,
            options.speed,
            options.limit,
            catch_up=options.catch_up,
        )
        return OpenedStream(synthetic, None)
    rest = KrakenRest(settings.kraken_rest_url)
    live = None
    if options.source is Source.REST:
        if options.since is None:
            raise ValueError("--since is required with --source rest")
        resume = ResumePoints(resume_file(settings)) if options.resume else None
        stream = rest_backfill(rest, options.pairs, options.since, options.until, resume)
    else:
        live = KrakenTradeStream(settings.kraken_ws_url, options.pairs, rest)
        stream = (
            _backfilled(live, rest, options.pairs, options.backfill_since)
            if options.backfill_since is not None
            else live.trades()
        )
    return OpenedStream(_closing(stream, rest), live)


async def _backfilled(
    live: KrakenTradeStream, rest: KrakenRest, pairs: list[str], since: datetime
) -> AsyncIterator[Trade | Rejected]:
    """REST history from `since` up to now, then the live stream; the live stream's gap
    filler starts from the last backfilled trade, so the handover repeats and skips nothing."""
    async for item in rest_backfill(rest, pairs, since):
        if isinstance(item, Trade):
            live.gaps.last[item.pair] = item
        yield item
    async for item in live.trades():
        yield item


async def _closing(stream: TradeStream, rest: KrakenRest) -> AsyncIterator[Trade | Rejected]:
    try:
        async for item in stream:
            yield item
    finally:
        await rest.aclose()
