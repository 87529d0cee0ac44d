"""The ingest loop: a trade stream into the publisher, rejects to the DLQ, with progress."""

from __future__ import annotations

from dataclasses import dataclass

from btc_platform.broker.publisher import TradePublisher
from btc_platform.ingest import TradeStream
from btc_platform.ingest.progress import Progress
from btc_platform.logs import get_logger
from btc_platform.trades import Trade

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    trades: int
    rejected: int
    spooled: int


async def run_ingest(
    stream: TradeStream, publisher: TradePublisher, progress_every: float = 10.0
) -> IngestResult:
    """Publish until the stream ends or the task is cancelled; always closes the publisher."""
    progress = Progress("ingesting", unit="items", every_seconds=progress_every)
    trades = rejected = spooled = 0
    try:
        async for item in stream:
            if isinstance(item, Trade):
                publisher.publish(item)
                trades += 1
            else:
                publisher.dead_letter(item)
                rejected += 1
                log.warning("rejected input sent to the DLQ", reason=item.reason)
            progress.advance(trades=trades, rejected=rejected, buffered=publisher.buffered)
    finally:
        spooled = publisher.close()
        log.info("ingest stopped", trades=trades, rejected=rejected, spooled=spooled)
    return IngestResult(trades, rejected, spooled)
