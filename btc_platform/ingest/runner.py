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

    @classmethod
    def of(cls, publisher: TradePublisher) -> IngestResult:
        stats = publisher.stats
        return cls(stats.trades, stats.dead_letters, stats.spooled)


async def run_ingest(
    stream: TradeStream, publisher: TradePublisher, progress_every: float = 10.0
) -> IngestResult:
    """Publish until the stream ends or the task is cancelled; always closes the publisher."""
    progress = Progress("ingesting", unit="items", every_seconds=progress_every)

    def figures() -> dict[str, int]:
        stats = publisher.stats
        return {
            "trades": stats.trades,
            "rejected": stats.dead_letters,
            "buffered": publisher.buffered,
        }

    try:
        async for item in stream:
            if type(item) is Trade:
                publisher.publish(item)
            else:
                publisher.dead_letter(item)
                log.warning("rejected input sent to the DLQ", reason=item.reason)
            progress.advance(1, figures)
    finally:
        publisher.close()
        log.info("ingest stopped", **figures(), spooled=publisher.stats.spooled)
    return IngestResult.of(publisher)
