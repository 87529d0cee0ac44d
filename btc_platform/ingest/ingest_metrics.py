"""Ingest's Prometheus metrics on its own port (BTC_INGEST_METRICS_PORT): read from the
publisher's and the live stream's own counters at each scrape, so nothing on the hot path
pays for them.

    btc_ingest_trades_total            trades published (rate() of it: trades/s)
    btc_ingest_dlq_records_total       rejected input sent to `trades.dlq`
    btc_ingest_buffered_records        records held in memory while Kafka is unreachable
    btc_ingest_spooled_records_total   records spooled to disk at shutdown
    btc_ingest_broker_outages_total    times Kafka became unreachable
    btc_ingest_reconnects_total        Kraken WebSocket reconnects
    btc_ingest_gaps_total              trade id gaps seen on the live stream
    btc_ingest_gap_trades_filled_total trades fetched over REST to fill them
    btc_ingest_gap_trades_lost_total   trades REST could not give back
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from btc_platform.broker.publisher import TradePublisher
from btc_platform.ingest.kraken_ws import KrakenTradeStream
from btc_platform.logs import get_logger

log = get_logger(__name__)


class IngestCollector(Collector):
    def __init__(self, publisher: TradePublisher, live: KrakenTradeStream | None) -> None:
        self.publisher = publisher
        self.live = live

    def collect(self) -> Iterator[Metric]:
        stats = self.publisher.stats
        yield CounterMetricFamily(
            "btc_ingest_trades", "Trades published to the trades topic.", value=stats.trades
        )
        yield CounterMetricFamily(
            "btc_ingest_dlq_records", "Rejected input sent to trades.dlq.", value=stats.dead_letters
        )
        yield GaugeMetricFamily(
            "btc_ingest_buffered_records",
            "Records held in memory while Kafka is unreachable.",
            value=self.publisher.buffered,
        )
        yield CounterMetricFamily(
            "btc_ingest_spooled_records", "Records spooled to disk at shutdown.", stats.spooled
        )
        yield CounterMetricFamily(
            "btc_ingest_broker_outages", "Times Kafka became unreachable.", value=stats.outages
        )
        live = self.live
        gaps = live.gaps.stats if live else None
        yield CounterMetricFamily(
            "btc_ingest_reconnects",
            "Kraken WebSocket reconnects (0 for the other sources).",
            value=max(live.connections - 1, 0) if live else 0,
        )
        yield CounterMetricFamily(
            "btc_ingest_gaps", "Trade id gaps seen on the live stream.", gaps.gaps if gaps else 0
        )
        yield CounterMetricFamily(
            "btc_ingest_gap_trades_filled",
            "Trades fetched over REST to fill gaps.",
            value=gaps.filled if gaps else 0,
        )
        yield CounterMetricFamily(
            "btc_ingest_gap_trades_lost",
            "Trades of gaps that REST could not give back.",
            value=gaps.unfillable if gaps else 0,
        )


@contextmanager
def ingest_metrics(
    port: int | None, host: str, publisher: TradePublisher, live: KrakenTradeStream | None
) -> Iterator[WSGIServer | None]:
    """Serves /metrics on host:port while the block runs (nothing when `port` is None)."""
    if port is None:
        yield None
        return
    registry = CollectorRegistry(auto_describe=True)
    registry.register(IngestCollector(publisher, live))
    server, thread = start_http_server(port, host, registry=registry)
    log.info("ingest metrics served", url=f"http://{host}:{port}/metrics")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
