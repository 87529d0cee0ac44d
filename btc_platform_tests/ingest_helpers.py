"""Driving the real ingest path (source -> publisher -> broker) inside a test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics
from btc_platform.ingest import TradeStream
from btc_platform.ingest.runner import IngestResult, run_ingest
from btc_platform.trades import Rejected, Trade, trade_from_json
from btc_platform_tests.kafka_helpers import read_topic


async def until_last_ids(
    stream: TradeStream, last_ids: dict[str, int]
) -> AsyncIterator[Trade | Rejected]:
    """Pass items on until every pair's trade with its last id has gone by."""
    waiting = dict(last_ids)
    async for item in stream:
        yield item
        if isinstance(item, Trade) and waiting.get(item.pair) == item.trade_id:
            del waiting[item.pair]
            if not waiting:
                return


def publish(
    stream: TradeStream, bootstrap: str, topics: Topics, spool: Path, timeout: float = 60.0
) -> IngestResult:
    publisher = TradePublisher(bootstrap, spool, topics)

    async def main() -> IngestResult:
        return await asyncio.wait_for(run_ingest(stream, publisher), timeout)

    return asyncio.run(main())


def topic_trades(bootstrap: str, topic: str, expect: int | None = None) -> list[Trade]:
    return [trade_from_json(r.value) for r in read_topic(bootstrap, topic, expect)]
