"""History from Kraken REST for a time range, resumable from the last trade it handed on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson

from btc_platform.ingest.kraken_rest import KrakenRest
from btc_platform.ingest.progress import Progress
from btc_platform.trades import Rejected, Trade, epoch_micros, format_ts, parse_ts


@dataclass
class ResumePoints:
    """The last trade handed on per pair, kept in a small JSON file."""

    path: Path

    def load(self) -> dict[str, tuple[int, datetime]]:
        if not self.path.exists():
            return {}
        raw = orjson.loads(self.path.read_bytes())
        return {pair: (int(p["trade_id"]), parse_ts(p["ts"])) for pair, p in raw.items()}

    def save(self, points: dict[str, tuple[int, datetime]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {pair: {"trade_id": i, "ts": format_ts(ts)} for pair, (i, ts) in points.items()}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
        tmp.replace(self.path)


async def rest_backfill(
    rest: KrakenRest,
    pairs: list[str],
    since: datetime,
    until: datetime | None = None,
    resume: ResumePoints | None = None,
    save_every: int = 1_000,
) -> AsyncIterator[Trade | Rejected]:
    """Every trade of `pairs` from `since` (or each pair's resume point) to `until` or now."""
    points = resume.load() if resume else {}
    end = until or datetime.now(UTC)
    for pair in pairs:
        after_id, start = points.get(pair, (-1, since))
        progress = Progress("rest backfill", unit="trades")
        covered_from: datetime | None = None
        async for item in rest.trades_since(
            pair, epoch_micros(start) * 1_000 - 1, after_id=after_id, until=until
        ):
            yield item
            if not isinstance(item, Trade):
                continue
            covered_from = covered_from or item.ts
            points[pair] = (item.trade_id, item.ts)
            if resume and progress.count % save_every == 0:
                resume.save(points)
            progress.advance(
                1, partial(coverage_figures, pair, covered_from, item.ts, end, progress)
            )
        if resume:
            resume.save(points)
        progress.report(pair=pair, done=True)


def coverage_figures(
    pair: str, first: datetime, current: datetime, end: datetime, progress: Progress
) -> dict[str, object]:
    """What a progress line shows: the time covered and the ETA from how fast it is covered."""
    covered = (current - first).total_seconds()
    eta = None
    if progress.rate and covered > 0:
        elapsed = progress.count / progress.rate
        eta = round((end - current).total_seconds() * elapsed / covered)
    span = (end - first).total_seconds()
    return {
        "pair": pair,
        "covered": f"{format_ts(first)} -> {format_ts(current)}",
        "fraction": round(min(1.0, covered / span), 3) if span > 0 else 1.0,
        "eta_seconds": eta,
    }
